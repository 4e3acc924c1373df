"""Benchmark: one pass of the breach check against a hand-written SQL statement, at scale.

Run from the repository root, on PostgreSQL only (SQLite is refused):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/slaops_bench \
        python bench/checks.py [--scale 0.05]

The script creates and migrates its own database, then generates (at --scale 1)
1,000,000 leads: 800,000 touched in time (stopped clocks), 200,000 with running clocks
of which 10,000 fell due in the last ten minutes. It prints:

1. the time of one `first_touch_breached` pass (flags + outbox rows, in one transaction)
   against one hand-written SQL statement doing the same flagging (claim, flags, outbox
   rows), both on the same state inside a transaction that is rolled back, best of
   --repeats; the target is a ratio of 2 or less;
2. the time of a pass with nothing due (target under 50 ms), with the EXPLAIN of its
   candidate query, which must use the partial index `clock_due_unflagged`;
3. how many queries a pass makes (it must not grow with the number of flags).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LEADS = 1_000_000
RUNNING = 200_000
DUE = 10_000
REPS = 25
AT = datetime(2026, 12, 15, 17, 0, tzinfo=UTC)  # Tue 12:00 EST
RATIO_TARGET = 2.0
IDLE_TARGET_MS = 50.0


def ensure_database(url: str) -> None:
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaops.settings")
    os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def filler(column: str, data_type: str) -> str:
    """A value for a NOT NULL column the generator does not care about."""
    if data_type in ("jsonb", "json"):
        return "'{}'::jsonb" if column == "attributes" else "'[]'::jsonb"
    if data_type == "boolean":
        return "false"
    if data_type in ("integer", "bigint", "smallint"):
        return "0"
    if data_type.startswith("timestamp"):
        return "now()"
    return "''"


def lead_insert_sql(cursor, chosen: dict[str, str]) -> str:
    """INSERT ... SELECT for leads_lead: `chosen` columns, the other NOT NULL ones filled."""
    cursor.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_name = 'leads_lead' AND is_nullable = 'NO' AND column_default IS NULL
             AND is_identity = 'NO'"""
    )
    columns = dict(chosen)
    for column, data_type in cursor.fetchall():
        columns.setdefault(column, filler(column, data_type))
    names = ", ".join(columns)
    values = ", ".join(columns.values())
    return f"INSERT INTO leads_lead ({names}) SELECT {values} FROM generate_series(1, %(n)s) AS g"


def generate(scale: float) -> dict:
    """Fresh base rows through the ORM, then the bulk with INSERT ... SELECT."""
    from django.db import connection, transaction

    from accounts.models import Role, Team, User
    from calendars.models import BusinessCalendar
    from funnel.models import Stage
    from leads.models import LeadDefinition, LeadDefinitionVersion
    from sla.models import Agreement, AgreementVersion

    leads, running, due = int(LEADS * scale), int(RUNNING * scale), int(DUE * scale)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE sla_notification, sla_flag, sla_clock, sla_leadterms, leads_touch,"
            " funnel_stagechange, leads_lead RESTART IDENTITY CASCADE"
        )
    with transaction.atomic():
        calendar, _ = BusinessCalendar.objects.get_or_create(
            name="Bench New York", defaults={"timezone": "America/New_York"}
        )
        sales, _ = Team.objects.get_or_create(name="Bench Sales", defaults={"kind": "sales"})
        marketing, _ = Team.objects.get_or_create(
            name="Bench Marketing", defaults={"kind": "marketing"}
        )
        people = [(f"bench_rep{n}", Role.SALES) for n in range(REPS)]
        people += [("bench_manager1", Role.SALES_MANAGER), ("bench_manager2", Role.SALES_MANAGER)]
        users = []
        for username, role in people:
            user, _ = User.objects.get_or_create(
                username=username, defaults={"role": role, "email": f"{username}@example.com"}
            )
            users.append(user)
        sales.members.add(*users)
        definition, _ = LeadDefinition.objects.get_or_create(name="Bench definition")
        version, _ = LeadDefinitionVersion.objects.get_or_create(
            definition=definition,
            version=1,
            defaults={"name": definition.name, "qualify_at": 50, "created_at": AT},
        )
        agreement, _ = Agreement.objects.get_or_create(
            name="Bench agreement",
            defaults={
                "marketing_team": marketing,
                "sales_team": sales,
                "calendar": calendar,
                "definition": definition,
                "effective_from": AT.date().replace(day=1),
            },
        )
        terms = AgreementVersion.objects.get_or_create(
            agreement=agreement, version=1, defaults={"terms": {}, "created_at": AT}
        )[0]
    reps = [u.id for u in users[:REPS]]
    params = {
        "n": leads,
        "at": AT,
        "stage": Stage.objects.order_by("position").first().id,
        "definition_version": version.id,
        "team": sales.id,
        "reps": reps,
        "agreement": agreement.id,
        "terms": terms.id,
        "running": running,
        "due": due,
    }
    with connection.cursor() as cursor:
        sql = lead_insert_sql(
            cursor,
            {
                "email": "'lead' || g || '@example.com'",
                "first_name": "'Lee'",
                "last_name": "'Lead' || g",
                "company": "'Acme'",
                "company_size": "120",
                "received_at": "%(at)s - make_interval(mins => mod(g, 40000)::int)",
                "definition_version_id": "%(definition_version)s",
                "score": "60",
                "qualifies": "true",
                "verdict": "'pending'",
                "stage_id": "%(stage)s",
                "team_id": "%(team)s",
                "owner_id": "(%(reps)s::bigint[])[1 + mod(g, cardinality(%(reps)s::bigint[]))]",
            },
        )
        cursor.execute(sql, params)
        cursor.execute(
            "INSERT INTO sla_leadterms (lead_id, agreement_id, agreement_version_id,"
            " attempts_required) SELECT id, %(agreement)s, %(terms)s, 6 FROM leads_lead",
            params,
        )
        # Leads 1..running have running clocks: the first `due` of them fell due in the last
        # ten minutes (warned already), the rest fall due from an hour to five days ahead.
        cursor.execute(
            """INSERT INTO sla_clock (lead_id, kind, state, started_at, due_at, at_risk_at,
                   at_risk_flagged_at, business_minutes, stop_reason)
               SELECT id, 'first_touch', 'running', received_at, d.due, d.due - interval '1 hour',
                      CASE WHEN id <= %(due)s THEN d.due - interval '1 hour' END, 240, ''
               FROM leads_lead,
                    LATERAL (SELECT CASE WHEN id <= %(due)s
                        THEN %(at)s - make_interval(secs => (id * 600.0 / %(due)s))
                        ELSE %(at)s + interval '2 hours' + make_interval(mins => mod(id, 7000)::int)
                    END AS due) AS d
               WHERE id <= %(running)s""",
            params,
        )
        # The others were touched in time: stopped first-touch clocks.
        cursor.execute(
            """INSERT INTO sla_clock (lead_id, kind, state, started_at, due_at, at_risk_at,
                   business_minutes, stopped_at, stop_reason)
               SELECT id, 'first_touch', 'stopped', received_at, received_at + interval '4 hours',
                      received_at + interval '3 hours', 240, received_at + interval '1 hour',
                      'touch'
               FROM leads_lead WHERE id > %(running)s""",
            params,
        )
        cursor.execute("ANALYZE")
    return params


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
    JOIN leads_lead l ON l.id = d.lead_id
    JOIN sla_leadterms t ON t.lead_id = d.lead_id
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


