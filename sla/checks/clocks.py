"""The clock checks: first-touch warnings, and breaches of first- and next-touch clocks.

Each pass is set-based:
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
from sla.flags import ClockFacts, at_risk_flag, breach_flag, flags_insert, stop_note
from sla.models import AT_RISK_UNCLAIMED, BREACH_UNCLAIMED, STOPPED_LATE, Clock, Flag

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
    claim = {"breached_at": F("due_at")}
    created = _flag_clocks(
        candidates=_due(kind, at),
        fields=ROW_FIELDS,
        build=lambda row: breach_flag(ClockFacts.from_row(row), at=at),
        claim=claim,
        at=at,
    )
    calendars: dict[int, WorkCalendar] = {}

    def build_late(row: dict) -> Flag:
        calendar_id = row[f"{TERMS}calendar_id"]
        if calendar_id not in calendars:
            calendars[calendar_id] = WorkCalendar.from_spec(
                row[f"{TERMS}calendar__timezone"],
                row[f"{TERMS}calendar__working_hours"],
                row[f"{TERMS}calendar__holidays"] or [],
            )
        facts = ClockFacts.from_row(row)
        return breach_flag(facts, at=at, note=stop_note(facts, calendars[calendar_id]))

    return created + _flag_clocks(
        candidates=_stopped_late(kind, at),
        fields=ROW_FIELDS + CALENDAR_FIELDS,
        build=build_late,
        claim=claim,
        at=at,
    )


def first_touch_breached(*, at: datetime) -> list[Flag]:
    """First-touch clocks whose due time passed untouched (or that stopped late unseen)."""
    return _breaches(Clock.Kind.FIRST_TOUCH, at)


def next_touch_breached(*, at: datetime) -> list[Flag]:
    """Next-touch clocks whose due time passed with no new touch (or stopped late unseen)."""
    return _breaches(Clock.Kind.NEXT_TOUCH, at)


def first_touch_at_risk(*, at: datetime) -> list[Flag]:
    """Untouched first-touch clocks past their at-risk share of the window.

    Also settles warnings whose clock has stopped since (touched in time, or closed):
    one UPDATE over the open warnings, dated when the clock stopped.
    """
    candidates = Clock.objects.filter(AT_RISK_UNCLAIMED).at_risk(at).order_by("at_risk_at")
    created = _flag_clocks(
        candidates=candidates,
        fields=ROW_FIELDS,
        build=lambda row: at_risk_flag(ClockFacts.from_row(row), at=at),
        claim={"at_risk_flagged_at": F("at_risk_at")},
        at=at,
    )
    stopped_at = Clock.objects.filter(pk=OuterRef("clock_id")).values("stopped_at")[:1]
    Flag.objects.filter(
        kind=Flag.Kind.FIRST_TOUCH_AT_RISK, state=Flag.State.OPEN, clock__state=Clock.State.STOPPED
    ).update(
        state=Flag.State.RESOLVED,
        resolved_at=Subquery(stopped_at),
        resolution_note="the first-touch clock stopped: the warning no longer applies",
    )
    return created
