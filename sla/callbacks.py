"""Callbacks: the prospect asked to be contacted at a later instant, so the running clock
pauses and restarts then with a fresh window.

`lead_callback` is the action (one transaction, the lead row locked, like the actions of
sla/actions.py); `callback_touch` is what a touch does to a pending callback (it keeps
it). The limits of the agreement (how far ahead, how many) are read from the lead's own
agreement version, so editing the agreement later changes no lead already delivered;
beyond them a sales manager's callback is allowed and recorded as their approval, a
rep's is refused naming the rule. A callback that is not kept needs nothing of its own:
the restarted clock runs out like any other, and the checks flag it at its due time.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.access import has_role
from accounts.models import Role, User
from calendars.engine import HORIZON_DAYS, WorkCalendar
from core.errors import RuleRefused
from core.timeparse import local_text
from leads.models import Lead
from sla.clocks import clock_restart, clock_start, clock_stop
from sla.models import Agreement, Callback, Clock, Flag
from sla.terms import sales_terms_named

PAUSED_NOTE = "paused by a callback: the first-touch window starts again at {at}"


class CallbackRefused(RuleRefused):
    """A rule refuses the callback; `rule` names it (`max_callbacks`...) for the API."""

    def __init__(self, rule: str, message: str):
        super().__init__(f"{rule}: {message}")
        self.rule = rule


@dataclass(frozen=True)
class CallbackLimits:
    max_business_days: int
    max_callbacks: int


def _default(name: str) -> int:
    return Agreement._meta.get_field(name).default


def callback_limits(terms: dict) -> CallbackLimits:
    """The limits of an agreement version's terms; versions older than the limits
    themselves hold no such keys and get the agreement's defaults."""
    days = terms.get("max_callback_business_days")
    count = terms.get("max_callbacks")
    return CallbackLimits(
        max_business_days=_default("max_callback_business_days") if days is None else days,
        max_callbacks=_default("max_callbacks") if count is None else count,
    )


def callback_latest(calendar: WorkCalendar, *, now: datetime, business_days: int) -> datetime:
    """The first instant past the limit: local midnight after the `business_days`-th
    business day following `now`'s local date (0: today only). A callback any time on
    that last business day is within the limit, whatever its working hours."""
    zone = ZoneInfo(calendar.timezone)
    ordinal = now.astimezone(zone).toordinal()
    counted = 0
    for _ in range(HORIZON_DAYS):
        if counted >= business_days:
            break
        ordinal += 1
        counted += calendar._business_day(ordinal)
    following = date.fromordinal(ordinal + 1)
    return datetime.combine(following, time(), tzinfo=zone).astimezone(UTC)


def callback_beyond(
    *, at: datetime, now: datetime, calendar: WorkCalendar, limits: CallbackLimits, count: int
) -> list[tuple[str, str]]:
    """The limits a callback at `at` goes beyond, as (rule, what it says), given the
    `count` callbacks the lead already has."""
    beyond = []
    latest = callback_latest(calendar, now=now, business_days=limits.max_business_days)
    if at >= latest:
        until = local_text(latest, calendar.timezone)
        beyond.append(
            (
                "max_callback_business_days",
                f"a callback may be at most {limits.max_business_days} business days ahead "
                f"(before {until}); a sales manager must approve a later one.",
            )
        )
    if count >= limits.max_callbacks:
        beyond.append(
            (
                "max_callbacks",
                f"the lead already has {count} callback{'s' if count != 1 else ''}, and the "
                f"agreement allows {limits.max_callbacks}; a sales manager must approve another.",
            )
        )
    return beyond


def _locked(lead: Lead) -> Lead:
    # As sla.actions locks a lead: of=("self",) since PostgreSQL cannot lock the nullable
    # side of the join to terms, NO KEY so rows pointing at the lead need not wait.
    return (
        Lead.objects.select_for_update(of=("self",), no_key=True)
        .select_related("terms__agreement__calendar", "terms__agreement_version")
        .get(pk=lead.pk)
    )


def _refuse_unless_open(lead: Lead) -> None:
    if lead.closed_at is not None:
        raise CallbackRefused(
            "lead_closed", f"the lead is closed (since {lead.closed_at.isoformat()})."
        )
    if not lead.qualifies or not hasattr(lead, "terms"):
        raise CallbackRefused(
            "lead_not_qualified", "the lead does not qualify, so no clock runs to pause."
        )


def _clock_to_pause(lead: Lead, *, now: datetime, timezone: str) -> Clock | None:
    """The running next-touch clock, else the running first-touch clock (the prospect
    asked before the first touch); None when none runs (the lead was connected).
    A clock already past due is refused: the miss stands."""
    running = {c.kind: c for c in Clock.objects.filter(lead=lead, state=Clock.State.RUNNING)}
    clock = running.get(Clock.Kind.NEXT_TOUCH) or running.get(Clock.Kind.FIRST_TOUCH)
    if clock is not None and clock.due_at <= now:
        what = clock.get_kind_display().lower()
        raise CallbackRefused(
            "clock_breached",
            f"the {what} clock ran out at {local_text(clock.due_at, timezone)}; "
            "a callback cannot pause a clock already missed.",
        )
    return clock


