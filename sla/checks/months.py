"""The month checks of marketing's promises: pacing, the quota, and the acceptance bar.

The figures come from sla/compliance.py, the same functions as the dashboard. Each
agreement is judged in its own calendar's month; the queries are one per distinct month
window (grouped by agreement), so they grow with calendars, not with flags or leads.
A month flag names the month it measures; quota and quality flags are dated at the
month's end (local midnight of the next 1st), the pacing warning when it was noticed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from calendars.months import month_of
from core.timeparse import local_text, month_before
from sla.compliance import (
    MonthWindow,
    acceptance_below_bar,
    behind_pace,
    committed_quotas,
    expected_to_date,
    marketing_counts,
    month_window,
    percent,
)
from sla.flags import flags_insert
from sla.models import Agreement, Flag, PacingTally

logger = logging.getLogger(__name__)


def _windows(*, at: datetime, closed: bool, kind: str) -> list[tuple[Agreement, MonthWindow]]:
    """(agreement, month) pairs to judge: this month, or the one that last closed.

    Only agreements in effect that month, and not yet flagged with `kind` for it.
    """
    pairs = []
    calendars: dict = {}
    for agreement in Agreement.objects.select_related("calendar"):
        try:
            if agreement.calendar_id not in calendars:
                calendars[agreement.calendar_id] = agreement.calendar.as_work_calendar()
            calendar = calendars[agreement.calendar_id]
            year, month = month_of(calendar, at)
            if closed:
                year, month = month_before(year, month)
            if agreement.in_effect_during(year, month):
                pairs.append((agreement, month_window(calendar, year, month, at)))
        except Exception:
            logger.exception("month check skipped agreement %s", agreement.id)
    flagged = set(
        Flag.objects.filter(kind=kind, agreement__in=[a.id for a, _ in pairs]).values_list(
            "agreement_id", "month"
        )
    )
    return [(a, w) for a, w in pairs if (a.id, w.name) not in flagged]


def _judge(
    *,
    pairs: list,
    at: datetime,
    build: Callable[[Agreement, MonthWindow, dict, int], Flag | None],
    counted: Callable | None = None,
) -> list[Flag]:
    """Count each month window's leads in one query, and build the flags that are due."""
    groups = defaultdict(list)
    for agreement, window in pairs:
        groups[(window.start, window.end, window.name)].append((agreement, window))
    flags = []
    for (start, end, name), members in groups.items():
        agreements = [agreement for agreement, _ in members]
        counts = marketing_counts(agreement_ids=[a.id for a in agreements], start=start, end=end)
        committed = committed_quotas(agreements=agreements, month=name)
        for agreement, window in members:
            if counted is not None:
                counted(agreement, window, counts[agreement.id])
            try:
                flag = build(agreement, window, counts[agreement.id], committed[agreement.id])
            except Exception:
                logger.exception("month check skipped agreement %s", agreement.id)
                continue
            if flag is not None:
                flags.append(flag)
    return flags_insert(flags=flags, at=at)


def _month_flag(kind: str, agreement: Agreement, window: MonthWindow, **fields) -> Flag:
    return Flag(
        kind=kind,
        agreement_id=agreement.id,
        month=window.name,
        team_id=agreement.marketing_team_id,
        due_at=window.end,
        **fields,
    )


def quota_at_risk(*, at: datetime) -> list[Flag]:
    """Once a month, when qualified delivery falls behind pace (not on the first day)."""

    def build(agreement, window, counts, committed):
        if window.closed or window.elapsed < 1:
            return None
        expected = expected_to_date(committed, window)
        qualified = counts["delivered_qualified"]
        tolerance = agreement.pacing_tolerance_percent
        if not behind_pace(qualified=qualified, expected=expected, tolerance_percent=tolerance):
            return None
        floor = expected * (100 - tolerance) / 100
        detail = (
            f"{qualified} qualified leads delivered by "
            f"{local_text(at, agreement.calendar.timezone)}, behind pace: {expected:.1f} "
            f"expected to date, {floor:.1f} after the {tolerance}% tolerance, "
            f"{committed} committed for {window.name}"
        )
        return _month_flag(
            Flag.Kind.QUOTA_AT_RISK, agreement, window, raised_at=at, noticed_at=at, detail=detail
        )

    pairs = _windows(at=at, closed=False, kind=Flag.Kind.QUOTA_AT_RISK)
    pairs = _behind_tally(pairs)
    flags = _judge(pairs=pairs, at=at, build=build, counted=_tally_record(at))
    return flags


