"""Marketing's commitments page: log each month's quota and see how the month is going.

The figures come from the same compliance selectors as `GET /api/compliance/`; the
pacing chart reads its business days from the agreement's calendar and its expected
pace from `sla.compliance.month_window` and `expected_to_date`.
"""

from __future__ import annotations

import calendar as gregorian
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import may_log_commitment, may_reopen_month
from calendars.engine import WorkCalendar
from calendars.months import business_days_elapsed, business_days_in_month, month_of
from core.errors import RuleRefused
from leads.models import Lead
from sla.agreements import MAX_QUOTA, commitment_log
from sla.books import closes_at, month_period
from sla.compliance import MonthWindow, expected_to_date, marketing_figures, month_window, percent
from sla.models import MonthlyCommitment
from sla.selectors import agreements_visible_to

QUOTA_MISSING = "Quota: give the number of qualified leads you commit to."


def _neighbour_months(year: int, month: int) -> list[tuple[int, int]]:
    first = date(year, month, 1)
    before = first - timedelta(days=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return [(before.year, before.month), (year, month), (after.year, after.month)]


# --- pacing -------------------------------------------------------------------------------


def _midnight(zone: ZoneInfo, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def business_dates(calendar: WorkCalendar, zone: ZoneInfo, year: int, month: int) -> list[date]:
    """The month's business days, as the calendar counts them (calendars/months.py).

    At a local midnight `business_days_elapsed` is the number of business days before
    that date, so a date is a business day exactly when the count grows past it.
    """
    length = gregorian.monthrange(year, month)[1]
    days = [date(year, month, d) for d in range(1, length + 1)]
    before = [business_days_elapsed(calendar, _midnight(zone, day)) for day in days]
    after = [*before[1:], business_days_in_month(calendar, year, month)]
    return [day for day, b, a in zip(days, before, after, strict=True) if a > b]


def pacing(
    *,
    agreement,
    calendar: WorkCalendar,
    zone: ZoneInfo,
    window: MonthWindow,
    committed: int,
    qualified: int,
    now,
) -> dict:
    """Cumulative qualified leads at the end of each business day, against the
    commitment and the expected pace, with the month's end projected at today's pace
    from `qualified`, the month's qualified leads so far (the table's figure).

    One query: a lead counts on the first business day whose local date is not before
    its own (a Saturday's lead on Monday's total; the month's last days on the last).
    """
    dates = business_dates(calendar, zone, window.year, window.month)
    edges = [_midnight(zone, day + timedelta(days=1)) for day in dates[:-1]]
    edges += [window.end] if dates else []
    if dates:
        totals = Lead.objects.filter(
            terms__agreement=agreement,
            qualifies=True,
            received_at__gte=window.start,
            received_at__lt=window.end,
        ).aggregate(
            **{f"d{i}": Count("id", filter=Q(received_at__lt=edge)) for i, edge in enumerate(edges)}
        )
        cumulative = [totals[f"d{i}"] for i in range(len(dates))]
    else:
        cumulative = []
    today = now.astimezone(zone).date()
    shown = sum(1 for day in dates if day <= today)  # days with a figure so far
    expected = [
        round(expected_to_date(committed, month_window(calendar, window.year, window.month, e)), 1)
        for e in edges
    ]
    projected = round(qualified * window.days / window.elapsed) if window.elapsed >= 1 else None
    projection = [None] * len(dates)
    if projected is not None and shown:
        projection[shown - 1] = qualified
        projection[-1] = projected
    return {
        "days": [f"{day:%a} {day.day}" for day in dates],
        "actual": cumulative[:shown] + [None] * (len(dates) - shown),
        "expected": expected,
        "projection": projection,
        "commitment": committed,
        "qualified": qualified,
        "expected_today": round(expected_to_date(committed, window), 1),
        "projected": projected,
        "business_days": len(dates),
        "elapsed": round(window.elapsed, 1),
    }


def pacing_description(chart: dict, month: str) -> str:
    """The chart in one sentence: what a screen reader says and the page prints."""
    text = (
        f"{month}: {chart['qualified']} qualified lead{'s' if chart['qualified'] != 1 else ''} "
        f"after {chart['elapsed']} of {chart['business_days']} business days, against a "
        f"commitment of {chart['commitment']}; the expected pace is {chart['expected_today']} "
        "by now"
    )
    if chart["projected"] is None:
        return text + "; too early to project the month's end."
    return text + f"; at this pace the month ends at {chart['projected']}."


# --- acceptance by source and definition version -----------------------------------------


def acceptance_rows(windows: dict[int, MonthWindow]) -> dict[int, dict]:
    """Per agreement, this month's verdicts by source and definition version, and the
    rejection reasons: one grouped query for every agreement of the page."""
    if not windows:
        return {}
    scope = Q()
    for agreement_id, window in windows.items():
        scope |= Q(
            terms__agreement_id=agreement_id,
            received_at__gte=window.start,
            received_at__lt=window.end,
        )
    groups = (
        Lead.objects.filter(scope)
        .values(
            "terms__agreement_id",
            "source",
            "definition_version__definition__name",
            "definition_version__version",
            "verdict",
            "verdict_reason__label",
        )
        .annotate(count=Count("id"))
        .order_by()
    )
    tables: dict[int, dict] = {pk: {"rows": {}, "reasons": {}} for pk in windows}
    for group in groups:
        table = tables[group["terms__agreement_id"]]
        key = (
            group["source"] or "",
            group["definition_version__definition__name"] or "",
            group["definition_version__version"],
        )
        row = table["rows"].setdefault(
            key, {"delivered": 0, "accepted": 0, "rejected": 0, "pending": 0, "reasons": {}}
        )
        row["delivered"] += group["count"]
        verdict = group["verdict"]
        if verdict in row:
            row[verdict] += group["count"]
        if verdict == Lead.Verdict.REJECTED:
            label = group["verdict_reason__label"] or "No reason given"
            row["reasons"][label] = row["reasons"].get(label, 0) + group["count"]
            table["reasons"][label] = table["reasons"].get(label, 0) + group["count"]
    return {pk: _acceptance_table(table) for pk, table in tables.items()}


def _by_count(counts: dict[str, int]) -> list[dict]:
    return [
        {"label": label, "count": count}
        for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _acceptance_table(table: dict) -> dict:
    rows = []
    for (source, definition, version), row in sorted(
        table["rows"].items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
    ):
        rows.append(
            {
                "source": source,
                "definition": definition,
                "version": version,
                **{k: row[k] for k in ("delivered", "accepted", "rejected", "pending")},
                "acceptance_percent": percent(row["accepted"], row["accepted"] + row["rejected"]),
                "reasons": _by_count(row["reasons"]),
            }
        )
    return {"rows": rows, "reasons": _by_count(table["reasons"])}


# --- the page -----------------------------------------------------------------------------


def _cards(user, now, *, failed: dict | None = None) -> list[dict]:
    """One card per visible agreement; `failed` is a refused form ({key, values, errors})."""
    agreements = list(
        agreements_visible_to(user).select_related("calendar", "marketing_team", "sales_team")
    )
    logged: dict[int, dict] = {a.pk: {} for a in agreements}
    for commitment in MonthlyCommitment.objects.filter(agreement__in=agreements).select_related(
        "logged_by"
    ):
        logged[commitment.agreement_id][commitment.month] = commitment
    calendars = {a.pk: a.calendar.as_work_calendar() for a in agreements}
    current = {}
    for agreement in agreements:
        calendar = calendars[agreement.pk]
        current[agreement.pk] = month_window(calendar, *month_of(calendar, now), now)
    acceptance = acceptance_rows(current)
    cards = []
    for agreement in agreements:
        calendar, window = calendars[agreement.pk], current[agreement.pk]
        months = [
            _month_row(agreement, calendar, logged[agreement.pk], (y, m), now, window, failed)
            for y, m in _neighbour_months(window.year, window.month)
        ]
        this_month = months[1]
        chart = pacing(
            agreement=agreement,
            calendar=calendar,
            zone=ZoneInfo(agreement.calendar.timezone),
            window=window,
            committed=this_month["figures"]["committed"],
            qualified=this_month["figures"]["delivered_qualified"],
            now=now,
        )
        chart["description"] = pacing_description(chart, window.name)
        chart["title"] = f"{agreement.name}: qualified leads in {window.name}"
        cards.append(
            {
                "agreement": agreement,
                "months": months,
                "month": window.name,
                "chart": chart,
                "chart_id": f"pacing-{agreement.pk}",
                "acceptance": acceptance[agreement.pk],
                "can_log": may_log_commitment(user, agreement),
                "can_reopen": may_reopen_month(user),
            }
        )
    return cards


def _month_row(agreement, calendar, logged, year_month, now, current, failed) -> dict:
    y, m = year_month
    window = month_window(calendar, y, m, now)
    label = window.name
    figures = marketing_figures(agreement=agreement, window=window, at=now)
    row = {
        "month": label,
        "commitment": logged.get(label),
        "figures": figures,
        "status_label": figures["status"].replace("_", " ").capitalize(),
        "started": now >= window.start,
        "current": (y, m) == (current.year, current.month),
        # open, grace (over, still taking late leads) or closed (final; sla.books)
        "period": month_period(agreement, y, m, now),
        "closes_at": closes_at(agreement, y, m),
        "quota": figures["committed"],
        "note": "",
        "errors": {},
    }
    if failed and failed["key"] == (agreement.pk, label):
        row.update(quota=failed["values"]["quota"], note=failed["values"]["note"])
        row["errors"] = failed["errors"]
    return row


@login_required
def commitment_list(request):
    cards = _cards(request.user, timezone.now())
    return render(request, "sla/commitment_list.html", {"cards": cards})


def _quota(raw: str) -> int:
    """The quota box as a number; an empty box is a mistake, never "the default"."""
    if not raw:
        raise ValidationError({"quota": QUOTA_MISSING})
    try:
        quota = int(raw)
    except ValueError:
        raise ValidationError(
            {"quota": f"{QUOTA_MISSING} {raw!r} is not a whole number."}
        ) from None
    if not 0 <= quota <= MAX_QUOTA:
        raise ValidationError({"quota": f"{QUOTA_MISSING} It must be from 0 to {MAX_QUOTA:,}."})
    return quota


@require_POST
@login_required
def commitment_save(request, pk: int, month: str):
    agreement = get_object_or_404(agreements_visible_to(request.user), pk=pk)
    if not may_log_commitment(request.user, agreement):
        raise PermissionDenied
    values = {"quota": request.POST.get("quota", "").strip(), "note": request.POST.get("note", "")}
    try:
        commitment_log(
            agreement=agreement,
            month=month,
            quota=_quota(values["quota"]),
            note=values["note"],
            by=request.user,
            now=timezone.now(),
        )
    except ValidationError as error:
        errors = {name: " ".join(texts) for name, texts in error.message_dict.items()}
        if "month" in errors:  # the month is the URL's, not a box of the form
            messages.error(request, f"Month: {errors.pop('month')}")
        failed = {"key": (agreement.pk, month), "values": values, "errors": errors}
        cards = _cards(request.user, timezone.now(), failed=failed)
        return render(request, "sla/commitment_list.html", {"cards": cards}, status=400)
    except RuleRefused as refused:  # a closed month's commitment is final
        messages.error(request, refused.message.split(": ", 1)[-1])
        cards = _cards(request.user, timezone.now())
        return render(request, "sla/commitment_list.html", {"cards": cards}, status=409)
    messages.success(request, f"Commitment for {month} logged for {agreement.name}.")
    return redirect("commitment-list")
