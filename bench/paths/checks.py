"""Path 6: a pass of the checks, against the best hand-written SQL for the same flagging.

With 10,000 first-touch clocks due (of 200,000 running, among 1,000,000 leads at
scale 1), `sla.checks.run_all_checks(at=...)` (every check, in one call, as beat runs it)
against HAND_SQL: one statement that claims the clocks, inserts the flags and the
outbox rows. Both run on the same state inside a transaction that is rolled back; the
pass is the steady one, the closed month already judged (see `steady_pass`).
Target: 2x or less. Then, with everything flagged (inside one transaction, rolled back
at the end), a pass that finds nothing to do: target under 20 ms for all checks
together; each check's share and the EXPLAIN of the candidate queries are kept.
"""

from __future__ import annotations

from bench.common import median as median_of
from bench.common import ms, p95, ratio, rolled_back, row, timed

NAME = "checks"
ROWS = {
    "checks_due": ("ms", "<= 2x hand SQL"),
    "checks_idle": ("ms", "< 20 ms"),
}
RATIO_TARGET = 2.0
IDLE_TARGET_MS = 20.0

HAND_SQL = """
WITH due AS (
    UPDATE sla_clock c SET breached_at = c.due_at
    WHERE c.state = 'running' AND c.breached_at IS NULL AND c.due_at <= %(at)s
      AND c.kind = 'first_touch'
    RETURNING c.id, c.lead_id, c.due_at, c.business_minutes
), flags AS (
    INSERT INTO sla_flag (kind, state, raised_at, due_at, noticed_at, lead_id, clock_id,
                          agreement_id, month, owner_id, team_id, detail, resolution_note)
    SELECT 'first_touch_breached', 'open', d.due_at, d.due_at, %(at)s, d.lead_id, d.id,
           t.agreement_id, to_char(d.due_at AT TIME ZONE cal.timezone, 'YYYY-MM'),
           l.owner_id, COALESCE(l.team_id, a.sales_team_id),
           'first touch due ' || to_char(d.due_at AT TIME ZONE cal.timezone, 'Dy FMDD Mon HH24:MI')
             || ' (' || d.business_minutes || ' business minutes) passed untouched',
           ''
    FROM due d
    -- One index lookup per due clock (OFFSET 0 keeps the planner from turning these into
    -- hash joins over every lead and every terms row on its estimate of the due clocks).
    CROSS JOIN LATERAL (SELECT owner_id, team_id FROM leads_lead WHERE id = d.lead_id OFFSET 0) l
    CROSS JOIN LATERAL (SELECT agreement_id FROM sla_leadterms WHERE lead_id = d.lead_id OFFSET 0) t
    JOIN sla_agreement a ON a.id = t.agreement_id
    JOIN sla_businesscalendar cal ON cal.id = a.calendar_id
    RETURNING id, owner_id, team_id, lead_id, detail
), recipients AS (
    SELECT f.id AS flag_id, f.owner_id AS user_id FROM flags f
    UNION
    SELECT f.id, m.user_id FROM flags f
    JOIN accounts_team_members m ON m.team_id = f.team_id
    JOIN accounts_user mu ON mu.id = m.user_id AND mu.role = 'sales_manager'
)
INSERT INTO sla_notification (key, channel, state, flag_id, recipient_id, address, subject, body,
                              not_before, attempts, last_error, created_at)
SELECT f.id || ':email:' || u.id, 'email', 'pending', f.id, u.id, u.email,
       '[slaops] First touch breached: lead #' || f.lead_id, f.detail, %(at)s, 0, '', %(at)s
FROM recipients r
JOIN flags f ON f.id = r.flag_id
JOIN accounts_user u ON u.id = r.user_id AND u.email <> '' AND u.is_active
ON CONFLICT (key) DO NOTHING
"""