def _resolve_warning(clock: Clock, *, by: User, now: datetime, at: datetime, zone: str) -> None:
    # One warning per clock: at_risk_flagged_at stays, so the restarted window raises no
    # second one; the open one no longer applies.
    Flag.objects.filter(
        clock=clock, kind=Flag.Kind.FIRST_TOUCH_AT_RISK, state=Flag.State.OPEN
    ).update(
        state=Flag.State.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        resolution_note=PAUSED_NOTE.format(at=local_text(at, zone)),
    )


@transaction.atomic
def lead_callback(
    *, lead: Lead, by: User, at: datetime | None, note: str = "", now: datetime
) -> Callback:
    """The prospect asked to be contacted at `at`: pause the running clock until then.

    1. `at` must be given and after `now` (400 naming `at`); the lead must be open and
       qualify, and its running clock not past due (409 naming the rule).
    2. Beyond the lead's agreement version's limits (`max_callback_business_days` ahead,
       `max_callbacks` per lead) a rep is refused (409 naming the limit); a sales manager
       or an admin may set it, recorded in `approved_by`. The lead row is locked first,
       so two callbacks at once cannot both pass `max_callbacks`.
    3. The next-touch clock (else the first-touch clock) restarts at `at` with a fresh
       window of the lead's terms; with no clock running, a next-touch clock starts at
       `at`. The Callback row keeps what the clock was, who set it and why.
    """
    if at is None:
        raise ValidationError({"at": "Say when the prospect asked to be contacted."})
    if at <= now:
        raise ValidationError({"at": "must be after now: a callback is a later instant."})
    lead = _locked(lead)
    _refuse_unless_open(lead)
    terms = lead.terms
    calendar = terms.agreement.calendar.as_work_calendar()
    zone = calendar.timezone
    clock = _clock_to_pause(lead, now=now, timezone=zone)
    version_terms = terms.agreement_version.terms
    beyond = callback_beyond(
        at=at,
        now=now,
        calendar=calendar,
        limits=callback_limits(version_terms),
        count=Callback.objects.filter(lead=lead).count(),
    )
    if beyond and not has_role(by, Role.SALES_MANAGER):
        raise CallbackRefused(*beyond[0])
    window = sales_terms_named(version_terms, terms.tier)
    previous = (clock.started_at, clock.due_at) if clock is not None else (None, None)
    try:
        if clock is None:
            clock = clock_start(
                lead=lead,
                kind=Clock.Kind.NEXT_TOUCH,
                at=at,
                calendar=calendar,
                minutes=window.next_touch_minutes,
            )
        elif clock.kind == Clock.Kind.FIRST_TOUCH:
            clock_restart(
                clock=clock,
                at=at,
                calendar=calendar,
                minutes=window.first_touch_minutes,
                at_risk_percent=window.at_risk_percent,
            )
            _resolve_warning(clock, by=by, now=now, at=at, zone=zone)
        else:
            clock_restart(clock=clock, at=at, calendar=calendar, minutes=window.next_touch_minutes)
    except ValueError as exc:  # no working time within the engine's horizon after `at`
        raise ValidationError(
            {"at": f"no working time follows it in the calendar ({exc})."}
        ) from exc
    callback = Callback(
        lead=lead,
        clock=clock,
        kind=clock.kind,
        at=at,
        due_at=clock.due_at,
        previous_started_at=previous[0],
        previous_due_at=previous[1],
        note=(note or "").strip(),
        set_by=by,
        set_at=now,
        approved_by=by if beyond else None,
    )
    callback.full_clean()
    callback.save()
    Lead.objects.filter(pk=lead.pk).update(sla_callback_at=at)
    lead.sla_callback_at = at
    return callback


def callback_touch(*, lead: Lead, at: datetime, calendar: WorkCalendar) -> None:
    """A touch at `at` keeps the lead's pending callback (sla.actions.lead_touch calls it
    with the lead locked, before it moves the clocks).

    A clock paused until after the touch stops at the touch, in time, so the touch
    restarts the next-touch window from itself as any touch does; a touch logged from
    before the pause began (backdated behind the touch that started the paused window)
    is history and leaves the next-touch clock alone. The pending callback is cleared
    unless the touch is older than the callback itself.
    """
    if lead.sla_callback_at is None:
        return  # no callback pending: the common case costs nothing
    paused = Clock.objects.filter(lead=lead, state=Clock.State.RUNNING, started_at__gt=at)
    for clock in paused:
        # Where the window began before any callback moved it (a next-touch clock is the
        # touch's that started it): the first callback on the clock remembers it.
        first = clock.callbacks.order_by("set_at", "id").first()
        since = first.previous_started_at if first is not None else None
        if clock.kind == Clock.Kind.NEXT_TOUCH and since is not None and at < since:
            continue
        clock_stop(clock=clock, at=at, reason="touch", calendar=calendar)
    last = Callback.objects.filter(lead=lead).order_by("-set_at", "-id").first()
    if last is None or at >= last.set_at:
        Lead.objects.filter(pk=lead.pk).update(sla_callback_at=None)
        lead.sla_callback_at = None
