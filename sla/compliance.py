"""The compliance figures of one agreement and month: selectors, one per figure family.

Every figure follows the definitions of API.md ("Flags and compliance"); the checks
read the same functions, so a flag and the dashboard can never disagree. Choices the
contract leaves open:

- The month is the calendar month in the agreement calendar's zone.
- `leads` (sales) counts the month's qualified leads, those that start clocks.
- A first-touch clock is *decided* as of `at` once it stopped (at or before `at`) or
  its due time passed. It was kept (`touched_within_sla`) when it stopped at or before
  its due time, whatever stopped it: a touch, a rejection, an abandon or a won/lost
  stage are all sales acting on the lead in time. It was `breached` when the due time
  passed first (stopped late, or still running past due).
- First-touch minutes are business minutes from the clock's start (the lead's
  `received_at`) to the touch that stopped it, over leads touched so far; each lead's
  minutes are whole (rounded down), the median is rounded half up, and p90 is the
  nearest-rank 90th percentile.
- Marketing `status`: in a closed month `met` when both the quota and the acceptance
  bar were kept, else `missed`; in an open month `at_risk` when acceptance is below the
  bar or delivery is behind pace (the `quota_at_risk` rule), `met` once the quota is
  reached, else `on_track`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.db import connection
from django.db.models import Count, Q

from calendars.engine import WorkCalendar
from calendars.months import business_days_elapsed, business_days_in_month, month_bounds, month_of
from core.aggregates import PercentileCont, PercentileDisc
from core.timeparse import month_name, parse_month
from leads.models import Lead
from sla.models import Agreement, Clock, Flag, MonthlyCommitment, kept_q, late_q

OPEN_BREACH_KINDS = (Flag.Kind.FIRST_TOUCH_BREACHED, Flag.Kind.NEXT_TOUCH_BREACHED)


def current_month(calendar: WorkCalendar, at: datetime) -> str:
    return month_name(*month_of(calendar, at))


def percent(part: int, whole: int) -> float | None:
    """100 × part / whole with one decimal, rounded half up; None when whole is 0."""
    if not whole:
        return None
    value = Decimal(100 * part) / Decimal(whole)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- marketing ------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthWindow:
    """A month of an agreement's calendar as of an instant."""

    year: int
    month: int
    start: datetime
    end: datetime
    days: int  # business days in the month
    elapsed: float  # business days behind `at`, clamped to the month
    closed: bool  # `at` is at or after the month's end

    @property
    def name(self) -> str:
        return month_name(self.year, self.month)


def month_window(calendar: WorkCalendar, year: int, month: int, at: datetime) -> MonthWindow:
    start, end = month_bounds(calendar, year, month)
    days = business_days_in_month(calendar, year, month)
    if at < start:
        elapsed = 0.0
    elif at >= end:
        elapsed = float(days)
    else:
        elapsed = min(float(days), business_days_elapsed(calendar, at))
    return MonthWindow(year, month, start, end, days, elapsed, at >= end)


def marketing_counts(*, agreement_ids, start: datetime, end: datetime) -> dict[int, dict]:
    """Delivered, qualified, accepted and rejected leads per agreement, in one query."""
    rows = (
        Lead.objects.filter(
            terms__agreement_id__in=list(agreement_ids), received_at__gte=start, received_at__lt=end
        )
        .values("terms__agreement_id")
        .annotate(
            delivered=Count("id"),
            delivered_qualified=Count("id", filter=Q(qualifies=True)),
            accepted=Count("id", filter=Q(verdict=Lead.Verdict.ACCEPTED)),
            rejected=Count("id", filter=Q(verdict=Lead.Verdict.REJECTED)),
        )
        .order_by()
    )
    empty = {"delivered": 0, "delivered_qualified": 0, "accepted": 0, "rejected": 0}
    counts = {agreement_id: dict(empty) for agreement_id in agreement_ids}
    for row in rows:
        counts[row.pop("terms__agreement_id")] = row
    return counts


def committed_quotas(*, agreements, month: str) -> dict[int, int]:
    """Marketing's logged quota for the month, else the agreement's monthly_quota."""
    logged = dict(
        MonthlyCommitment.objects.filter(
            agreement__in=[a.id for a in agreements], month=month
        ).values_list("agreement_id", "quota")
    )
    return {a.id: logged.get(a.id, a.monthly_quota) for a in agreements}


