"""The month checks of marketing's promises: pacing, the quota, and the acceptance bar.

The figures come from sla/compliance.py, the same functions as the dashboard. Each
agreement is judged in its own calendar's month; the queries are one per distinct month
window (grouped by agreement), so they grow with calendars, not with flags or leads.
A month flag names the month it measures; quota and quality flags are dated at the
month's end (local midnight of the next 1st), the pacing warning when it was noticed.

With nothing to flag a pass reads no lead: the running month's pace is judged against
the last count kept in PacingTally while that count still proves it on pace, and a
closed month's counts are kept in MonthEvaluation once counted. The commitment and the
bars are read fresh each pass, so changing them needs no recount; what changes a closed
month's counts (a lead delivered into it late, a verdict on one of its leads, removed
leads) marks its evaluation stale through `month_evaluations_reopen`, under the row's
lock, so a pass counting at that moment either sees the change or is counted again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q

from calendars.months import month_bounds, month_of
from core.timeparse import local_text, month_add, month_before, month_name, month_text
from sla.books import MarketingTerms, closes_at
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
from sla.models import Agreement, Flag, MonthEvaluation, MonthReopening, PacingTally
from sla.notify.recipients import notifications_queue
from sla.tallies import dispute_cutoff, disputes_recount, month_disputes_settled

logger = logging.getLogger(__name__)


# --- one pass: what the three month checks share -----------------------------------------

_PASS: ContextVar[dict | None] = ContextVar("month_checks_pass", default=None)


@contextmanager
def one_pass():
    """Within it (run_all_checks), the month checks read the agreements, their calendars
    and the commitments once, not once each: nothing in a pass changes them."""
    token = _PASS.set({})
    try:
        yield
    finally:
        _PASS.reset(token)


def _shared(key, compute: Callable):
    store = _PASS.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]


def _terms(at: datetime) -> MarketingTerms:
    """The marketing terms each month is measured under (sla.books), read once a pass."""
    agreements = _shared("agreements", lambda: list(Agreement.objects.select_related("calendar")))
    return _shared(("terms", at), lambda: MarketingTerms(agreements, at=at))


def _committed(agreements: list[Agreement], month: str, at: datetime) -> dict[int, int]:
    key = ("committed", month, frozenset(a.id for a in agreements))
    return _shared(
        key, lambda: committed_quotas(agreements=agreements, month=month, terms=_terms(at))
    )


def _in_effect(*, at: datetime, closed: bool) -> list[tuple[Agreement, MonthWindow]]:
    """(agreement, month) pairs in effect: this month, or the one that last closed."""
    pairs = []
    calendars: dict = {}
    for agreement in _shared(
        "agreements", lambda: list(Agreement.objects.select_related("calendar"))
    ):
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
    return pairs


# How far back a pass catches up closed months that no pass judged (checks down for years).
CATCH_UP_MONTHS = 120
# The MonthEvaluation field recording when each closed-month check judged the month.
JUDGED = {
    Flag.Kind.QUOTA_SHORTFALL: "quota_judged_at",
    Flag.Kind.QUALITY_SHORTFALL: "quality_judged_at",
}


def _unjudged(*, at: datetime, kind: str) -> list[tuple[Agreement, MonthWindow]]:
    """Closed months before the one that last closed that `kind` never judged on fresh
    counts: the checks were down when they closed (or a late change made them stale).

    From the agreement's first month (or the month it was entered, for an agreement
    backdated when it was set up) up to the month before the last closed one. In the
    steady state every such month has its judged evaluation, and the pass reads one
    query of evaluations and judges nothing more.
    """
    candidates = []
    for agreement in _shared(
        "agreements", lambda: list(Agreement.objects.select_related("calendar"))
    ):
        try:
            calendar = agreement.calendar.as_work_calendar()
            last = month_before(*month_of(calendar, at))
            begin = max(
                (agreement.effective_from.year, agreement.effective_from.month),
                month_of(calendar, agreement.created_at),
                month_add(*last, -CATCH_UP_MONTHS),
            )
            year, month = begin
            while (year, month) < last:
                if agreement.in_effect_during(year, month):
                    candidates.append((agreement, calendar, year, month))
                year, month = month_add(year, month, 1)
        except Exception:
            logger.exception("month check skipped agreement %s", agreement.id)
    if not candidates:
        return []
    ids = {agreement.id for agreement, *_ in candidates}
    judged = set(
        # Judged on the counts as they are: a recount since (a late verdict) judges again.
        MonthEvaluation.objects.filter(
            agreement__in=ids, stale=False, **{f"{JUDGED[kind]}__gte": F("counted_at")}
        ).values_list("agreement_id", "month")
    )
    # A month already flagged is settled for this kind, whatever its counts say now.
    judged |= _settled(kind, ids, at)[0]
    return [
        (agreement, month_window(calendar, year, month, at))
        for agreement, calendar, year, month in candidates
        if (agreement.id, month_name(year, month)) not in judged
    ]


def _reopenings(agreement_ids, at: datetime) -> dict[tuple[int, str], tuple[datetime, datetime]]:
    """{(agreement, month): (reopened at, closes again at)} of each month's latest
    reopening, one query; a month reopened now is judged once it closes again."""
    found: dict[tuple[int, str], tuple[datetime, datetime]] = {}
    for agreement_id, month, reopened, closes in (
        MonthReopening.objects.filter(agreement_id__in=agreement_ids, at__lte=at)
        .order_by("at")
        .values_list("agreement_id", "month", "at", "closes_at")
    ):
        found[(agreement_id, month)] = (reopened, closes)
    return found


def _settled(kind: str, agreement_ids, at: datetime) -> tuple[set, dict]:
    """(months whose `kind` flag settles them, reopened months) for these agreements.

    A month's flag settles it, whatever its counts say now; but a flag resolved by a
    reopening settles nothing: the month is judged again once it closes again (and
    while it is reopened it is not judged at all)."""
    reopened = _shared(
        ("reopened", at, frozenset(agreement_ids)), lambda: _reopenings(agreement_ids, at)
    )
    settled = set()
    for agreement_id, month, state, resolved_at in Flag.objects.filter(
        kind=kind, agreement__in=agreement_ids
    ).values_list("agreement_id", "month", "state", "resolved_at"):
        again = reopened.get((agreement_id, month))
        if again and state == Flag.State.RESOLVED and resolved_at and resolved_at >= again[0]:
            continue
        settled.add((agreement_id, month))
    settled |= {key for key, (_at, closes) in reopened.items() if closes > at}
    return settled, reopened


def _judged(pairs: list, *, kind: str, at: datetime) -> None:
    """Record that `kind` judged these closed months on the counts just kept."""
    if not pairs:
        return
    which = Q()
    for agreement, window in pairs:
        which |= Q(agreement_id=agreement.id, month=window.name)
    MonthEvaluation.objects.filter(which, stale=False).update(**{JUDGED[kind]: at})


def _windows(*, at: datetime, closed: bool, kind: str) -> list[tuple[Agreement, MonthWindow]]:
    """(agreement, month) pairs to judge: this month, or the one that last closed and
    every earlier closed month `kind` has not judged yet.

    Only agreements in effect that month, and not yet flagged with `kind` for it.
    """
    pairs = _shared(("pairs", at, closed), lambda: _in_effect(at=at, closed=closed))
    if not closed:
        flagged = set(
            Flag.objects.filter(kind=kind, agreement__in=[a.id for a, _ in pairs]).values_list(
                "agreement_id", "month"
            )
        )
        return [(a, w) for a, w in pairs if (a.id, w.name) not in flagged]
    pairs = [*pairs, *_unjudged(at=at, kind=kind)]
    settled, _ = _settled(kind, list({a.id for a, _ in pairs}), at)
    return [(a, w) for a, w in pairs if (a.id, w.name) not in settled]


def _raise_again(flags: list[Flag], *, at: datetime) -> list[Flag]:
    """The flags of reopened months that closed again still short: the flag of the first
    close (resolved by the reopening) is raised again, dated when the month closed again,
    and announced again; the others are inserted as new."""
    if not flags:
        return []
    ids = list({flag.agreement_id for flag in flags})
    reopened = _reopenings(ids, at)
    fresh, again = [], []
    for flag in flags:
        reopening = reopened.get((flag.agreement_id, flag.month))
        if reopening is None:
            fresh.append(flag)
            continue
        flag.raised_at = reopening[1]
        again.append(flag)
    raised = flags_insert(flags=fresh, at=at)
    for flag in again:
        existing = Flag.objects.filter(
            agreement_id=flag.agreement_id, month=flag.month, kind=flag.kind
        ).first()
        if existing is None:
            raised += flags_insert(flags=[flag], at=at)
            continue
        existing.state, existing.raised_at, existing.noticed_at = (
            Flag.State.OPEN,
            flag.raised_at,
            at,
        )
        existing.detail = f"{flag.detail} (after reopening)"
        existing.resolved_at, existing.resolved_by, existing.resolution_note = None, None, ""
        existing.save(
            update_fields=[
                "state",
                "raised_at",
                "noticed_at",
                "detail",
                "resolved_at",
                "resolved_by",
                "resolution_note",
            ]
        )
        notifications_queue(flags=[existing], at=at)
        raised.append(existing)
    return raised


def _live_counts(agreements: list[Agreement], window: MonthWindow, at: datetime) -> dict:
    ids = [a.id for a in agreements]
    cutoffs = {a.id: dispute_cutoff(a, at) for a in agreements}
    return marketing_counts(agreement_ids=ids, start=window.start, end=window.end, cutoffs=cutoffs)


def _judge(
    *,
    pairs: list,
    at: datetime,
    build: Callable[[Agreement, MonthWindow, dict, int], Flag | None],
    counted: Callable | None = None,
    count: Callable[[list[Agreement], MonthWindow, datetime], dict] = _live_counts,
) -> list[Flag]:
    """Count each month window's leads in one query, and build the flags that are due."""
    groups = defaultdict(list)
    for agreement, window in pairs:
        groups[(window.start, window.end, window.name)].append((agreement, window))
    flags = []
    for (_start, _end, name), members in groups.items():
        agreements = [agreement for agreement, _ in members]
        counts = count(agreements, members[0][1], at)
        committed = _committed(agreements, name, at)
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
    return _raise_again(flags, at=at)


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
    pairs = _behind_tally(pairs, at)
    flags = _judge(pairs=pairs, at=at, build=build, counted=_tally_record(at))
    return flags


