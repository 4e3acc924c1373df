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
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery

from leads.models import Lead
from sla.business_time import WorkCalendar
from sla.models import Clock, Flag
from sla.services.flags import (
    CLOCK_BREACH_KINDS,
    STOP_WORDS,
    flags_insert,
    local_text,
    month_text,
    stop_note,
)

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
            team_id=row["lead__team_id"] or row[f"{TERMS}sales_team_id"],
            agreement_id=row["lead__terms__agreement_id"],
            timezone=row[f"{TERMS}calendar__timezone"],
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
    return Flag(
        kind=CLOCK_BREACH_KINDS[facts.kind],
        state=Flag.State.RESOLVED if stopped else Flag.State.OPEN,
        raised_at=facts.due_at,
        due_at=facts.due_at,
        noticed_at=at,
        lead_id=facts.lead_id,
        clock_id=facts.id,
        agreement_id=facts.agreement_id,
        month=month_text(facts.due_at, facts.timezone),
        owner_id=facts.owner_id,
        team_id=facts.team_id,
        detail=detail,
        resolved_at=facts.stopped_at,
        resolution_note=note,
    )


def at_risk_flag(facts: ClockFacts, *, at: datetime) -> Flag:
    since = local_text(facts.at_risk_at, facts.timezone)
    due = local_text(facts.due_at, facts.timezone)
    return Flag(
        kind=Flag.Kind.FIRST_TOUCH_AT_RISK,
        raised_at=facts.at_risk_at,
        due_at=facts.due_at,
        noticed_at=at,
        lead_id=facts.lead_id,
        clock_id=facts.id,
        agreement_id=facts.agreement_id,
        month=month_text(facts.at_risk_at, facts.timezone),
        owner_id=facts.owner_id,
        team_id=facts.team_id,
        detail=f"first touch due {due} ({_window_text(facts)}) untouched at risk since {since}",
    )


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
    return Clock.objects.filter(
        state=Clock.State.RUNNING, breached_at__isnull=True, due_at__lte=at, kind=kind
    ).order_by("due_at")


def _stopped_late(kind: str, at: datetime) -> QuerySet:
    # Stopped after the due time before any check saw it (the checks were down, or the
    # clock was stopped without flags_resolve_for_clock): a breach all the same.
    return Clock.objects.filter(
        state=Clock.State.STOPPED,
        breached_at__isnull=True,
        stopped_at__gt=F("due_at"),
        due_at__lte=at,
        kind=kind,
    ).order_by("due_at")


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
    candidates = Clock.objects.filter(
        kind=Clock.Kind.FIRST_TOUCH,
        state=Clock.State.RUNNING,
        at_risk_flagged_at__isnull=True,
        at_risk_at__lte=at,
    ).order_by("at_risk_at")
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
