"""The clocks of a lead: start (due time computed once, stored), stop, and the status.

A clock's due time comes from the agreement's window and its business calendar at the
moment it starts; editing the calendar later moves no running deadline. The checks
(sla/checks/) only read what is stored here.
"""

from datetime import datetime

from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from calendars.engine import WorkCalendar, add_business_minutes, business_minutes_between
from leads.models import Lead
from sla.flags import flags_settle_for_clock
from sla.models import RUNNING, STOPPED_LATE, Clock


class SlaStatus:
    NOT_STARTED = "not_started"
    PENDING = "pending"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"
    CLOSED = "closed"
    ALL = (NOT_STARTED, PENDING, AT_RISK, BREACHED, MET, CLOSED)


def clock_times(
    *, calendar: WorkCalendar, at: datetime, minutes: int, at_risk_percent: int | None = None
) -> tuple[datetime, datetime | None]:
    """(due time, at-risk time) of a window of `minutes` business minutes from `at`."""
    due_at = add_business_minutes(calendar, at, minutes)
    at_risk_at = None
    if at_risk_percent is not None and 0 < at_risk_percent < 100:
        at_risk_at = add_business_minutes(calendar, at, minutes * at_risk_percent / 100)
    return due_at, at_risk_at


def clock_start(
    *,
    lead: Lead,
    kind: str,
    at: datetime,
    calendar: WorkCalendar,
    minutes: int,
    at_risk_percent: int | None = None,
) -> Clock:
    due_at, at_risk_at = clock_times(
        calendar=calendar, at=at, minutes=minutes, at_risk_percent=at_risk_percent
    )
    clock = Clock.objects.create(
        lead=lead,
        kind=kind,
        started_at=at,
        due_at=due_at,
        at_risk_at=at_risk_at,
        business_minutes=minutes,
    )
    clocks_summarise(lead_ids=[lead.pk])
    return clock


def clock_restart(
    *,
    clock: Clock,
    at: datetime,
    calendar: WorkCalendar,
    minutes: int,
    at_risk_percent: int | None = None,
) -> bool:
    """Start a running clock's window again at `at` (a callback pauses it until then).

    The row keeps its id (its flags and callbacks point at it); its start, due and at-risk
    times move, computed once as when a clock starts, and the lead's summary follows.
    Returns False when the clock was no longer running.
    """
    due_at, at_risk_at = clock_times(
        calendar=calendar, at=at, minutes=minutes, at_risk_percent=at_risk_percent
    )
    moved = Clock.objects.filter(pk=clock.pk, state=Clock.State.RUNNING).update(
        started_at=at, due_at=due_at, at_risk_at=at_risk_at, business_minutes=minutes
    )
    if not moved:
        return False
    clock.started_at, clock.due_at, clock.at_risk_at = at, due_at, at_risk_at
    clock.business_minutes = minutes
    clocks_summarise(lead_ids=[clock.lead_id])
    return True


def clock_stop(
    *, clock: Clock, at: datetime, reason: str, calendar: WorkCalendar | None = None
) -> bool:
    """Stop a running clock at `at` and settle its flags at once: an at-risk warning on a
    clock touched in time resolves now, and a late stop records and resolves its breach.

    Returns False when the clock was no longer running (someone else stopped it).
    """
    minutes = None
    if calendar is not None and reason in Clock.TOUCH_STOPS:
        minutes = int(business_minutes_between(calendar, clock.started_at, at))
    stopped = Clock.objects.filter(pk=clock.pk, state=Clock.State.RUNNING).update(
        state=Clock.State.STOPPED, stopped_at=at, stop_reason=reason, touch_minutes=minutes
    )
    if not stopped:
        return False
    clock.state, clock.stopped_at, clock.stop_reason = Clock.State.STOPPED, at, reason
    clock.touch_minutes = minutes
    clocks_summarise(lead_ids=[clock.lead_id])
    flags_settle_for_clock(clock=clock, at=at)
    return True


