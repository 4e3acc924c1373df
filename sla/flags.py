"""Flags: what each says, raising them (with their outbox rows, in one transaction),
resolving and settling them.

A flag is dated when the promise was broken (`raised_at`), noticed when a check or a
clock stop recorded it (`noticed_at`), never deleted, and resolved once, with a note.
The unique constraints on Flag are the last line of defence against a second copy: the
checks claim their rows first, and `flags_insert` still survives losing a race.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery

from calendars.engine import business_minutes_between
from core.bulk import bulk_insert
from core.errors import RuleRefused
from core.timeparse import local_text, month_text
from leads.models import OwnerChange
from sla.models import Clock, Flag
from sla.notify.recipients import notifications_queue

logger = logging.getLogger(__name__)

BREACH_KINDS = Flag.BREACH_KINDS
MONTH_KINDS = Flag.MONTH_KINDS
CLOCK_BREACH_KINDS = {
    Clock.Kind.FIRST_TOUCH: Flag.Kind.FIRST_TOUCH_BREACHED,
    Clock.Kind.NEXT_TOUCH: Flag.Kind.NEXT_TOUCH_BREACHED,
}
# How each clock stop_reason reads in a flag ("touched late at ...").
STOP_WORDS = {
    "touch": "touched",
    "connected": "touched",
    "rejected": "rejected",
    "abandoned": "abandoned",
    "stage_won": "won",
    "stage_lost": "lost",
}


class FlagAlreadyResolved(RuleRefused):
    """Resolving a flag that is already resolved (the API answers 409)."""


def flags_insert(*, flags: Sequence[Flag], at: datetime) -> list[Flag]:
    """Insert new flags and queue their notifications; return those actually inserted.

    One INSERT for the lot. Should a unique constraint refuse it (another worker raised
    one of them first), each flag is retried alone and the refused ones are dropped.
    """
    if not flags:
        return []
    _name_owners_then(flags)
    columns = [f.attname for f in Flag._meta.concrete_fields if not f.primary_key]
    with transaction.atomic():
        try:
            with transaction.atomic():
                rows = [{name: getattr(flag, name) for name in columns} for flag in flags]
                ids = bulk_insert(Flag, rows, returning_ids=True)
                for flag, flag_id in zip(flags, ids, strict=True):
                    flag.id = flag_id
                    flag._state.adding, flag._state.db = False, "default"
                created = list(flags)
        except IntegrityError:
            created = []
            for flag in flags:
                try:
                    with transaction.atomic():
                        flag.save(force_insert=True)
                    created.append(flag)
                except IntegrityError:
                    logger.info("flag %s of clock %s already raised", flag.kind, flag.clock_id)
        warnings_supersede(created)
        # A flag resolved already when noticed (a clock stopped late during an outage)
        # is recorded, not announced: nobody needs telling of what is over.
        notifications_queue(flags=[f for f in created if f.state == Flag.State.OPEN], at=at)
    return created


SUPERSEDED_NOTE = "the first-touch due time passed: the breach follows it"


def warnings_supersede(flags: Sequence[Flag]) -> int:
    """The at-risk warnings still open at the due time of their clock's first-touch
    breach, among `flags`, are superseded by it: resolved, dated at its due time, linked
    to it (one UPDATE). A warning raised resolved at that due time (the clock stopped
    late unseen, sla.flags.at_risk_flag) is linked the same way. Returns how many."""
    clocks = [f.clock_id for f in flags if f.kind == Flag.Kind.FIRST_TOUCH_BREACHED]
    if not clocks:
        return 0
    breach = Flag.objects.filter(clock_id=OuterRef("clock_id"), kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    due = Subquery(breach.values("raised_at")[:1])
    return Flag.objects.filter(
        Q(state=Flag.State.OPEN) | Q(resolved_at__gte=due),
        clock_id__in=clocks,
        kind=Flag.Kind.FIRST_TOUCH_AT_RISK,
        superseded_by__isnull=True,
    ).update(
        state=Flag.State.RESOLVED,
        resolved_at=Subquery(breach.values("raised_at")[:1]),
        superseded_by=Subquery(breach.values("id")[:1]),
        resolution_note=SUPERSEDED_NOTE,
    )


def _name_owners_then(flags: Sequence[Flag]) -> None:
    """A lead's flag names whoever owned the lead when the promise was broken (its
    `raised_at`), not whoever holds it now: the lead may have moved since (a rep away,
    a manager's reassignment). sla/checks/setbased.py says the same in SQL."""
    about_leads = [flag for flag in flags if flag.lead_id is not None]
    then = owners_at((flag.lead_id, flag.raised_at) for flag in about_leads)
    for flag in about_leads:
        key = (flag.lead_id, flag.raised_at)
        if key in then:
            flag.owner_id = then[key]


def flag_team(lead_team_id: int | None, sales_team_id: int) -> int:
    """The team a lead's flag belongs to: the lead's team, else its agreement's sales team."""
    return lead_team_id or sales_team_id


# --- what a clock's flag says ------------------------------------------------------------


@dataclass(frozen=True)
class ClockFacts:
    """What a flag about a clock says: the clock, its lead's owner and its agreement."""

    id: int
    lead_id: int
    kind: str
    due_at: datetime
    at_risk_at: datetime | None
    business_minutes: int
    stopped_at: datetime | None
    stop_reason: str
    owner_id: int | None
    team_id: int | None
    agreement_id: int
    timezone: str

    @classmethod
    def from_row(cls, row: dict) -> ClockFacts:
        if row["lead__terms__agreement_id"] is None:
            raise ValueError(f"lead {row['lead_id']} was delivered under no agreement")
        return cls(
            id=row["id"],
            lead_id=row["lead_id"],
            kind=row["kind"],
            due_at=row["due_at"],
            at_risk_at=row["at_risk_at"],
            business_minutes=row["business_minutes"],
            stopped_at=row["stopped_at"],
            stop_reason=row["stop_reason"],
            owner_id=row["lead__owner_id"],
            team_id=flag_team(row["lead__team_id"], row["lead__terms__agreement__sales_team_id"]),
            agreement_id=row["lead__terms__agreement_id"],
            timezone=row["lead__terms__agreement__calendar__timezone"],
        )


def _window_text(facts: ClockFacts) -> str:
    if facts.kind == Clock.Kind.NEXT_TOUCH:
        return f"{facts.business_minutes} business minutes after the last touch"
    return f"{facts.business_minutes} business minutes"


def breach_flag(facts: ClockFacts, *, at: datetime, note: str = "") -> Flag:
    """The breach of a clock, dated at its due time; resolved already if it has stopped."""
    what = Clock.Kind(facts.kind).label.lower()
    due = local_text(facts.due_at, facts.timezone)
    detail = f"{what} due {due} ({_window_text(facts)}) passed"
    stopped = facts.stopped_at is not None
    if stopped:
        how = STOP_WORDS.get(facts.stop_reason, f"stopped ({facts.stop_reason})")
        detail += f"; {how} late at {local_text(facts.stopped_at, facts.timezone)}"
    else:
        detail += " untouched"
    return _clock_flag(
        facts,
        kind=CLOCK_BREACH_KINDS[facts.kind],
        raised_at=facts.due_at,
        at=at,
        detail=detail,
        state=Flag.State.RESOLVED if stopped else Flag.State.OPEN,
        resolved_at=facts.stopped_at,
        resolution_note=note,
    )


def at_risk_flag(facts: ClockFacts, *, at: datetime, note: str = "") -> Flag:
    """The at-risk warning of a first-touch clock, dated at its at-risk time; resolved
    already if the clock has stopped (the checks were down when it passed): when it
    stopped, or at the due time when it stopped late (its breach supersedes it)."""
    since = local_text(facts.at_risk_at, facts.timezone)
    due = local_text(facts.due_at, facts.timezone)
    detail = f"first touch due {due} ({_window_text(facts)}) untouched at risk since {since}"
    fields = {}
    if facts.stopped_at is not None:
        late = facts.stopped_at > facts.due_at
        fields = {
            "state": Flag.State.RESOLVED,
            "resolved_at": facts.due_at if late else facts.stopped_at,
            "resolution_note": SUPERSEDED_NOTE if late else note,
        }
    return _clock_flag(
        facts,
        kind=Flag.Kind.FIRST_TOUCH_AT_RISK,
        raised_at=facts.at_risk_at,
        at=at,
        detail=detail,
        **fields,
    )


def _clock_flag(facts: ClockFacts, *, kind: str, raised_at: datetime, at: datetime, **fields):
    """A flag about a clock, dated `raised_at` (when the promise broke), in its month."""
    return Flag(
        kind=kind,
        raised_at=raised_at,
        due_at=facts.due_at,
        noticed_at=at,
        lead_id=facts.lead_id,
        clock_id=facts.id,
        agreement_id=facts.agreement_id,
        month=month_text(raised_at, facts.timezone),
        owner_id=facts.owner_id,
        team_id=facts.team_id,
        **fields,
    )


# --- leads no rep was free to take ----------------------------------------------------------


def unassigned_flag(
    *, lead_id: int, agreement, team, received_at: datetime, due_at: datetime | None, at
) -> Flag:
    """No rep of the team was free (away, or at their cap) when the lead arrived: it waits
    in the team's manager queue, its clocks running. Dated when it arrived."""
    zone = agreement.calendar.timezone
    detail = (
        f"no rep of {team.name} was free when the lead arrived at "
        f"{local_text(received_at, zone)} (away or at their cap); it waits in the manager queue"
    )
    if due_at is not None:
        detail += f", first touch due {local_text(due_at, zone)}"
    return Flag(
        kind=Flag.Kind.UNASSIGNED,
        raised_at=received_at,
        due_at=due_at,
        noticed_at=at,
        lead_id=lead_id,
        agreement_id=agreement.pk,
        month=month_text(received_at, zone),
        owner_id=None,
        team_id=team.pk,
        detail=detail,
    )


def unassigned_resolve(*, lead_ids, at: datetime, by=None, note: str) -> int:
    """Resolve the open `unassigned` flags of leads that have just been given an owner."""
    return Flag.objects.filter(
        lead_id__in=list(lead_ids), kind=Flag.Kind.UNASSIGNED, state=Flag.State.OPEN
    ).update(state=Flag.State.RESOLVED, resolved_at=at, resolved_by=by, resolution_note=note)


def owners_at(pairs) -> dict[tuple[int, datetime], int | None]:
    """{(lead id, instant): who owned the lead then} for leads that changed hands after
    the instant: the `from_owner` of the first OwnerChange after it. A pair missing from
    the answer had no change since: its owner is the lead's current one. One query."""
    pairs = set(pairs)
    if not pairs:
        return {}
    since = min(instant for _, instant in pairs)
    lead_ids = {lead_id for lead_id, _ in pairs}
    query = Q(lead_id__in=lead_ids, at__gt=since)
    changes: dict[int, list] = {}
    rows = OwnerChange.objects.filter(query).order_by("lead_id", "at", "id")
    for lead_id, changed_at, from_owner_id in rows.values_list("lead_id", "at", "from_owner_id"):
        changes.setdefault(lead_id, []).append((changed_at, from_owner_id))
    found = {}
    for lead_id, instant in pairs:
        after = next((c for c in changes.get(lead_id, ()) if c[0] > instant), None)
        if after is not None:
            found[(lead_id, instant)] = after[1]
    return found


# --- writes ------------------------------------------------------------------------------


def flag_resolve(*, flag: Flag, by, note: str, at: datetime) -> Flag:
    """Resolve an open flag with a note saying why; a flag is resolved only once."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ["Say how the flag was resolved."]})
    changed = Flag.objects.filter(id=flag.id, state=Flag.State.OPEN).update(
        state=Flag.State.RESOLVED, resolved_at=at, resolved_by=by, resolution_note=note
    )
    if changed != 1:
        raise FlagAlreadyResolved(f"Flag {flag.id} is already resolved.")
    flag.refresh_from_db()
    return flag


def stop_note(clock, calendar) -> str:
    """`touched late at Tue 1 Dec 14:10 EST (70 business minutes late)` and the like.

    `clock` is a Clock or anything with its due_at, stopped_at, stop_reason, timezone.
    """
    what = STOP_WORDS.get(clock.stop_reason, f"stopped ({clock.stop_reason or 'closed'})")
    when = local_text(clock.stopped_at, calendar.timezone)
    if clock.stopped_at <= clock.due_at:
        return f"{what} at {when}, before the due time"
    late = int(business_minutes_between(calendar, clock.due_at, clock.stopped_at))
    return f"{what} late at {when} ({late} business minutes late)"


def _in_time(clock: Clock) -> bool:
    return clock.stopped_at is not None and clock.stopped_at <= clock.due_at


def _warning_missed(clock: Clock) -> bool:
    """A first-touch clock stopped past its at-risk time that no check had warned of (the
    checks were down): its warning is raised all the same, resolved already."""
    return (
        clock.kind == Clock.Kind.FIRST_TOUCH
        and clock.at_risk_at is not None
        and clock.at_risk_flagged_at is None
        and clock.stopped_at is not None
        and clock.stopped_at >= clock.at_risk_at
    )


@transaction.atomic
def flags_settle_for_clock(*, clock: Clock, at: datetime) -> list[Flag]:
    """Settle the flags of a clock that has just stopped; safe to call on every stop.

    1. A clock stopped after its due time that no check had flagged yet (the checks were
       down, or had not come round) is a breach all the same: claim it and raise the
       flag now, dated at the due time and already resolved, so history is complete.
    2. Resolve the clock's open flags (its breach, its at-risk warning) with a note
       saying when and how it stopped.
    Returns the flags raised or resolved.
    """
    open_flags = list(Flag.objects.filter(clock_id=clock.pk, state=Flag.State.OPEN))
    if not open_flags and _in_time(clock) and not _warning_missed(clock):
        return []  # stopped in time with nothing to settle: the common case, one query
    clock = Clock.objects.select_related("lead__terms__agreement__calendar").get(pk=clock.pk)
    if clock.state != Clock.State.STOPPED or clock.stopped_at is None:
        return []
    late = clock.stopped_at > clock.due_at
    if not late and not open_flags and not _warning_missed(clock):
        return []
    terms = getattr(clock.lead, "terms", None)
    if terms is None:
        logger.error("clock %s stopped on lead %s with no agreement", clock.id, clock.lead_id)
        return []
    agreement = terms.agreement
    calendar = agreement.calendar.as_work_calendar()
    note = stop_note(clock, calendar)
    settled: list[Flag] = []
    claimed = late and Clock.objects.filter(id=clock.id, breached_at__isnull=True).update(
        breached_at=F("due_at")
    )
    warn = _warning_missed(clock) and Clock.objects.filter(
        id=clock.id, at_risk_flagged_at__isnull=True
    ).update(at_risk_flagged_at=F("at_risk_at"))
    if claimed or warn:
        facts = ClockFacts(
            id=clock.id,
            lead_id=clock.lead_id,
            kind=clock.kind,
            due_at=clock.due_at,
            at_risk_at=clock.at_risk_at,
            business_minutes=clock.business_minutes,
            stopped_at=clock.stopped_at,
            stop_reason=clock.stop_reason,
            owner_id=clock.lead.owner_id,
            team_id=flag_team(clock.lead.team_id, agreement.sales_team_id),
            agreement_id=agreement.id,
            timezone=calendar.timezone,
        )
        # The warning first, so that the breach, raised after it, supersedes it.
        if warn:
            settled += flags_insert(flags=[at_risk_flag(facts, at=at, note=note)], at=at)
        if claimed:
            settled += flags_insert(flags=[breach_flag(facts, at=at, note=note)], at=at)
    Flag.objects.filter(id__in=[f.id for f in open_flags], state=Flag.State.OPEN).update(
        state=Flag.State.RESOLVED, resolved_at=clock.stopped_at, resolution_note=note
    )
    return settled + open_flags
