"""The clock checks on PostgreSQL: claim, flag and queue the outbox in one statement.

One statement per calendar time zone (usually one) and batch:
1. `candidates`: the unclaimed clocks past due (or past their at-risk time), from the
   partial indexes, locked with SKIP LOCKED, so a second worker passes them by;
2. `free`: their leads, NO KEY locked with SKIP LOCKED: a lead action under way (a
   touch about to stop the clock) is passed by rather than waited for;
3. `claimed`: `UPDATE ... RETURNING` of the clocks still unclaimed, so only what this
   claim changed is flagged;
4. `flags`: `INSERT ... ON CONFLICT DO NOTHING RETURNING`, naming the lead's owner
   when the promise broke (before any later change of hands), the text written by
   PostgreSQL in the calendar's zone (the session's, set for the statement), the same
   words as sla.flags writes them (tests/sla/test_checks_setbased.py holds them equal);
5. for breaches, their outbox rows (sla.notify.outbox.BREACH_OUTBOX), in the same
   statement. At-risk warnings wait for the team's working hours, which the calendar
   engine computes: their outbox rows are queued by sla.notify.recipients.

The portable path (sla/checks/clocks.py, used on SQLite) gives the same flags and rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.db import DatabaseError, connection, transaction
from django.db.models.base import ModelState

from sla.models import Clock, Flag
from sla.notify.outbox import BREACH_OUTBOX

logger = logging.getLogger(__name__)

BATCH = 10_000

CANDIDATES = {
    "breach": """
        SELECT c.id, c.lead_id FROM sla_clock c
        WHERE c.state = 'running' AND c.breached_at IS NULL AND c.due_at <= %(at)s
          AND c.kind = %(clock_kind)s AND {agreements}
        ORDER BY c.due_at
        LIMIT %(batch)s
        FOR NO KEY UPDATE OF c SKIP LOCKED""",
    "at_risk": """
        SELECT c.id, c.lead_id FROM sla_clock c
        WHERE c.state = 'running' AND c.at_risk_flagged_at IS NULL AND c.at_risk_at <= %(at)s
          AND c.kind = 'first_touch' AND {agreements}
        ORDER BY c.at_risk_at
        LIMIT %(batch)s
        FOR NO KEY UPDATE OF c SKIP LOCKED""",
}
# Only clocks of leads delivered under an agreement (of this zone): one index probe each.
UNDER_AGREEMENT = """EXISTS (SELECT 1 FROM sla_leadterms t WHERE t.lead_id = c.lead_id{only})"""
CLAIM = {
    "breach": "breached_at = c.due_at WHERE c.breached_at IS NULL",
    "at_risk": "at_risk_flagged_at = c.at_risk_at WHERE c.at_risk_flagged_at IS NULL",
}
RAISED = {"breach": "k.due_at", "at_risk": "k.at_risk_at"}
# breach_flag and at_risk_flag of sla.flags, in SQL (the session's zone is the calendar's).
DETAIL = {
    "breach": """%(what)s || ' due ' || to_char(k.due_at, 'Dy FMDD Mon HH24:MI TZ')
        || ' (' || k.business_minutes || %(window)s || ') passed untouched'""",
    "at_risk": """'first touch due ' || to_char(k.due_at, 'Dy FMDD Mon HH24:MI TZ')
        || ' (' || k.business_minutes || %(window)s || ') untouched at risk since '
        || to_char(k.at_risk_at, 'Dy FMDD Mon HH24:MI TZ')""",
}

STATEMENT = """
WITH candidates AS ({candidates}
), free AS (
    SELECT l.id, l.owner_id, l.team_id FROM leads_lead l
    WHERE l.id = ANY(ARRAY(SELECT lead_id FROM candidates))
    FOR NO KEY UPDATE SKIP LOCKED
), claimed AS (
    UPDATE sla_clock c SET {claim}
      AND c.id = ANY(ARRAY(SELECT k.id FROM candidates k JOIN free l ON l.id = k.lead_id))
    RETURNING c.id, c.lead_id, c.due_at, c.at_risk_at, c.business_minutes
), flags AS (
    INSERT INTO sla_flag (kind, state, raised_at, due_at, noticed_at, lead_id, clock_id,
                          agreement_id, month, owner_id, team_id, detail, resolved_at,
                          resolved_by_id, resolution_note)
    SELECT %(flag_kind)s, 'open', {raised}, k.due_at, %(at)s, k.lead_id, k.id,
           t.agreement_id, to_char({raised}, 'YYYY-MM'),
           CASE WHEN oc.found THEN oc.from_owner_id ELSE l.owner_id END,
           COALESCE(l.team_id, a.sales_team_id), {detail}, NULL, NULL, ''
    FROM claimed k
    JOIN free l ON l.id = k.lead_id
    -- The owner when the promise broke: the lead's first change of hands after it, if
    -- any (the (lead, at) index), else its owner now; as sla.flags.owners_at.
    LEFT JOIN LATERAL (
        SELECT oc.from_owner_id, true AS found FROM leads_ownerchange oc
        WHERE oc.lead_id = k.lead_id AND oc.at > {raised}
        ORDER BY oc.at, oc.id LIMIT 1
    ) oc ON true
    -- One index lookup per claimed clock, not a hash join over every terms row.
    CROSS JOIN LATERAL (
        SELECT agreement_id FROM sla_leadterms WHERE lead_id = k.lead_id OFFSET 0
    ) t
    JOIN sla_agreement a ON a.id = t.agreement_id
    ON CONFLICT DO NOTHING
    RETURNING {flag_columns}
){outbox}
SELECT s.n, {flag_select} FROM (SELECT count(*) AS n FROM candidates) s LEFT JOIN flags f ON true
"""

# Anything the statement left unclaimed (poisoned rows, rows a lead action held, clocks
# stopped late unseen)? A probe of each partial index, in its order, as the statement
# reads it: the planner reckons most clocks past due (the stopped ones are) and, asked
# EXISTS, would rather scan the table for the match it expects than walk the index.
LEFT_SQL = {
    "breach": """
        SELECT (
            SELECT id FROM sla_clock WHERE state = 'running' AND breached_at IS NULL
              AND due_at <= %(at)s AND kind = %(clock_kind)s ORDER BY due_at LIMIT 1
        ) IS NOT NULL OR (
            SELECT id FROM sla_clock WHERE state = 'stopped' AND breached_at IS NULL
              AND stopped_at > due_at AND due_at <= %(at)s AND kind = %(clock_kind)s
            ORDER BY due_at LIMIT 1
        ) IS NOT NULL""",
    "at_risk": """
        SELECT (
            SELECT id FROM sla_clock WHERE state = 'running' AND at_risk_flagged_at IS NULL
              AND kind = 'first_touch' AND at_risk_at <= %(at)s ORDER BY at_risk_at LIMIT 1
        ) IS NOT NULL OR (
            SELECT id FROM sla_clock WHERE state = 'stopped' AND at_risk_flagged_at IS NULL
              AND kind = 'first_touch' AND stopped_at >= at_risk_at AND at_risk_at <= %(at)s
            ORDER BY at_risk_at LIMIT 1
        ) IS NOT NULL""",
}

FLAG_FIELDS = list(Flag._meta.concrete_fields)
FLAG_COLUMNS = ", ".join(f.column for f in FLAG_FIELDS)
INSTANTS = [i for i, f in enumerate(FLAG_FIELDS) if f.get_internal_type() == "DateTimeField"]
INSTANT_NAMES = [FLAG_FIELDS[i].attname for i in INSTANTS]
# The session speaks the calendar's zone, and Django reads every instant as UTC: instants
# leave the statement as UTC wall time, made aware again in _flags_of.
FLAG_SELECT = ", ".join(
    f"f.{f.column} AT TIME ZONE 'UTC'" if i in INSTANTS else f"f.{f.column}"
    for i, f in enumerate(FLAG_FIELDS)
)


def _zones() -> dict[str, list[int]]:
    """Agreement ids by their calendar's time zone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cal.timezone, a.id FROM sla_agreement a"
            " JOIN sla_businesscalendar cal ON cal.id = a.calendar_id ORDER BY 1, 2"
        )
        zones: dict[str, list[int]] = {}
        for zone, agreement_id in cursor.fetchall():
            zones.setdefault(zone, []).append(agreement_id)
    return zones