def expected_to_date(committed: int, window: MonthWindow) -> float:
    if not window.days:
        return float(committed) if window.closed else 0.0
    return committed * window.elapsed / window.days


def behind_pace(*, qualified: int, expected: float, tolerance_percent: int) -> bool:
    """The quota_at_risk rule: delivered_qualified < expected × (1 − tolerance/100)."""
    return qualified < expected * (100 - tolerance_percent) / 100


def acceptance_below_bar(*, accepted: int, rejected: int, min_percent: int) -> bool:
    """Acceptance under the bar; never with no verdict yet (acceptance is undefined)."""
    judged = accepted + rejected
    return judged > 0 and accepted * 100 < min_percent * judged


def marketing_status(*, agreement: Agreement, counts: dict, committed: int, window: MonthWindow):
    quota_met = counts["delivered_qualified"] >= committed
    quality_low = acceptance_below_bar(
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        min_percent=agreement.min_acceptance_percent,
    )
    if window.closed:
        return "met" if quota_met and not quality_low else "missed"
    pace_low = window.elapsed >= 1 and behind_pace(
        qualified=counts["delivered_qualified"],
        expected=expected_to_date(committed, window),
        tolerance_percent=agreement.pacing_tolerance_percent,
    )
    if quality_low or (pace_low and not quota_met):
        return "at_risk"
    return "met" if quota_met else "on_track"


def marketing_figures(*, agreement: Agreement, window: MonthWindow) -> dict:
    counts = marketing_counts(agreement_ids=[agreement.id], start=window.start, end=window.end)
    counts = counts[agreement.id]
    committed = committed_quotas(agreements=[agreement], month=window.name)[agreement.id]
    expected = expected_to_date(committed, window)
    return {
        "committed": committed,
        "delivered": counts["delivered"],
        "delivered_qualified": counts["delivered_qualified"],
        "attainment_percent": percent(counts["delivered_qualified"], committed),
        "expected_to_date": round(expected, 1),
        "accepted": counts["accepted"],
        "rejected": counts["rejected"],
        "acceptance_percent": percent(counts["accepted"], counts["accepted"] + counts["rejected"]),
        "status": marketing_status(
            agreement=agreement, counts=counts, committed=committed, window=window
        ),
    }


# --- sales ------------------------------------------------------------------------------


def _first_touch_clocks(agreement: Agreement, window: MonthWindow):
    return Clock.objects.filter(
        kind=Clock.Kind.FIRST_TOUCH,
        lead__terms__agreement=agreement,
        lead__qualifies=True,
        lead__received_at__gte=window.start,
        lead__received_at__lt=window.end,
    )


def _decided(at: datetime) -> dict:
    # Decided as of `at`: a clock stopped late after `at` was not yet known to be late.
    late = late_q(at) & Q(due_at__lte=at)
    return {"within": Count("id", filter=kept_q(at)), "breached": Count("id", filter=late)}