def _floor(agreement: Agreement, window: MonthWindow, committed: int) -> float:
    """The fewest qualified leads that keep the month on pace (the quota_at_risk rule)."""
    tolerance = agreement.pacing_tolerance_percent
    return expected_to_date(committed, window) * (100 - tolerance) / 100


def _behind_tally(pairs: list, at: datetime) -> list:
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
        for agreement_id, quota in _committed(agreements, name, at).items():
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
    flags = _judge(pairs=pairs, at=at, build=build, count=_closed_counts)
    _judged(pairs, kind=Flag.Kind.QUOTA_SHORTFALL, at=at)
    return flags


def quality_shortfall(*, at: datetime) -> list[Flag]:
    """Once, after a month closed with acceptance under the bar (none with no verdict)."""

    def build(agreement, window, counts, committed):
        accepted, rejected = counts["accepted"], counts["rejected"]
        bar = _terms(at).of(agreement, window.year, window.month)["min_acceptance_percent"]
        if not acceptance_below_bar(accepted=accepted, rejected=rejected, min_percent=bar):
            return None
        if not month_disputes_settled(agreement, window, at):
            # Judged again on fresh counts by a later pass, once its disputes settle.
            MonthEvaluation.objects.filter(agreement=agreement, month=window.name).update(
                stale=True
            )
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

    # Months whose last dispute window ended since they were counted: counted again.
    agreements = _shared("agreements", lambda: list(Agreement.objects.select_related("calendar")))
    by_id = {a.id: a for a in agreements}
    disputes_recount(
        [
            (by_id[agreement_id], month, closes)
            for (agreement_id, month), (_, closes) in _reopenings(list(by_id), at).items()
            if agreement_id in by_id
        ],
        at=at,
    )
    pairs = _windows(at=at, closed=True, kind=Flag.Kind.QUALITY_SHORTFALL)
    disputes_recount([(a, w.name, closes_at(a, w.year, w.month)) for a, w in pairs], at=at)
    flags = _judge(pairs=pairs, at=at, build=build, count=_closed_counts)
    _judged(pairs, kind=Flag.Kind.QUALITY_SHORTFALL, at=at)
    return flags


