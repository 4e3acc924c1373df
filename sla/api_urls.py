"""REST routes of this app, mounted under /api/."""

from django.urls import path  # noqa: F401
from rest_framework.routers import SimpleRouter

from sla.api.agreements import AgreementViewSet  # noqa: E402
from sla.api.compliance import ComplianceView  # noqa: E402
from sla.api.flags import FlagViewSet  # noqa: E402
from sla.api.imports import ImportJobViewSet
from sla.api.lead_csv import LeadExportView, LeadImportView  # noqa: E402
from sla.api.leads import LeadViewSet  # noqa: E402
from sla.api.team_moves import AssignQueueView, MoveOpenLeadsView

router = SimpleRouter()
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("leads", LeadViewSet, basename="lead")
router.register("flags", FlagViewSet, basename="flag")
router.register("imports", ImportJobViewSet, basename="import")

urlpatterns = [
    # Before the router: these would otherwise read as a lead's id.
    path("leads/import/", LeadImportView.as_view(), name="lead-import"),
    path("leads/export.csv", LeadExportView.as_view(), name="lead-export"),
    path("compliance/", ComplianceView.as_view(), name="compliance"),
    path(
        "teams/<int:pk>/members/<str:username>/move-open-leads/",
        MoveOpenLeadsView.as_view(),
        name="team-move-open-leads",
    ),
    path("teams/<int:pk>/assign-queue/", AssignQueueView.as_view(), name="team-assign-queue"),
    *router.urls,
]
