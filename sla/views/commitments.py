"""Marketing's commitments page: log each month's quota and see how the month is going.

The figures come from the same compliance selectors as `GET /api/compliance/`.
"""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import may_log_commitment
from calendars.months import month_of
from leads.models import Lead
from sla.agreements import commitment_log
from sla.compliance import marketing_figures, month_window
from sla.models import MonthlyCommitment
from sla.selectors import agreements_visible_to


def _neighbour_months(year: int, month: int) -> list[tuple[int, int]]:
    first = date(year, month, 1)
    before = first - timedelta(days=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return [(before.year, before.month), (year, month), (after.year, after.month)]


@login_required
def commitment_list(request):
    now = timezone.now()
    cards = []
    for agreement in agreements_visible_to(request.user).select_related(
        "calendar", "marketing_team", "sales_team"
    ):
        calendar = agreement.calendar.as_work_calendar()
        year, month = month_of(calendar, now)
        logged = {
            c.month: c
            for c in MonthlyCommitment.objects.filter(agreement=agreement).select_related(
                "logged_by"
            )
        }
        months = []
        for y, m in _neighbour_months(year, month):
            window = month_window(calendar, y, m, now)
            label = f"{y}-{m:02d}"
            figures = marketing_figures(agreement=agreement, window=window)
            months.append(
                {
                    "month": label,
                    "commitment": logged.get(label),
                    "figures": figures,
                    "status_label": figures["status"].replace("_", " ").capitalize(),
                    "started": now >= window.start,
                    "current": (y, m) == (year, month),
                }
            )
        start = month_window(calendar, year, month, now).start
        reasons = (
            Lead.objects.filter(terms__agreement=agreement, verdict=Lead.Verdict.REJECTED)
            .filter(received_at__gte=start)
            .values("verdict_reason__label")
            .annotate(count=Count("id"))
            .order_by("-count")
        )
        cards.append(
            {
                "agreement": agreement,
                "months": months,
                "reasons": list(reasons),
                "can_log": may_log_commitment(request.user, agreement),
            }
        )
    return render(request, "sla/commitment_list.html", {"cards": cards})


@require_POST
@login_required
def commitment_save(request, pk: int, month: str):
    agreement = get_object_or_404(agreements_visible_to(request.user), pk=pk)
    if not may_log_commitment(request.user, agreement):
        raise PermissionDenied
    raw = request.POST.get("quota", "").strip()
    try:
        # The page asks for the number: an empty box is a mistake, not "the default".
        quota = int(raw)
    except ValueError:
        messages.error(request, "Quota: give the number of qualified leads you commit to.")
        return redirect("commitment-list")
    try:
        commitment_log(
            agreement=agreement,
            month=month,
            quota=quota,
            note=request.POST.get("note", ""),
            by=request.user,
            now=timezone.now(),
        )
    except ValidationError as error:
        text = "; ".join(f"{f.capitalize()}: {' '.join(m)}" for f, m in error.message_dict.items())
        messages.error(request, text)
    else:
        messages.success(request, f"Commitment for {month} logged for {agreement.name}.")
    return redirect("commitment-list")