def hand_flagging(at) -> int:
    """HAND_SQL as of `at`; returns the number of first-touch breach flags it made.

    Inside the caller's transaction, with JIT off for it (a reference pays no compiler).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(HAND_SQL, {"at": at})
        cursor.execute(
            "SELECT count(*) FROM sla_flag WHERE kind = 'first_touch_breached' AND state = 'open'"
        )
        return cursor.fetchone()[0]


def _month_checks():
    from sla.checks import CHECKS
    from sla.models import Flag

    return [CHECKS[kind] for kind in Flag.Kind if kind in Flag.MONTH_KINDS]


def steady_pass(at, *, by_check: bool = False, count_queries: bool = False):
    """Seconds of run_all_checks(at) with the month already judged, rolled back.

    The data set holds no month evaluations or pacing tallies (a rolled-back pass leaves
    none): the pass after a month closes counts it once, then never again. That first
    judgement runs here untimed, in the same transaction, so the pass measured is the
    steady one of every minute; `month_first_judgement_ms` reports the first apart.
    With `by_check`, the seconds of each check of the pass, in run_all_checks' order;
    with `count_queries`, the number of queries of the pass instead of its counts.
    """
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from sla.checks import CHECKS, run_all_checks

    with transaction.atomic():
        for check in _month_checks():
            check(at=at)
        if by_check:
            result = {str(k): timed(lambda c=c: c(at=at))[0] for k, c in CHECKS.items()}
            seconds = sum(result.values())
        elif count_queries:
            with CaptureQueriesContext(connection) as queries:
                seconds = timed(lambda: run_all_checks(at=at))[0]
            result = len(queries)
        else:
            seconds, result = timed(lambda: run_all_checks(at=at))
        transaction.set_rollback(True)
    return seconds, result


def _explain(queryset) -> dict:
    plan = queryset.values("id").explain(analyze=True)
    return {"plan": plan, "uses_index": "clock_due_unflagged" in plan}


def run(ctx) -> list[dict]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from sla.checks import CHECKS, first_touch_breached, run_all_checks
    from sla.checks.clocks import _due
    from sla.models import Clock

    at = ctx.dataset.at
    repeats = ctx.repeats
    log = ctx.log

    # 1. Flagging the due clocks: the same state each time, rolled back each time.
    rolled_back(lambda: hand_flagging(at))  # warm-up: caches, plans
    steady_pass(at)
    first_judgement = rolled_back(lambda: [check(at=at) for check in _month_checks()])[0]
    hand, app, single = [], [], []
    hand_flags = app_counts = None
    for _ in range(repeats):
        seconds, hand_flags = rolled_back(lambda: hand_flagging(at))
        hand.append(seconds)
        seconds, app_counts = steady_pass(at)
        app.append(seconds)
        single.append(rolled_back(lambda: len(first_touch_breached(at=at)))[0])
    due_shares = {kind: round(s * 1000, 2) for kind, s in steady_pass(at, by_check=True)[1].items()}
    queries = steady_pass(at, count_queries=True)[1]
    app_flags = (app_counts or {}).get("first_touch_breached")
    log(
        f"  checks: hand SQL {median_of(ms(hand)):.0f} ms ({hand_flags:,} flags), "
        f"run_all_checks {median_of(ms(app)):.0f} ms ({app_flags:,} first-touch flags)"
    )
    value, reference = median_of(ms(app)), median_of(ms(hand))
    due_ratio = ratio(value, reference)
    rows = [
        row(
            "checks_due",
            unit="ms",
            samples=ms(app),
            reference=reference,
            ratio_value=due_ratio,
            target=ROWS["checks_due"][1],
            passed=due_ratio is not None and due_ratio <= RATIO_TARGET,
            detail={
                "due": ctx.dataset.due,
                "running": ctx.dataset.running,
                "leads": ctx.dataset.leads,
                "flags_by_check": app_counts,
                "hand_flags": hand_flags,
                "same_flags": hand_flags == app_flags,
                "first_touch_breached_only_ms": round(median_of(ms(single)), 2),
                "by_check_ms": due_shares,
                "month_first_judgement_ms": round(first_judgement * 1000, 2),
                "reference_p95_ms": round(p95(ms(hand)), 2),
                "queries_of_a_full_pass": queries,
                "ratio_of": "median / median",
            },
        )
    ]

    # 2. Nothing due: flag everything first, then time passes that find nothing, all in
    # one transaction that is rolled back (the data set stays as generated).
    with transaction.atomic():
        run_all_checks(at=at)
        idle = [timed(lambda: run_all_checks(at=at))[0] for _ in range(max(5, repeats))]
        shares = {}
        for kind, check in CHECKS.items():
            check(at=at)
            shares[str(kind)] = round(
                median_of([ms([timed(lambda check=check: check(at=at))[0]])[0] for _ in range(3)]),
                2,
            )
        with CaptureQueriesContext(connection) as idle_queries:
            run_all_checks(at=at)
        plan = _explain(_due(Clock.Kind.FIRST_TOUCH, at))
        transaction.set_rollback(True)
    idle_ms = median_of(ms(idle))
    log(f"  checks: pass with nothing due {idle_ms:.1f} ms; by check: {shares}")
    rows.append(
        row(
            "checks_idle",
            unit="ms",
            samples=ms(idle),
            reference=None,
            ratio_value=None,
            target=ROWS["checks_idle"][1],
            passed=idle_ms < IDLE_TARGET_MS,
            detail={
                "by_check_ms": shares,
                "queries": len(idle_queries),
                "candidate_query_uses_clock_due_unflagged": plan["uses_index"],
                "candidate_query_plan": plan["plan"],
                "judged_on": "median",
            },
        )
    )
    return rows