# --- the counts of closed months, kept ---------------------------------------------------

COUNTED = ("delivered", "qualified", "accepted", "rejected")


def _as_counts(evaluation: MonthEvaluation) -> dict:
    return {
        "delivered": evaluation.delivered,
        "delivered_qualified": evaluation.qualified,
        "accepted": evaluation.accepted,
        "rejected": evaluation.rejected,
    }


def _closed_counts(agreements: list[Agreement], window: MonthWindow, at: datetime) -> dict:
    """The counts of one closed month per agreement: kept ones, else counted and kept.

    1. Read the evaluations of the month; a fresh one is the answer.
    2. For the others, upsert a stale row first: that locks it (until commit) against
       `month_evaluations_reopen`, so a change either commits before the count below
       starts (and is counted) or waits and marks the new row stale again.
    3. Count those agreements' leads in one query and store the counts, fresh.
    """
    kept = {
        e.agreement_id: e
        for e in MonthEvaluation.objects.filter(
            agreement__in=[a.id for a in agreements], month=window.name, stale=False
        )
    }
    counts = {agreement_id: _as_counts(e) for agreement_id, e in kept.items()}
    todo = sorted(a.id for a in agreements if a.id not in kept)
    if not todo:
        return counts
    with transaction.atomic():
        _evaluations_upsert([MonthEvaluation(agreement_id=i, month=window.name) for i in todo])
        cutoffs = {a.id: dispute_cutoff(a, at) for a in agreements if a.id in todo}
        live = marketing_counts(
            agreement_ids=todo, start=window.start, end=window.end, cutoffs=cutoffs
        )
        _evaluations_upsert(
            [
                MonthEvaluation(
                    agreement_id=agreement_id,
                    month=window.name,
                    stale=False,
                    delivered=live[agreement_id]["delivered"],
                    qualified=live[agreement_id]["delivered_qualified"],
                    accepted=live[agreement_id]["accepted"],
                    rejected=live[agreement_id]["rejected"],
                    counted_at=at,
                )
                for agreement_id in todo
            ]
        )
    counts.update(live)
    return counts