def rolled_back(run) -> tuple[float, object]:
    """Seconds `run` takes inside a transaction that is then rolled back."""
    from django.db import transaction

    with transaction.atomic():
        began = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - began
        transaction.set_rollback(True)
    return seconds, result


def best_idle(run, repeats: int = 5) -> float:
    """Milliseconds of the fastest of `repeats` runs (each commits; nothing is due)."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times) * 1000


def explain(name: str, queryset) -> None:
    print(f"\nEXPLAIN ANALYZE ({name}):")
    print(queryset.values("id").explain(analyze=True))


def best(run, repeats: int) -> tuple[float, object]:
    results = [rolled_back(run) for _ in range(repeats)]
    return min(r[0] for r in results), results[0][1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1,000,000 leads")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench/checks.py needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    ensure_database(url)
    setup_django(url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sla.checks import CHECKS, first_touch_breached, run_all_checks
    from sla.checks.clocks import _due, _stopped_late
    from sla.models import Clock, Flag

    began = time.perf_counter()
    params = generate(args.scale)
    print(
        f"generated {params['n']:,} leads, {params['running']:,} running clocks, "
        f"{params['due']:,} newly due, in {time.perf_counter() - began:.1f} s"
    )

    def hand():
        with connection.cursor() as cursor:
            cursor.execute(HAND_SQL, {"at": AT})
        return Flag.objects.count()

    def check():
        return len(first_touch_breached(at=AT))

    hand_s, hand_flags = best(hand, args.repeats)
    check_s, check_flags = best(check, args.repeats)
    ratio = check_s / hand_s
    print(f"hand-written SQL: {hand_s * 1000:8.1f} ms  ({hand_flags:,} flags)")
    print(f"check pass:       {check_s * 1000:8.1f} ms  ({check_flags:,} flags)")
    verdict = "ok" if ratio <= RATIO_TARGET else "OVER TARGET"
    print(f"ratio check / SQL: {ratio:.2f}x (target <= {RATIO_TARGET}x) {verdict}")

    with CaptureQueriesContext(connection) as queries:
        rolled_back(lambda: run_all_checks(at=AT))
    print(f"queries of a full pass (all checks, {params['due']:,} flags): {len(queries)}")

    # Flag for real, then measure the passes that find nothing to do.
    first_touch_breached(at=AT)
    idle_ms = best_idle(lambda: first_touch_breached(at=AT))
    verdict = "ok" if idle_ms < IDLE_TARGET_MS else "OVER TARGET"
    print(f"pass with nothing due: {idle_ms:.1f} ms (target < {IDLE_TARGET_MS:.0f} ms) {verdict}")
    run_all_checks(at=AT)
    print("each check with nothing due:")
    for kind, check in CHECKS.items():
        print(f"  {kind:22} {best_idle(lambda check=check: check(at=AT)):8.1f} ms")
    explain("running clocks past due", _due(Clock.Kind.FIRST_TOUCH, AT))
    explain("clocks stopped late, unflagged", _stopped_late(Clock.Kind.FIRST_TOUCH, AT))

    return 0


if __name__ == "__main__":
    sys.exit(main())
