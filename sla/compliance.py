"""The compliance figures of one agreement and month: selectors, one per figure family.

Every figure follows the definitions of API.md ("Flags and compliance"); the checks
read the same functions, so a flag and the dashboard can never disagree. Choices the
contract leaves open:

- The month is the calendar month in the agreement calendar's zone.
- `leads` (sales) counts the month's qualified leads, those that start clocks.
- `by_tier` groups them by the tier stamped on each lead at delivery (null: the
  agreement's own terms), whichever version's tier it was.
- A first-touch clock is *decided* as of `at` once it stopped (at or before `at`) or
  its due time passed. It was kept (`touched_within_sla`) when it stopped at or before
  its due time, whatever stopped it: a touch, a rejection, an abandon or a won/lost
  stage are all sales acting on the lead in time. It was `breached` when the due time
  passed first (stopped late, or still running past due).
- First-touch minutes are business minutes from the clock's start (the lead's
  `received_at`) to the touch that stopped it, over leads touched so far; each lead's
  minutes are whole (rounded down), the median is rounded half up, and p90 is the
  nearest-rank 90th percentile.
- Marketing `status`: `not_in_effect` for a month in which the agreement covers no day
  (before its `effective_from`, after its `effective_to`), `not_started` for a month
  that has not begun; in a closed month `met` when both the quota and the acceptance bar
  were kept, else `missed`; in an open month `at_risk` when acceptance is below the bar
  or delivery is behind pace (the `quota_at_risk` rule), `met` once the quota is
  reached, else `on_track`.

The counts come from `sla.tallies.month_tallies`: one statement on PostgreSQL for one
month or twelve, a few grouped queries elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from calendars.engine import WorkCalendar

# MonthWindow and month_window are read from here by other modules.
from calendars.months import MonthWindow, month_of, month_window  # noqa: F401
from core.timeparse import month_name, parse_month
from leads.models import Lead
from sla.books import MarketingTerms
from sla.models import Agreement, MonthlyCommitment

# The counting lives in sla.tallies; these names are read from here by other modules.
from sla.tallies import (  # noqa: F401
    OPEN_BREACH_KINDS,
    MonthTally,
    Tally,
    _decided,
    _lead_counts,
    _percentile_nearest_rank,
    _summary,
    dispute_cutoff,
    minutes_summaries,
    month_tallies,
    pairs_tallies,
    summaries_in_python,
    summaries_in_sql,
)

# Marketing's `status`, and how a page says it.
MARKETING_STATUSES = {
    "not_in_effect": "Not in effect",
    "not_started": "Not started",
    "on_track": "On track",
    "at_risk": "At risk",
    "met": "Met",
    "missed": "Missed",
}


def current_month(calendar: WorkCalendar, at: datetime) -> str:
    return month_name(*month_of(calendar, at))


def percent(part: int, whole: int) -> float | None:
    """100 × part / whole with one decimal, rounded half up; None when whole is 0."""
    if not whole:
        return None
    value = Decimal(100 * part) / Decimal(whole)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --- marketing ------------------------------------------------------------------------


def marketing_counts(
    *, agreement_ids, start: datetime, end: datetime, cutoffs: dict | None = None
) -> dict[int, dict]:
    """Delivered, qualified, accepted and rejected leads per agreement, in one query
    (`cutoffs`: each agreement's sla.tallies.dispute_cutoff; see `_lead_counts`)."""
    rows = (
        Lead.objects.filter(
            terms__agreement_id__in=list(agreement_ids), received_at__gte=start, received_at__lt=end
        )
        .values("terms__agreement_id")
        .annotate(**_lead_counts(cutoffs))
        .order_by()
    )
    empty = {
        "delivered": 0,
        "delivered_qualified": 0,
        "accepted": 0,
        "rejected": 0,
        "duplicates": 0,
        "rejections_pending": 0,
        "disputes_open": 0,
    }
    counts = {agreement_id: dict(empty) for agreement_id in agreement_ids}
    for row in rows:
        counts[row.pop("terms__agreement_id")] = row
    return counts


def committed_quotas(*, agreements, month: str, terms: MarketingTerms | None = None) -> dict:
    """Marketing's logged quota for the month, else the agreement's monthly_quota (for a
    closed month, the one in effect when it closed: `terms`)."""
    logged = dict(
        MonthlyCommitment.objects.filter(
            agreement__in=[a.id for a in agreements], month=month
        ).values_list("agreement_id", "quota")
    )
    year, number = parse_month(month)
    return {
        a.id: logged[a.id] if a.id in logged else _terms(a, year, number, terms)["monthly_quota"]
        for a in agreements
    }


def _terms(agreement: Agreement, year: int, month: int, terms: MarketingTerms | None) -> dict:
    """The marketing terms the month is measured under (sla.books)."""
    if terms is None:
        return {name: getattr(agreement, name) for name in Agreement.MARKETING_TERMS}
    return terms.of(agreement, year, month)


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


def marketing_status(
    *,
    agreement: Agreement,
    counts: dict,
    committed: int,
    window: MonthWindow,
    terms: MarketingTerms | None = None,
):
    measured = _terms(agreement, window.year, window.month, terms)
    if not agreement.in_effect_during(window.year, window.month):
        return "not_in_effect"
    if not window.started:
        return "not_started"
    quota_met = counts["delivered_qualified"] >= committed
    quality_low = acceptance_below_bar(
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        min_percent=measured["min_acceptance_percent"],
    )
    if window.closed:
        return "met" if quota_met and not quality_low else "missed"
    pace_low = window.elapsed >= 1 and behind_pace(
        qualified=counts["delivered_qualified"],
        expected=expected_to_date(committed, window),
        tolerance_percent=measured["pacing_tolerance_percent"],
    )
    if quality_low or (pace_low and not quota_met):
        return "at_risk"
    return "met" if quota_met else "on_track"


def marketing_block(
    *,
    agreement: Agreement,
    window: MonthWindow,
    counts: dict,
    committed: int,
    terms: MarketingTerms | None = None,
):
    """The `marketing` object of the figures, from the month's counts and commitment."""
    return {
        "committed": committed,
        "delivered": counts["delivered"],
        "delivered_qualified": counts["delivered_qualified"],
        "duplicates": counts.get("duplicates", 0),
        "attainment_percent": percent(counts["delivered_qualified"], committed),
        "expected_to_date": round(expected_to_date(committed, window), 1),
        "accepted": counts["accepted"],
        "rejected": counts["rejected"],
        "acceptance_percent": percent(counts["accepted"], counts["accepted"] + counts["rejected"]),
        # Rejections inside their dispute window or under dispute: in neither count yet.
        "rejections_pending": counts.get("rejections_pending", 0),
        "disputes_open": counts.get("disputes_open", 0),
        "status": marketing_status(
            agreement=agreement, counts=counts, committed=committed, window=window, terms=terms
        ),
    }


def marketing_figures(*, agreement: Agreement, window: MonthWindow, at: datetime) -> dict:
    counts = marketing_counts(
        agreement_ids=[agreement.id],
        start=window.start,
        end=window.end,
        cutoffs={agreement.id: dispute_cutoff(agreement, at)},
    )
    terms = MarketingTerms([agreement], at=at)
    committed = committed_quotas(agreements=[agreement], month=window.name, terms=terms)
    return marketing_block(
        agreement=agreement,
        window=window,
        counts=counts[agreement.id],
        committed=committed[agreement.id],
        terms=terms,
    )


# --- sales ------------------------------------------------------------------------------


def _owner_rows(month: MonthTally) -> dict:
    return {
        owner: {
            "leads": t.delivered_qualified,
            "within": t.within,
            "breached": t.breached,
            "minutes": t.minutes,
        }
        for owner, t in month.owners.items()
    }


def sales_by_owner(
    *, agreement: Agreement, window: MonthWindow, at: datetime
) -> tuple[dict, tuple]:
    """({username or None: {leads, within, breached, minutes}}, (median, p90) of all);
    `minutes` is the owner's (median, p90)."""
    month = month_tallies(agreement=agreement, windows=[window], at=at)[0]
    return _owner_rows(month), month.total.minutes


def sales_block(month: MonthTally) -> dict:
    """The `sales` object of the figures, from the month's tally."""
    total = month.total
    middle, p90 = total.minutes
    return {
        "leads": total.delivered_qualified,
        "touched_within_sla": total.within,
        "breached": total.breached,
        "compliance_percent": percent(total.within, total.within + total.breached),
        "median_first_touch_minutes": middle,
        "p90_first_touch_minutes": p90,
        "open_breaches": month.open_breaches,
        "premature_abandons": month.premature_abandons,
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


def sales_by_tier(*, tiers: dict, order: list | None = None) -> list[dict]:
    """`by_tier`: each tier's first touches as `by_rep` counts a rep's, `tier` its name
    (None: the agreement's own terms). In the order of `order` (the agreement's tiers),
    then tiers of older versions by name, the default last."""
    position = {tier["name"]: index for index, tier in enumerate(order or [])}
    rows = []
    for name in sorted(tiers, key=lambda n: (not n, position.get(n, len(position)), n)):
        entry = tiers[name]
        middle, p90 = entry.minutes
        rows.append(
            {
                "tier": name or None,
                "leads": entry.delivered_qualified,
                "touched_within_sla": entry.within,
                "breached": entry.breached,
                "compliance_percent": percent(entry.within, entry.within + entry.breached),
                "median_first_touch_minutes": middle,
                "p90_first_touch_minutes": p90,
            }
        )
    return rows


# --- the figures ------------------------------------------------------------------------


def _both_sides(
    agreement: Agreement, window: MonthWindow, month: MonthTally, terms: MarketingTerms
) -> dict:
    committed = month.logged_quota
    if committed is None:
        committed = terms.of(agreement, window.year, window.month)["monthly_quota"]
    return {
        "period": terms.period(agreement, window.year, window.month),
        "marketing": marketing_block(
            agreement=agreement,
            window=window,
            counts=month.total.counts(),
            committed=committed,
            terms=terms,
        ),
        "sales": sales_block(month),
    }


def compliance_for(*, agreement: Agreement, month: str, at: datetime) -> dict:
    """The body of GET /api/compliance/: both sides of the agreement for one month."""
    year, number = parse_month(month)
    calendar = agreement.calendar.as_work_calendar()
    window = month_window(calendar, year, number, at)
    tally = month_tallies(agreement=agreement, windows=[window], at=at)[0]
    return {
        "month": window.name,
        "agreement": agreement.id,
        "timezone": agreement.calendar.timezone,
        "as_of": at,
        **_both_sides(agreement, window, tally, MarketingTerms([agreement], at=at)),
        "by_rep": sales_by_rep(owners=_owner_rows(tally)),
        "by_tier": sales_by_tier(tiers=tally.tiers, order=agreement.tiers),
    }


def compliance_trend(*, agreement: Agreement, months: list[str], at: datetime) -> list[dict]:
    """Both sides of the agreement for each month of `months` (`YYYY-MM`), as of `at`.

    One entry per month, in the order given: `{"month", "marketing", "sales"}`, each
    side exactly as `compliance_for` of that month answers it (attainment, acceptance,
    first-touch compliance, median and p90 minutes, status...; no `by_rep`). The cost is
    a constant number of queries however many months (one statement on PostgreSQL).
    A month that is not `YYYY-MM` within the supported years raises ValueError.
    """
    calendar = agreement.calendar.as_work_calendar()
    windows = [month_window(calendar, *parse_month(name), at) for name in months]
    tallies = month_tallies(agreement=agreement, windows=windows, at=at, by_owner=False)
    terms = MarketingTerms([agreement], at=at)
    return [
        {"month": window.name, **_both_sides(agreement, window, tally, terms)}
        for window, tally in zip(windows, tallies, strict=True)
    ]


def compliance_trend_together(*, agreements, months: list[str], at: datetime) -> list[dict]:
    """`compliance_trend` of several agreements at once, and of all of them together.

    One entry per month, in the order given: `{"month", "marketing", "sales",
    "agreements"}`. `agreements` lists each agreement's `{"agreement", "marketing",
    "sales"}` in the order given, exactly as `compliance_trend` answers them. The
    together sides add up the counts (the quota of the agreements in effect that month),
    recompute the percentages, and take the median and p90 over every first touch of the
    month (each agreement's month in its own calendar); they have no `status` and no
    `expected_to_date`. A constant number of queries however many agreements and months.
    """
    agreements = list(agreements)
    named = [parse_month(name) for name in months]
    windows = {
        a.id: [month_window(a.calendar.as_work_calendar(), y, m, at) for y, m in named]
        for a in agreements
    }
    pairs = [(a.id, window) for a in agreements for window in windows[a.id]]
    cutoffs = {a.id: dispute_cutoff(a, at) for a in agreements}
    tallies, together = pairs_tallies(pairs=pairs, at=at, cutoffs=cutoffs)
    terms = MarketingTerms(agreements, at=at)
    found = dict(zip(pairs, tallies, strict=True))
    entries = []
    for index, (year, number) in enumerate(named):
        sides = [
            (
                a,
                _both_sides(a, windows[a.id][index], found[(a.id, windows[a.id][index])], terms),
            )
            for a in agreements
        ]
        name = month_name(year, number)
        covering = [side for a, side in sides if a.in_effect_during(year, number)]
        entries.append(
            {
                "month": name,
                **_together([side for _, side in sides], covering, together.get(name)),
                "agreements": [{"agreement": a.id, **side} for a, side in sides],
            }
        )
    return entries


def _together(sides: list[dict], covering: list[dict], minutes) -> dict:
    def total(side: str, key: str, of=sides) -> int:
        return sum(entry[side][key] for entry in of)

    committed = total("marketing", "committed", covering)
    qualified, accepted, rejected = (
        total("marketing", key) for key in ("delivered_qualified", "accepted", "rejected")
    )
    within, breached = total("sales", "touched_within_sla"), total("sales", "breached")
    middle, p90 = minutes or (None, None)
    return {
        "marketing": {
            "committed": committed,
            "delivered": total("marketing", "delivered"),
            "delivered_qualified": qualified,
            "duplicates": total("marketing", "duplicates"),
            "attainment_percent": percent(qualified, committed),
            "accepted": accepted,
            "rejected": rejected,
            "acceptance_percent": percent(accepted, accepted + rejected),
            "rejections_pending": total("marketing", "rejections_pending"),
            "disputes_open": total("marketing", "disputes_open"),
        },
        "sales": {
            "leads": total("sales", "leads"),
            "touched_within_sla": within,
            "breached": breached,
            "compliance_percent": percent(within, within + breached),
            "median_first_touch_minutes": middle,
            "p90_first_touch_minutes": p90,
            "open_breaches": total("sales", "open_breaches"),
            "premature_abandons": total("sales", "premature_abandons"),
        },
    }
