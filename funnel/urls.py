"""Pages of this app."""

from django.urls import path  # noqa: F401

from funnel import views

urlpatterns = [
    path("funnel/", views.stage_list_page, name="stage-list"),
]