def _percentile_nearest_rank(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _summary(middle: float | None, p90: float | None) -> tuple[int | None, int | None]:
    """Median rounded half up, and the nearest-rank p90, as whole minutes."""
    if middle is None:
        return None, None
    return math.floor(middle + 0.5), int(p90)


def minutes_summaries(touched) -> tuple[tuple, dict]:
    """((median, p90) over all, {owner: (median, p90)}) of the stored `touch_minutes`.

    PostgreSQL computes them (percentile_cont for the median, percentile_disc for the
    nearest-rank p90); elsewhere the same definitions run over the stored integers.
    """
    if connection.vendor == "postgresql":
        return summaries_in_sql(touched)
    return summaries_in_python(touched)


def summaries_in_sql(touched) -> tuple[tuple, dict]:
    figures = {
        "middle": PercentileCont("touch_minutes", 0.5),
        "p90": PercentileDisc("touch_minutes", 0.9),
    }
    overall = touched.aggregate(**figures)
    rows = touched.values("lead__owner__username").annotate(**figures).order_by()
    return _summary(overall["middle"], overall["p90"]), {
        row["lead__owner__username"]: _summary(row["middle"], row["p90"]) for row in rows
    }


def summaries_in_python(touched) -> tuple[tuple, dict]:
    by_owner: dict = {}
    for owner, minutes in touched.values_list("lead__owner__username", "touch_minutes"):
        by_owner.setdefault(owner, []).append(minutes)
    every = [m for values in by_owner.values() for m in values]

    def summary(values):
        if not values:
            return None, None
        return math.floor(median(values) + 0.5), _percentile_nearest_rank(values, 0.9)

    return summary(every), {owner: summary(values) for owner, values in by_owner.items()}


def sales_by_owner(
    *, agreement: Agreement, window: MonthWindow, at: datetime
) -> tuple[dict, tuple]:
    """({username or None: {leads, within, breached, minutes}}, (median, p90) of all) from
    four grouped queries; `minutes` is the owner's (median, p90)."""
    owners: dict = {}

    def row(owner):
        return owners.setdefault(
            owner, {"leads": 0, "within": 0, "breached": 0, "minutes": (None, None)}
        )

    leads = (
        Lead.objects.filter(
            terms__agreement=agreement,
            qualifies=True,
            received_at__gte=window.start,
            received_at__lt=window.end,
        )
        .values("owner__username")
        .annotate(leads=Count("id"))
        .order_by()
    )
    for item in leads:
        row(item["owner__username"])["leads"] = item["leads"]
    clocks = _first_touch_clocks(agreement, window)
    decided = clocks.values("lead__owner__username").annotate(**_decided(at)).order_by()
    for item in decided:
        entry = row(item["lead__owner__username"])
        entry["within"], entry["breached"] = item["within"], item["breached"]
    touched = clocks.filter(
        stop_reason__in=Clock.TOUCH_STOPS, stopped_at__lte=at, touch_minutes__isnull=False
    )
    overall, by_owner = minutes_summaries(touched)
    for owner, summary in by_owner.items():
        row(owner)["minutes"] = summary
    return owners, overall


def sales_figures(*, owners: dict, minutes: tuple, agreement: Agreement, month: str) -> dict:
    middle, p90 = minutes
    within = sum(o["within"] for o in owners.values())
    breached = sum(o["breached"] for o in owners.values())
    flags = Flag.objects.filter(agreement=agreement, month=month).aggregate(
        open_breaches=Count("id", filter=Q(kind__in=OPEN_BREACH_KINDS, state=Flag.State.OPEN)),
        premature_abandons=Count("id", filter=Q(kind=Flag.Kind.PREMATURE_ABANDON)),
    )
    return {
        "leads": sum(o["leads"] for o in owners.values()),
        "touched_within_sla": within,
        "breached": breached,
        "compliance_percent": percent(within, within + breached),
        "median_first_touch_minutes": middle,
        "p90_first_touch_minutes": p90,
        **flags,
    }


def sales_by_rep(*, owners: dict) -> list[dict]:
    reps = []
    for owner in sorted(owners, key=lambda name: (name is None, name or "")):
        entry = owners[owner]
        middle, p90 = entry["minutes"]
        reps.append(
            {
                "owner": owner,
                "leads": entry["leads"],
                "touched_within_sla": entry["within"],
                "breached": entry["breached"],
                "compliance_percent": percent(entry["within"], entry["within"] + entry["breached"]),
                "median_first_touch_minutes": middle,
                "p90_first_touch_minutes": p90,
            }
        )
    return reps


def compliance_for(*, agreement: Agreement, month: str, at: datetime) -> dict:
    """The body of GET /api/compliance/: both sides of the agreement for one month."""
    year, number = parse_month(month)
    calendar = agreement.calendar.as_work_calendar()
    window = month_window(calendar, year, number, at)
    owners, minutes = sales_by_owner(agreement=agreement, window=window, at=at)
    return {
        "month": window.name,
        "agreement": agreement.id,
        "timezone": agreement.calendar.timezone,
        "as_of": at,
        "marketing": marketing_figures(agreement=agreement, window=window),
        "sales": sales_figures(
            owners=owners, minutes=minutes, agreement=agreement, month=window.name
        ),
        "by_rep": sales_by_rep(owners=owners),
    }
