"""The compliance page: both sides of every agreement the viewer can see, for one month.

The numbers are exactly those of `GET /api/compliance/` (sla.compliance.compliance_for).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from core.timeparse import parse_month
from sla.compliance import compliance_for, current_month
from sla.selectors import agreements_visible_to


@login_required
def dashboard(request):
    now = timezone.now()
    requested = request.GET.get("month", "").strip()
    error = None
    if requested:
        try:
            parse_month(requested)
        except ValueError as exc:
            error = f"{exc} Showing this month."
            requested = ""
    rows = []
    for agreement in agreements_visible_to(request.user).select_related(
        "calendar", "marketing_team", "sales_team"
    ):
        month = requested or current_month(agreement.calendar.as_work_calendar(), now)
        rows.append(
            {
                "agreement": agreement,
                "figures": compliance_for(agreement=agreement, month=month, at=now),
            }
        )
    return render(request, "sla/dashboard.html", {"rows": rows, "month": requested, "error": error})
