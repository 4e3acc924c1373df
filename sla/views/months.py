"""Reopening a closed month (admins): the page that says what the month's books hold and
why reopening is recorded, and the form that does it through `sla.books.month_reopen`,
the one rule the API's `POST /api/agreements/<id>/months/<YYYY-MM>/reopen/` also calls."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts.access import may_reopen_month
from core.errors import RuleRefused
from core.timeparse import local_text, parse_month
from sla.books import closes_at, month_period, month_reopen, reopened_until
from sla.compliance import marketing_figures, month_window
from sla.models import Agreement, MonthReopening


@login_required
def month_reopen_view(request, pk: int, month: str):
    if not may_reopen_month(request.user):
        raise PermissionDenied("Only an admin reopens a closed month.")
    agreement = get_object_or_404(Agreement.objects.select_related("calendar"), pk=pk)
    try:
        year, number = parse_month(month)
    except ValueError:
        raise Http404("No such month.") from None
    now = timezone.now()
    reason, error, status = "", "", 200
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            reopening = month_reopen(
                agreement=agreement, month=month, reason=reason, by=request.user, now=now
            )
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
        except RuleRefused as refused:
            error, status = refused.message.split(": ", 1)[-1], 409
        else:
            until = local_text(reopening.closes_at, agreement.calendar.timezone)
            messages.success(
                request,
                f"{month} of {agreement.name} is open again until {until}; its month "
                "checks judge it again when it closes.",
            )
            return redirect("commitment-list")
    window = month_window(agreement.calendar.as_work_calendar(), year, number, now)
    context = {
        "agreement": agreement,
        "month": month,
        "period": month_period(agreement, year, number, now),
        "closes_at": closes_at(agreement, year, number),
        "reopened_until": reopened_until(agreement, month, now),
        "figures": marketing_figures(agreement=agreement, window=window, at=now),
        "reopenings": MonthReopening.objects.filter(agreement=agreement, month=month)
        .select_related("by")
        .order_by("-at"),
        "reason": reason,
        "error": error,
    }
    return render(request, "sla/month_reopen.html", context, status=status)