def clocks_summarise(*, lead_ids) -> int:
    """Write the summary of the leads' clocks on the leads themselves, in one UPDATE.

    The summary is derived from the clocks (never counted up), so writing it again is
    harmless; `with_sla_status` reads it and tests/sla/test_sla_status_rule.py holds it
    equal to `sla_status` computed from the clocks themselves.
    """
    clocks = Clock.objects.filter(lead=OuterRef("pk"))
    first = clocks.filter(kind=Clock.Kind.FIRST_TOUCH).order_by("-started_at", "-id")
    first_state = first.annotate(
        summary=Case(
            When(RUNNING, then=Value("running")),
            When(STOPPED_LATE, then=Value("late")),
            default=Value("kept"),
        )
    )
    running = clocks.running().order_by("due_at")
    return Lead.objects.filter(pk__in=lead_ids).update(
        sla_first_due_at=Subquery(first.values("due_at")[:1]),
        sla_first_at_risk_at=Subquery(first.values("at_risk_at")[:1]),
        sla_first_state=Coalesce(Subquery(first_state.values("summary")[:1]), Value("")),
        sla_next_touch_due_at=Subquery(
            running.filter(kind=Clock.Kind.NEXT_TOUCH).values("due_at")[:1]
        ),
        sla_due_at=Subquery(running.values("due_at")[:1]),
    )


def clocks_stop_all(*, lead: Lead, at: datetime, reason: str) -> int:
    stopped = 0
    for clock in Clock.objects.filter(lead=lead, state=Clock.State.RUNNING):
        stopped += clock_stop(clock=clock, at=at, reason=reason)
    return stopped


def running_clock(*, lead: Lead, kind: str) -> Clock | None:
    return Clock.objects.filter(lead=lead, kind=kind, state=Clock.State.RUNNING).first()


def sla_status(*, lead: Lead, clocks: list[Clock], now: datetime) -> str:
    """The status of the contract, from the lead and its clocks as of `now`.

    1. A lead that does not qualify has no clock: not_started.
    2. Rejected, abandoned, won or lost: closed.
    3. A first touch that came late (or not at all by its due time), or a running
       next-touch clock past due: breached.
    4. An untouched lead past the at-risk share of its window: at_risk; before: pending.
    5. Otherwise the lead was touched in time and nothing runs late: met.
    """
    if not lead.qualifies:
        return SlaStatus.NOT_STARTED
    if lead.closed_at is not None:
        return SlaStatus.CLOSED
    first = [c for c in clocks if c.kind == Clock.Kind.FIRST_TOUCH]
    nexts = [
        c for c in clocks if c.kind == Clock.Kind.NEXT_TOUCH and c.state == Clock.State.RUNNING
    ]
    if any(c.is_late(now) for c in first) or any(now >= c.due_at for c in nexts):
        return SlaStatus.BREACHED
    running_first = [c for c in first if c.state == Clock.State.RUNNING]
    if running_first:
        if any(c.at_risk_at is not None and now >= c.at_risk_at for c in running_first):
            return SlaStatus.AT_RISK
        return SlaStatus.PENDING
    return SlaStatus.MET


def with_sla_status(queryset: QuerySet, *, now: datetime) -> QuerySet:
    """Annotate `sla_status` on a Lead queryset with the rules of `sla_status`, in SQL,
    from the clock summary on the lead's own row (no join, no subquery per clock)."""
    running = Q(sla_first_state="running")
    late = (
        Q(sla_first_state="late")
        | (running & Q(sla_first_due_at__lte=now))
        | Q(sla_next_touch_due_at__lte=now)
    )
    return queryset.annotate(
        sla_status=Case(
            When(qualifies=False, then=Value(SlaStatus.NOT_STARTED)),
            When(closed_at__isnull=False, then=Value(SlaStatus.CLOSED)),
            When(late, then=Value(SlaStatus.BREACHED)),
            When(running & Q(sla_first_at_risk_at__lte=now), then=Value(SlaStatus.AT_RISK)),
            When(running, then=Value(SlaStatus.PENDING)),
            default=Value(SlaStatus.MET),
        )
    )