def _statement(*, what: str, several_zones: bool) -> str:
    only = " AND t.agreement_id = ANY(%(agreements)s)" if several_zones else ""
    outbox = BREACH_OUTBOX if what == "breach" else ""
    return STATEMENT.format(
        candidates=CANDIDATES[what].format(agreements=UNDER_AGREEMENT.format(only=only)),
        claim=CLAIM[what],
        raised=RAISED[what],
        detail=DETAIL[what],
        flag_columns=FLAG_COLUMNS,
        flag_select=FLAG_SELECT,
        outbox=outbox,
    )


def _flags_of(rows: list[tuple]) -> list[Flag]:
    """Flags from rows in Flag's field order (after the candidate count).

    Built as Model.from_db would, without its per-field descriptor calls: a catch-up pass
    returns thousands, and a fresh instance has no cached relation to invalidate.
    """
    names = [f.attname for f in FLAG_FIELDS]
    flags = []
    for row in rows:
        if row[1] is None:
            continue
        values = dict(zip(names, row[1:], strict=True))
        for name in INSTANT_NAMES:
            if values[name] is not None:
                values[name] = values[name].replace(tzinfo=UTC)
        flag = Flag.__new__(Flag)
        flag.__dict__.update(values)
        flag._state = ModelState()
        flag._state.adding, flag._state.db = False, "default"
        flags.append(flag)
    return flags


