"""Pages of this app."""

from django.urls import path  # noqa: F401

from sla.views import calendars  # noqa: E402
from sla.views import leads as lead_views  # noqa: E402

urlpatterns = [
    path("calendars/", calendars.calendar_list, name="calendar-list"),
    path("calendars/<int:pk>/", calendars.calendar_detail, name="calendar-detail"),
    path("calendars/<int:pk>/deadline/", calendars.calendar_deadline, name="calendar-deadline"),
    path("inbox/", lead_views.lead_inbox, name="lead-inbox"),
    path("leads/", lead_views.lead_list, name="lead-list"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/<str:action>/", lead_views.lead_action, name="lead-action"),
]
