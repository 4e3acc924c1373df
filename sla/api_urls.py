"""REST routes of this app, mounted under /api/."""

from django.urls import path  # noqa: F401
from rest_framework.routers import SimpleRouter

from sla.api.agreements import AgreementViewSet  # noqa: E402
from sla.api.compliance import ComplianceView  # noqa: E402
from sla.api.disputes import LeadDisputeRulingView, LeadDisputeView
from sla.api.flags import FlagViewSet  # noqa: E402
from sla.api.imports import ImportJobViewSet
from sla.api.lead_csv import LeadExportView, LeadImportView  # noqa: E402
from sla.api.leads import LeadViewSet  # noqa: E402
from sla.api.proposals import (
    ProposalAcceptView,
    ProposalDetailView,
    ProposalListView,
    ProposalRejectView,
    ProposalWhatIfView,
)
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
    path("leads/<int:pk>/dispute/", LeadDisputeView.as_view(), name="api-lead-dispute"),
    path(
        "leads/<int:pk>/dispute/ruling/",
        LeadDisputeRulingView.as_view(),
        name="api-lead-dispute-ruling",
    ),
    path("agreements/<int:pk>/proposals/", ProposalListView.as_view(), name="api-proposal-list"),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/",
        ProposalDetailView.as_view(),
        name="api-proposal-detail",
    ),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/whatif/",
        ProposalWhatIfView.as_view(),
        name="api-proposal-whatif",
    ),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/accept/",
        ProposalAcceptView.as_view(),
        name="api-proposal-accept",
    ),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/reject/",
        ProposalRejectView.as_view(),
        name="api-proposal-reject",
    ),
    path(
        "teams/<int:pk>/members/<str:username>/move-open-leads/",
        MoveOpenLeadsView.as_view(),
        name="team-move-open-leads",
    ),
    path("teams/<int:pk>/assign-queue/", AssignQueueView.as_view(), name="team-assign-queue"),
    *router.urls,
]
