"""Pages of this app."""

from django.urls import path  # noqa: F401

from sla.views import commitments as commitment_views  # noqa: E402
from sla.views import compliance as compliance_views  # noqa: E402
from sla.views import flags as flag_views  # noqa: E402
from sla.views import imports as import_views
from sla.views import lead_actions
from sla.views import leads as lead_views  # noqa: E402

urlpatterns = [
    path("inbox/", lead_views.lead_inbox, name="lead-inbox"),
    path("flags/", flag_views.flag_list, name="flag-list"),
    path("compliance/", compliance_views.dashboard, name="dashboard"),
    path("commitments/", commitment_views.commitment_list, name="commitment-list"),
    path(
        "commitments/<int:pk>/<str:month>/",
        commitment_views.commitment_save,
        name="commitment-save",
    ),
    path("flags/<int:pk>/resolve/", flag_views.flag_resolve_view, name="flag-resolve"),
    path("imports/", import_views.import_list, name="import-list"),
    path("imports/<int:pk>/", import_views.import_detail, name="import-detail"),
    path("imports/<int:pk>/cancel/", import_views.import_cancel_view, name="import-cancel"),
    path("leads/", lead_views.lead_list_page, name="lead-list"),
    path("leads/<int:pk>/", lead_views.lead_detail, name="lead-detail"),
    *(
        path(f"leads/<int:pk>/{name}/", getattr(lead_actions, f"lead_{name}"), name=f"lead-{name}")
        for name in ("touch", "acknowledge", "reject", "stage", "assign", "abandon")
    ),
]