def _evaluations_upsert(rows: list[MonthEvaluation]) -> None:
    # In (agreement, month) order everywhere, so two writers lock rows in the same order.
    rows = sorted(rows, key=lambda e: (e.agreement_id, e.month))
    MonthEvaluation.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["agreement", "month"],
        update_fields=["stale", *COUNTED, "counted_at"],
    )


def month_evaluations_reopen(*, leads: Iterable[tuple[Agreement, datetime]], now: datetime) -> int:
    """Mark stale the evaluations of the closed months these leads belong to.

    `leads` are (agreement, received_at) of leads just delivered, given a verdict or
    otherwise changed, in the caller's transaction; the agreements' calendars should be
    loaded. Leads of the running month (the common case) cost nothing. Returns how many
    months were marked.
    """
    months = set()
    running_since: dict[int, datetime] = {}  # the running month's first instant, per agreement
    for agreement, received_at in leads:
        if agreement.id not in running_since:
            calendar = agreement.calendar.as_work_calendar()
            running_since[agreement.id] = month_bounds(calendar, *month_of(calendar, now))[0]
        if received_at < running_since[agreement.id]:  # one comparison for most leads
            months.add((agreement.id, month_text(received_at, agreement.calendar.timezone)))
    if months:
        stale = [MonthEvaluation(agreement_id=a, month=m, counted_at=now) for a, m in months]
        _evaluations_upsert(stale)
    return len(months)


def month_evaluations_reopen_all() -> int:
    """Every closed month is counted again (delivered leads were removed)."""
    return MonthEvaluation.objects.filter(stale=False).update(stale=True)
