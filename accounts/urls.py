"""Pages of the accounts app: the team pages (absences and caps)."""

from django.urls import path

from accounts import team_pages

urlpatterns = [
    path("teams/", team_pages.team_list, name="team-list"),
    path("teams/<int:pk>/", team_pages.team_detail, name="team-detail"),
    path("teams/<int:pk>/absences/", team_pages.team_absence_add, name="team-absence-add"),
    path(
        "teams/<int:pk>/absences/<int:absence_id>/delete/",
        team_pages.team_absence_delete,
        name="team-absence-delete",
    ),
    path(
        "teams/<int:pk>/members/<str:username>/cap/",
        team_pages.team_cap_set,
        name="team-cap-set",
    ),
]
