"""Pages of the calendars app."""

from django.urls import path

from calendars import views

urlpatterns = [
    path("calendars/", views.calendar_list, name="calendar-list"),
    path("calendars/<int:pk>/", views.calendar_detail, name="calendar-detail"),
    path("calendars/<int:pk>/deadline/", views.calendar_deadline, name="calendar-deadline"),
    path(
        "calendars/<int:pk>/holidays/import/",
        views.calendar_ics_import,
        name="calendar-ics-import",
    ),
]
