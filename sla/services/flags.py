"""Writes on flags: raise them (with their outbox rows, in one transaction) and resolve them.

A flag is dated when the promise was broken (`raised_at`), noticed when a check or a
clock stop recorded it (`noticed_at`), never deleted, and resolved once, with a note.
The unique constraints on Flag are the last line of defence against a second copy: the
checks claim their rows first, and `flags_insert` still survives losing a race.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from sla.bulk import bulk_insert
from sla.business_time import business_minutes_between
from sla.models import Clock, Flag

logger = logging.getLogger(__name__)

# Breaches of sales' promises: the sales team's managers hear of them at once.
BREACH_KINDS = frozenset(
    {Flag.Kind.FIRST_TOUCH_BREACHED, Flag.Kind.NEXT_TOUCH_BREACHED, Flag.Kind.PREMATURE_ABANDON}
)
CLOCK_BREACH_KINDS = {
    Clock.Kind.FIRST_TOUCH: Flag.Kind.FIRST_TOUCH_BREACHED,
    Clock.Kind.NEXT_TOUCH: Flag.Kind.NEXT_TOUCH_BREACHED,
}
MONTH_KINDS = frozenset(
    {Flag.Kind.QUOTA_AT_RISK, Flag.Kind.QUOTA_SHORTFALL, Flag.Kind.QUALITY_SHORTFALL}
)
# How each clock stop_reason reads in a flag ("touched late at ...").
STOP_WORDS = {
    "touch": "touched",
    "connected": "touched",
    "rejected": "rejected",
    "abandoned": "abandoned",
    "stage_won": "won",
    "stage_lost": "lost",
}


class FlagAlreadyResolved(Exception):
    """Resolving a flag that is already resolved (the API answers 409)."""


def local_text(instant: datetime, timezone: str) -> str:
    """`Tue 1 Dec 13:00 EST`: an instant on the wall clock of a calendar, zone named."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def month_text(instant: datetime, timezone: str) -> str:
    """The YYYY-MM of an instant in a calendar's zone."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def flags_insert(*, flags: Sequence[Flag], at: datetime) -> list[Flag]:
    """Insert new flags and queue their notifications; return those actually inserted.

    One INSERT for the lot. Should a unique constraint refuse it (another worker raised
    one of them first), each flag is retried alone and the refused ones are dropped.
    """
    from sla.notify import notifications_queue  # notify reads flags; flags write them

    if not flags:
        return []
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
        notifications_queue(flags=created, at=at)
    return created


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


@transaction.atomic
def flags_resolve_for_clock(*, clock: Clock, at: datetime) -> list[Flag]:
    """Settle the flags of a clock that has just stopped; safe to call on every stop.

    1. A clock stopped after its due time that no check had flagged yet (the checks were
       down, or had not come round) is a breach all the same: claim it and raise the
       flag now, dated at the due time and already resolved, so history is complete.
    2. Resolve the clock's open flags (its breach, its at-risk warning) with a note
       saying when and how it stopped.
    Returns the flags raised or resolved.
    """
    from sla.checks.clocks import ClockFacts, breach_flag  # the checks word the flags

    clock = Clock.objects.select_related("lead__terms__agreement__calendar").get(pk=clock.pk)
    if clock.state != Clock.State.STOPPED or clock.stopped_at is None:
        return []
    late = clock.stopped_at > clock.due_at
    open_flags = list(Flag.objects.filter(clock=clock, state=Flag.State.OPEN))
    if not late and not open_flags:
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
    if claimed:
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
            team_id=clock.lead.team_id or agreement.sales_team_id,
            agreement_id=agreement.id,
            timezone=calendar.timezone,
        )
        settled += flags_insert(flags=[breach_flag(facts, at=at, note=note)], at=at)
    Flag.objects.filter(id__in=[f.id for f in open_flags], state=Flag.State.OPEN).update(
        state=Flag.State.RESOLVED, resolved_at=clock.stopped_at, resolution_note=note
    )
    return settled + open_flags