def _floor(agreement: Agreement, window: MonthWindow, committed: int) -> float:
    """The fewest qualified leads that keep the month on pace (the quota_at_risk rule)."""
    tolerance = agreement.pacing_tolerance_percent
    return expected_to_date(committed, window) * (100 - tolerance) / 100


def _behind_tally(pairs: list) -> list:
    """The pairs whose last count no longer proves them on pace: only those are counted."""
    open_pairs = [(a, w) for a, w in pairs if not w.closed and w.elapsed >= 1]
    if not open_pairs:
        return []
    tallies = {
        (t.agreement_id, t.month): t.qualified
        for t in PacingTally.objects.filter(
            agreement__in=[a for a, _ in open_pairs], month__in={w.name for _, w in open_pairs}
        )
    }
    by_month = defaultdict(list)
    for agreement, window in open_pairs:
        by_month[window.name].append(agreement)
    committed = {}
    for name, agreements in by_month.items():
        for agreement_id, quota in committed_quotas(agreements=agreements, month=name).items():
            committed[(agreement_id, name)] = quota
    keep = []
    for agreement, window in open_pairs:
        known = tallies.get((agreement.id, window.name))
        floor = _floor(agreement, window, committed[(agreement.id, window.name)])
        if known is None or known < floor:
            keep.append((agreement, window))
    return keep


def _tally_record(at: datetime):
    def record(agreement: Agreement, window: MonthWindow, counts: dict) -> None:
        PacingTally.objects.update_or_create(
            agreement=agreement,
            month=window.name,
            defaults={"qualified": counts["delivered_qualified"], "counted_at": at},
        )

    return record


def quota_shortfall(*, at: datetime) -> list[Flag]:
    """Once, after a month closed with fewer qualified leads than committed."""

    def build(agreement, window, counts, committed):
        qualified = counts["delivered_qualified"]
        if qualified >= committed:
            return None
        detail = (
            f"{window.name} closed {local_text(window.end, agreement.calendar.timezone)} with "
            f"{qualified} qualified leads of {committed} committed "
            f"({percent(qualified, committed)}%)"
        )
        return _month_flag(
            Flag.Kind.QUOTA_SHORTFALL,
            agreement,
            window,
            raised_at=window.end,
            noticed_at=at,
            detail=detail,
        )

    pairs = _windows(at=at, closed=True, kind=Flag.Kind.QUOTA_SHORTFALL)
    return _judge(pairs=pairs, at=at, build=build)


def quality_shortfall(*, at: datetime) -> list[Flag]:
    """Once, after a month closed with acceptance under the bar (none with no verdict)."""

    def build(agreement, window, counts, committed):
        accepted, rejected = counts["accepted"], counts["rejected"]
        bar = agreement.min_acceptance_percent
        if not acceptance_below_bar(accepted=accepted, rejected=rejected, min_percent=bar):
            return None
        detail = (
            f"{window.name} closed with acceptance {percent(accepted, accepted + rejected)}% "
            f"({accepted} accepted, {rejected} rejected), below the {bar}% agreed"
        )
        return _month_flag(
            Flag.Kind.QUALITY_SHORTFALL,
            agreement,
            window,
            raised_at=window.end,
            noticed_at=at,
            detail=detail,
        )

    pairs = _windows(at=at, closed=True, kind=Flag.Kind.QUALITY_SHORTFALL)
    return _judge(pairs=pairs, at=at, build=build)
