"""The clock checks: first-touch warnings, and breaches of first- and next-touch clocks.

On PostgreSQL a pass is a probe of the partial indexes (nothing due: done), then one
statement per batch that claims, flags and queues the outbox (sla/checks/setbased.py);
what it leaves (clocks stopped late unseen, poisoned rows, rows a lead action held) goes
through the portable path below, which SQLite always uses and which is the per-row
reference the tests hold the statement equal to:
1. select the candidate clocks with one indexed query (the partial indexes
   `clock_due_unflagged` and `clock_at_risk_unflagged`), locking them and their leads with
   SKIP LOCKED on PostgreSQL, so a second worker, or a lead action under way, is passed by
   rather than waited for;
2. build each flag in Python; a row whose flag cannot be built is logged and left
   unclaimed, to be tried again by the next pass;
3. claim the built ones with one conditional UPDATE (`breached_at = due_at`), and insert
   their flags and notifications with one INSERT each, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery

from calendars.engine import WorkCalendar
from leads.models import Lead
from sla.checks.setbased import clocks_flag, clocks_left
from sla.flags import (
    ClockFacts,
    at_risk_flag,
    breach_flag,
    flags_insert,
    stop_note,
    warnings_supersede,
)
from sla.models import (
    AT_RISK_UNCLAIMED,
    BREACH_UNCLAIMED,
    STOPPED_LATE,
    STOPPED_PAST_RISK,
    Clock,
    Flag,
)
from sla.notify.recipients import notifications_queue

logger = logging.getLogger(__name__)

BATCH = 10_000
TERMS = "lead__terms__agreement__"
ROW_FIELDS = (
    "id",
    "lead_id",
    "kind",
    "due_at",
    "at_risk_at",
    "business_minutes",
    "stopped_at",
    "stop_reason",
    "lead__owner_id",
    "lead__team_id",
    "lead__terms__agreement_id",
    f"{TERMS}sales_team_id",
    f"{TERMS}calendar_id",
    f"{TERMS}calendar__timezone",
)
CALENDAR_FIELDS = (f"{TERMS}calendar__working_hours", f"{TERMS}calendar__holidays")


def _flag_clocks(
    *, candidates: QuerySet, fields: tuple, build: Callable, claim: dict, at: datetime
) -> list[Flag]:
    """Claim and flag the candidate clocks, BATCH at a time (see the module docstring)."""
    created: list[Flag] = []
    claimed_field = next(iter(claim))
    while True:
        with transaction.atomic():
            locked = candidates.select_for_update(skip_locked=True, no_key=True, of=("self",))
            selected = list(locked.values(*fields)[:BATCH])
            rows = _with_free_leads(selected)
            flags = []
            for row in rows:
                try:
                    flags.append(build(row))
                except Exception:
                    logger.exception("check skipped clock %s: its flag could not be built", row)
            if flags:
                Clock.objects.filter(
                    id__in=[flag.clock_id for flag in flags], **{f"{claimed_field}__isnull": True}
                ).update(**claim)
                created += flags_insert(flags=flags, at=at)
        if len(selected) < BATCH or not flags:
            return created


def _with_free_leads(rows: list[dict]) -> list[dict]:
    """The rows whose lead is not held by a lead action under way, with their leads locked.

    That action (a touch, say) is about to stop the clock: it is passed by rather than
    waited for, as waiting on each other's rows could deadlock. NO KEY locks leave the
    rows' keys free for the new flags' foreign keys. Nothing to lock off PostgreSQL.
    """
    if not rows or not connection.features.has_select_for_update_skip_locked:
        return rows
    leads = Lead.objects.filter(id__in={row["lead_id"] for row in rows})
    free = set(leads.select_for_update(skip_locked=True, no_key=True).values_list("id", flat=True))
    return [row for row in rows if row["lead_id"] in free]


def _due(kind: str, at: datetime) -> QuerySet:
    # Matches the partial index clock_due_unflagged (state = running, breached_at null).
    unclaimed = Clock.objects.filter(BREACH_UNCLAIMED, kind=kind)
    return unclaimed.overdue(at).order_by("due_at")


def _stopped_late(kind: str, at: datetime) -> QuerySet:
    # Stopped after the due time before any check saw it (the checks were down, or the
    # clock was stopped without flags_settle_for_clock): a breach all the same.
    unclaimed = Clock.objects.filter(BREACH_UNCLAIMED, STOPPED_LATE, kind=kind)
    return unclaimed.filter(due_at__lte=at).order_by("due_at")


def _breaches(kind: str, at: datetime) -> list[Flag]:
    """The breach claim of the portable path (SQLite, and the reference in the tests)."""
    claim = {"breached_at": F("due_at")}
    created = _flag_clocks(
        candidates=_due(kind, at),
        fields=ROW_FIELDS,
        build=lambda row: breach_flag(ClockFacts.from_row(row), at=at),
        claim=claim,
        at=at,
    )
    note = _stop_notes()
    return created + _flag_clocks(
        candidates=_stopped_late(kind, at),
        fields=ROW_FIELDS + CALENDAR_FIELDS,
        build=lambda row: breach_flag(ClockFacts.from_row(row), at=at, note=note(row)),
        claim=claim,
        at=at,
    )


def _stop_notes() -> Callable[[dict], str]:
    """How a stopped clock's row stopped, in words (sla.flags.stop_note), each calendar
    built once."""
    calendars: dict[int, WorkCalendar] = {}

    def note(row: dict) -> str:
        calendar_id = row[f"{TERMS}calendar_id"]
        if calendar_id not in calendars:
            calendars[calendar_id] = WorkCalendar.from_spec(
                row[f"{TERMS}calendar__timezone"],
                row[f"{TERMS}calendar__working_hours"],
                row[f"{TERMS}calendar__holidays"] or [],
            )
        return stop_note(ClockFacts.from_row(row), calendars[calendar_id])

    return note


def _set_based() -> bool:
    return connection.vendor == "postgresql"


def _breaches_set_based(kind: str, at: datetime) -> list[Flag]:
    # Nothing due is the common case: one probe of the partial indexes, and done.
    if not clocks_left(what="breach", clock_kind=kind, at=at):
        return []
    # A first-touch breach supersedes the clock's at-risk warning, in the same transaction.
    created = clocks_flag(what="breach", clock_kind=kind, at=at, queue=warnings_supersede)
    # Left unclaimed: clocks stopped late unseen (the checks were down; the note needs the
    # calendar engine), poisoned rows (to log), rows a lead action held. Rare: the same
    # probe, and the portable path only when it finds any.
    if clocks_left(what="breach", clock_kind=kind, at=at):
        created += _breaches(kind, at)
    return created


def first_touch_breached(*, at: datetime) -> list[Flag]:
    """First-touch clocks whose due time passed untouched (or that stopped late unseen)."""
    if _set_based():
        return _breaches_set_based(Clock.Kind.FIRST_TOUCH, at)
    return _breaches(Clock.Kind.FIRST_TOUCH, at)


def next_touch_breached(*, at: datetime) -> list[Flag]:
    """Next-touch clocks whose due time passed with no new touch (or stopped late unseen)."""
    if _set_based():
        return _breaches_set_based(Clock.Kind.NEXT_TOUCH, at)
    return _breaches(Clock.Kind.NEXT_TOUCH, at)


def at_risk_portable(at: datetime) -> list[Flag]:
    """The at-risk claim of the portable path (SQLite, and the reference in the tests)."""
    candidates = Clock.objects.filter(AT_RISK_UNCLAIMED).at_risk(at).order_by("at_risk_at")
    claim = {"at_risk_flagged_at": F("at_risk_at")}
    created = _flag_clocks(
        candidates=candidates,
        fields=ROW_FIELDS,
        build=lambda row: at_risk_flag(ClockFacts.from_row(row), at=at),
        claim=claim,
        at=at,
    )
    # Stopped past the at-risk time before any check warned of it (the checks were down,
    # or the clock was stopped without flags_settle_for_clock): warned all the same,
    # resolved already. The partial index clock_late_warning_unflagged finds them.
    stopped = Clock.objects.filter(AT_RISK_UNCLAIMED, STOPPED_PAST_RISK, at_risk_at__lte=at)
    note = _stop_notes()
    return created + _flag_clocks(
        candidates=stopped.order_by("at_risk_at"),
        fields=ROW_FIELDS + CALENDAR_FIELDS,
        build=lambda row: at_risk_flag(ClockFacts.from_row(row), at=at, note=note(row)),
        claim=claim,
        at=at,
    )


def first_touch_at_risk(*, at: datetime) -> list[Flag]:
    """Untouched first-touch clocks past their at-risk share of the window.

    Also settles warnings whose clock has stopped since (touched in time, or closed):
    one UPDATE over the open warnings, dated when the clock stopped.
    """
    if _set_based():
        created = []
        if clocks_left(what="at_risk", clock_kind=Clock.Kind.FIRST_TOUCH, at=at):
            created = clocks_flag(
                what="at_risk",
                clock_kind=Clock.Kind.FIRST_TOUCH,
                at=at,
                queue=lambda flags: notifications_queue(flags=flags, at=at),
            )
            if clocks_left(what="at_risk", clock_kind=Clock.Kind.FIRST_TOUCH, at=at):
                created += at_risk_portable(at)  # poisoned rows to log, rows held by an action
    else:
        created = at_risk_portable(at)
    _settle_stopped_warnings()
    return created


RESOLVED_NOTE = "the first-touch clock stopped: the warning no longer applies"
# Open warnings (the index on state and kind), each clock by its key: no ORM compile.
SETTLE_SQL = """
UPDATE sla_flag f SET state = 'resolved', resolved_at = c.stopped_at, resolution_note = %s
FROM sla_clock c
WHERE f.kind = 'first_touch_at_risk' AND f.state = 'open' AND c.id = f.clock_id
  AND c.state = 'stopped'
"""


def _settle_stopped_warnings() -> None:
    """Resolve warnings whose clock stopped since (touched in time, or closed), dated
    when it stopped; clock_stop settles them itself, this is the backstop."""
    if _set_based():
        with connection.cursor() as cursor:
            cursor.execute(SETTLE_SQL, [RESOLVED_NOTE])
        return
    stopped_at = Clock.objects.filter(pk=OuterRef("clock_id")).values("stopped_at")[:1]
    Flag.objects.filter(
        kind=Flag.Kind.FIRST_TOUCH_AT_RISK, state=Flag.State.OPEN, clock__state=Clock.State.STOPPED
    ).update(
        state=Flag.State.RESOLVED,
        resolved_at=Subquery(stopped_at),
        resolution_note=RESOLVED_NOTE,
    )
