"""Pages of this app."""

from django.urls import path  # noqa: F401

from sla.views import audit as audit_views  # noqa: E402
from sla.views import commitments as commitment_views  # noqa: E402
from sla.views import compliance as compliance_views  # noqa: E402
from sla.views import flags as flag_views  # noqa: E402
from sla.views import imports as import_views
from sla.views import lead_actions
from sla.views import leads as lead_views  # noqa: E402
from sla.views import months as month_views
from sla.views.unsubscribe import digest_unsubscribe_view as unsubscribe_view

urlpatterns = [
    path("inbox/", lead_views.lead_inbox, name="lead-inbox"),
    path("flags/", flag_views.flag_list, name="flag-list"),
    path("audit/", audit_views.audit_log, name="audit-log"),
    path("compliance/", compliance_views.dashboard, name="dashboard"),
    path("commitments/", commitment_views.commitment_list, name="commitment-list"),
    path(
        "commitments/<int:pk>/<str:month>/",
        commitment_views.commitment_save,
        name="commitment-save",
    ),
    path("flags/<int:pk>/resolve/", flag_views.flag_resolve_view, name="flag-resolve"),
    path("digest/unsubscribe/<str:token>/", unsubscribe_view, name="digest-unsubscribe"),
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("imports/<int:pk>/cancel/", import_views.import_cancel_view, name="import-cancel"),
    path("leads/", lead_views.lead_list_page, name="lead-list"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead-detail"),
    path(
        "leads/<int:pk>/forms/<str:name>/",
        lead_views.lead_action_form,
        name="lead-action-form",
    ),
    *(
        path(f"leads/<int:pk>/{name}/", getattr(lead_actions, f"lead_{name}"), name=f"lead-{name}")
        for name in ("touch", "acknowledge", "reject", "stage", "assign", "abandon", "callback")
    ),
]

urlpatterns += [
    path("compliance/panel/", compliance_views.dashboard_panel, name="dashboard-panel"),
    path(
        "compliance/export/<slug:table>.csv",
        compliance_views.dashboard_export,
        name="dashboard-export",
    ),
]

from sla.views import agreements as agreement_views  # noqa: E402

urlpatterns += [
    path("agreements/", agreement_views.agreement_list, name="agreement-list"),
    path("agreements/<int:pk>/", agreement_views.agreement_detail, name="agreement-detail"),
    path(
        "agreements/<int:pk>/months/<str:month>/reopen/",
        month_views.month_reopen_view,
        name="month-reopen",
    ),
]

from sla.views import proposals as proposal_views  # noqa: E402

# The negotiated agreement: proposals and their sign-off; a rejected lead's dispute.
urlpatterns += [
    path("agreements/<int:pk>/proposals/", proposal_views.proposal_list, name="proposal-list"),
    path("agreements/<int:pk>/proposals/new/", proposal_views.proposal_new, name="proposal-new"),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/",
        proposal_views.proposal_detail,
        name="proposal-detail",
    ),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/accept/",
        proposal_views.proposal_accept_view,
        name="proposal-accept",
    ),
    path(
        "agreements/<int:pk>/proposals/<int:pid>/reject/",
        proposal_views.proposal_reject_view,
        name="proposal-reject",
    ),
    path("leads/<int:pk>/dispute/", proposal_views.lead_dispute_view, name="lead-dispute"),
    path(
        "leads/<int:pk>/dispute/panel/",
        proposal_views.lead_dispute_panel,
        name="lead-dispute-panel",
    ),
    path(
        "leads/<int:pk>/dispute/ruling/",
        proposal_views.lead_dispute_ruling_view,
        name="lead-dispute-ruling",
    ),
]

from sla.views import lead_form as lead_form_views  # noqa: E402

# Marketing: check a CSV before importing it, and deliver one lead by hand.
urlpatterns += [
    path("imports/check/", import_views.import_check, name="import-check"),
    path("imports/check/<str:token>/", import_views.import_preview, name="import-preview"),
    path(
        "imports/check/<str:token>/rejected.csv",
        import_views.import_rejected,
        name="import-rejected",
    ),
    path("leads/new/", lead_form_views.lead_new, name="lead-new"),
]

from sla.views import team_moves  # noqa: E402

# The team page's buttons (the page itself is accounts.team_pages).
urlpatterns += [
    path(
        "teams/<int:pk>/members/<str:username>/move-open-leads/",
        team_moves.team_move_open_leads,
        name="team-move-open-leads",
    ),
    path("teams/<int:pk>/assign-queue/", team_moves.team_assign_queue, name="team-assign-queue"),
]