def clocks_flag(
    *, what: str, clock_kind: str, at: datetime, queue: Callable | None = None
) -> list[Flag]:
    """Claim and flag the clocks past due ("breach") or at risk ("at_risk") as of `at`.

    Each batch is its own transaction; `queue(flags)` runs inside it (the outbox rows of
    at-risk warnings). The loop ends when a batch finds fewer than BATCH candidates.
    Returns the flags raised.
    """
    if what == "breach":
        flag_kind = (
            Flag.Kind.FIRST_TOUCH_BREACHED
            if clock_kind == Clock.Kind.FIRST_TOUCH
            else Flag.Kind.NEXT_TOUCH_BREACHED
        )
    else:
        flag_kind = Flag.Kind.FIRST_TOUCH_AT_RISK
    window = " business minutes"
    if clock_kind == Clock.Kind.NEXT_TOUCH:
        window += " after the last touch"
    params = {
        "at": at,
        "batch": BATCH,
        "clock_kind": clock_kind,
        "flag_kind": str(flag_kind),
        "kind_label": Flag.Kind(flag_kind).label,
        "what": Clock.Kind(clock_kind).label.lower(),
        "window": window,
    }
    zones = _zones()
    sql = _statement(what=what, several_zones=len(zones) > 1)
    created: list[Flag] = []
    for zone, agreements in zones.items():
        while True:
            try:
                flags, found = _batch(
                    sql, {**params, "zone": zone, "agreements": agreements}, queue
                )
            except DatabaseError:
                # A zone PostgreSQL does not know: its clocks stay unclaimed, and the
                # portable path after this one logs each of them.
                logger.exception("set-based %s check skipped the agreements in %s", what, zone)
                break
            created += flags
            if found < BATCH or not flags:
                break
    return created


def _batch(sql: str, params: dict, queue: Callable | None) -> tuple[list[Flag], int]:
    """One batch in its own transaction: (the flags raised, the candidates found)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # SET LOCAL (an error rolls the zone back with the transaction), sent with the
            # statement in one round trip; the rows are the statement's.
            cursor.execute("SELECT set_config('TimeZone', %(zone)s, true);" + sql, params)
            rows = cursor.fetchall()
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [connection.timezone_name])
        flags = _flags_of(rows)
        if queue is not None and flags:
            queue(flags)
    return flags, rows[0][0]


def clocks_left(*, what: str, clock_kind: str, at: datetime) -> bool:
    """Whether any clock is still to be claimed ("breach" or "at_risk") as of `at`."""
    with connection.cursor() as cursor:
        cursor.execute(LEFT_SQL[what], {"at": at, "clock_kind": clock_kind})
        return cursor.fetchone()[0]
