"""The benchmark data set: configuration through the services, the bulk with set-based SQL.

At --scale 1 (every count scales, with a small floor):

- one business calendar (Mon-Fri 09:00-17:00 New York, US holidays), one lead
  definition and a marketing team with one marketing manager (`bench_marketing`, with
  an API token), all made through the services, so their versions exist;
- five sales teams of five reps and one manager, each with its agreement, and a sixth
  team with its agreement (`Bench intake`) that the write paths deliver to;
- 1,000,000 leads, round robin over the five teams (200,000 per team, 40,000 per rep,
  all open), received over the 60 days before `at` (about 100,000 per agreement and
  month), each with its stage history row, its terms, its first-touch clock;
- 800,000 of them touched (a connected call) and their clock stopped, one in twenty
  late (its breach flagged and settled), six in ten accepted by sales;
- 200,000 running clocks: 10,000 fell due in the ten minutes before `at` (already warned
  at risk), the others fall due from two hours to five days after it.

Rows are real rows of the application's tables: the pages, the API and the checks read
them as they read delivered leads.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

LEADS = 1_000_000
RUNNING = 200_000
DUE = 10_000
TEAMS = 5
REPS = 5  # per team
SPAN_DAYS = 60
MONTHLY_QUOTA = 60_000  # per agreement: below the ~100,000 delivered, so no month flag
ZONE = "America/New_York"
EFFECTIVE_FROM = date(2025, 1, 1)
WORKING_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
HOLIDAYS = [
    "2025-12-25",
    "2026-01-01",
    "2026-01-19",
    "2026-05-25",
    "2026-07-03",
    "2026-09-07",
    "2026-11-26",
    "2026-12-25",
    "2027-01-01",
]
CRITERIA = [
    {"field": "company_size", "op": "gte", "value": 50, "points": 60, "label": "50+ staff"},
    {"field": "title", "op": "contains", "value": "director", "points": 20, "label": "Director"},
    {"field": "country", "op": "in", "value": ["US", "CA"], "points": 10, "label": "North America"},
    {
        "field": "attributes.industry",
        "op": "in",
        "value": ["software", "retail"],
        "points": 10,
        "label": "Target industry",
    },
]
DISQUALIFIERS = [{"field": "attributes.student", "op": "eq", "value": True, "label": "Student"}]
# What a delivered lead looks like: the generated rows, the CSV rows and the API bodies.
LEAD_SHAPE = {
    "first_name": "Lee",
    "company": "Acme",
    "title": "Director of Operations",
    "country": "US",
    "company_size": 120,
    "source": "bench",
    "attributes": {"industry": "software"},
}


@dataclass
class Dataset:
    """What the paths need to know of the generated data (saved in the bench database)."""

    scale: float
    at: datetime
    leads: int
    running: int
    due: int
    span_days: int
    month: str  # the last whole month before `at`, in the calendar's zone
    month_start: datetime
    month_end: datetime
    calendar_id: int
    definition_version_id: int
    stage_id: int
    marketing_user_id: int
    marketing_team_id: int
    teams: list[dict] = field(default_factory=list)  # {team, agreement, version, reps, manager}
    intake: dict = field(default_factory=dict)  # the team and agreement the writes go to
    generated_seconds: float = 0.0

    def to_json(self) -> dict:
        data = asdict(self)
        for name in ("at", "month_start", "month_end"):
            data[name] = getattr(self, name).isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> Dataset:
        data = dict(data)
        for name in ("at", "month_start", "month_end"):
            data[name] = datetime.fromisoformat(data[name])
        return cls(**data)

    @property
    def rep_id(self) -> int:
        """The rep whose inbox is measured: 40,000 open leads at scale 1."""
        return self.teams[0]["reps"][0]

    @property
    def manager_id(self) -> int:
        """The sales manager of the 200,000-lead team."""
        return self.teams[0]["manager"]

    @property
    def agreement_id(self) -> int:
        """The agreement whose month the compliance path reads."""
        return self.teams[0]["agreement"]


# --- the database ------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the database the URL names, if it is not there (on its server's `postgres`)."""
    name = urlparse(url).path.lstrip("/")
    admin = _admin(url, "postgres")
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def _admin(url: str, dbname: str):
    import psycopg2

    parts = urlparse(url)
    connection = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=dbname,
    )
    connection.autocommit = True
    return connection


SETTING_NAME = re.compile(r"^[a-z_][a-z0-9_.]*$")


@contextmanager
def database_settings(url: str, pairs: list[str]) -> Iterator[dict]:
    """`ALTER DATABASE <bench> SET name = value` for each "name=value" while the block
    runs (every connection opened meanwhile, the servers' too, has them), then RESET."""
    settings = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        name = name.strip().lower()
        if not SETTING_NAME.match(name) or not value.strip():
            raise ValueError(f"--pg-set {pair!r}: expected NAME=VALUE, such as jit=off")
        settings[name] = value.strip()
    if not settings:
        yield settings
        return
    database = urlparse(url).path.lstrip("/")
    admin = _admin(url, "postgres")
    try:
        with admin.cursor() as cursor:
            for name, value in settings.items():
                cursor.execute(f'ALTER DATABASE "{database}" SET {name} = %s', [value])
        yield settings
    finally:
        with admin.cursor() as cursor:
            for name in settings:
                cursor.execute(f'ALTER DATABASE "{database}" RESET {name}')
        admin.close()


def setup_django(url: str, *, migrate: bool = True) -> None:
    """Django on the bench database with DEBUG off (production's code paths), migrated."""
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory: not what production runs
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaops.settings")
    os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def filler(column: str, data_type: str) -> str:
    """A value for a NOT NULL column the generator does not care about."""
    if data_type in ("jsonb", "json"):
        return "'{}'::jsonb" if column == "attributes" else "'[]'::jsonb"
    if data_type == "boolean":
        return "false"
    if data_type in ("integer", "bigint", "smallint", "numeric"):
        return "0"
    if data_type.startswith("timestamp"):
        return "now()"
    if data_type == "date":
        return "current_date"
    return "''"


def insert_select(cursor, table: str, chosen: dict[str, str], source: str) -> str:
    """INSERT ... SELECT into `table`: `chosen` columns, every other NOT NULL one filled.

    Columns the application adds later (NOT NULL, no database default) get a neutral
    value, so the generator keeps working while the models move on.
    """
    cursor.execute(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL
             AND is_identity = 'NO'""",
        [table],
    )
    columns = dict(chosen)
    for column, data_type in cursor.fetchall():
        columns.setdefault(column, filler(column, data_type))
    names = ", ".join(columns)
    values = ", ".join(columns.values())
    return f"INSERT INTO {table} ({names}) SELECT {values} {source}"


def lead_insert_sql(cursor, chosen: dict[str, str]) -> str:
    """INSERT ... SELECT for leads_lead over `generate_series(1, %(n)s) AS g`."""
    return insert_select(cursor, "leads_lead", chosen, "FROM generate_series(1, %(n)s) AS g")


META_TABLE = "bench_meta"


def save_meta(dataset: Dataset) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value jsonb)"
        )
        cursor.execute(
            f"INSERT INTO {META_TABLE} VALUES ('dataset', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [json.dumps(dataset.to_json())],
        )


def load_meta() -> Dataset | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [META_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'dataset'")
        found = cursor.fetchone()
    if found is None:
        return None
    value = found[0] if isinstance(found[0], dict) else json.loads(found[0])
    try:
        return Dataset.from_json(value)
    except TypeError:
        return None  # saved by an older harness


# --- generation --------------------------------------------------------------------------------

# Everything the generator made last time; CASCADE takes what points at them (clocks,
# flags, the outbox, tokens, history rows). The seeded stages and reason codes stay.
RESET = (
    "leads_lead",
    "sla_agreement",
    "leads_leaddefinition",
    "sla_businesscalendar",
    "accounts_team",
    "accounts_user",
    "django_session",
)


def counts(scale: float) -> dict[str, int]:
    """The sizes at `scale`, with floors that keep every path meaningful when tiny."""
    leads = max(500, round(LEADS * scale))
    running = max(50, round(RUNNING * scale))
    due = max(10, min(running // 2, round(DUE * scale)))
    return {"leads": leads, "running": running, "due": due}


def previous_month(at: datetime) -> tuple[str, datetime, datetime]:
    """The last whole month before `at` in the calendar's zone: (YYYY-MM, start, end) in UTC."""
    local = at.astimezone(ZoneInfo(ZONE))
    first = local.date().replace(day=1)
    last_start = (first - timedelta(days=1)).replace(day=1)
    zone = ZoneInfo(ZONE)
    start = datetime(last_start.year, last_start.month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    return f"{last_start:%Y-%m}", start, end


def generate(scale: float, *, at: datetime | None = None, log=print) -> Dataset:
    """A fresh data set (everything the last one made is removed first)."""
    from django.db import connection

    began = time.perf_counter()
    at = (at or datetime.now(UTC)).replace(second=0, microsecond=0)
    sizes = counts(scale)
    month, month_start, month_end = previous_month(at)
    # The span covers the whole of last month, at least 60 days.
    span_days = max(SPAN_DAYS, (at - month_start).days + 1)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(RESET)} RESTART IDENTITY CASCADE")
    dataset = _configure(scale, at=at, sizes=sizes, span_days=span_days)
    dataset.month, dataset.month_start, dataset.month_end = month, month_start, month_end
    log(f"  configuration through the services: {time.perf_counter() - began:.1f} s")
    _bulk(dataset, log=log)
    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # visibility map and statistics, as in a settled database
        cursor.execute("CHECKPOINT")  # no checkpoint of the bulk load lands in a measurement
    log(f"  VACUUM ANALYZE, CHECKPOINT: {time.perf_counter() - step:.1f} s")
    dataset.generated_seconds = round(time.perf_counter() - began, 1)
    save_meta(dataset)
    return dataset


def _configure(scale: float, *, at: datetime, sizes: dict, span_days: int) -> Dataset:
    """Calendar, definition, teams, people and agreements through the project's services."""
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from accounts.models import Role, Team
    from accounts.services import user_create_or_update
    from calendars.models import BusinessCalendar
    from leads.services import leads as records
    from leads.services.definitions import definition_create
    from sla.agreements import agreement_create

    with transaction.atomic():
        calendar = BusinessCalendar(
            name="Bench New York", timezone=ZONE, working_hours=WORKING_HOURS, holidays=HOLIDAYS
        )
        calendar.full_clean()
        calendar.save()
        definition = definition_create(
            by=None,
            name="Bench definition",
            good_lead="A company of 50 people or more in a target industry.",
            qualify_at=50,
            criteria=CRITERIA,
            disqualifiers=DISQUALIFIERS,
        )
        marketing, _ = user_create_or_update(
            username="bench_marketing",
            role=Role.MARKETING,
            team_name="Bench Marketing",
            email="bench_marketing@example.com",
        )
        Token.objects.create(user=marketing)
        marketing_team = Team.objects.get(name="Bench Marketing")
        quota = max(1, round(MONTHLY_QUOTA * scale))
        teams = []
        for number in range(TEAMS + 1):
            name = f"Bench Sales {number}" if number < TEAMS else "Bench intake"
            reps = []
            for rep in range(REPS):
                username = f"bench_t{number}_rep{rep}"
                user, _ = user_create_or_update(
                    username=username,
                    role=Role.SALES,
                    team_name=name,
                    email=f"{username}@example.com",
                )
                reps.append(user.id)
            manager, _ = user_create_or_update(
                username=f"bench_t{number}_manager",
                role=Role.SALES_MANAGER,
                team_name=name,
                email=f"bench_t{number}_manager@example.com",
            )
            team = Team.objects.get(name=name)
            team.calendar = calendar
            team.save(update_fields=["calendar"])
            agreement = agreement_create(
                by=None,
                now=at,
                name=f"Bench agreement {number}" if number < TEAMS else "Bench intake",
                marketing_team=marketing_team,
                sales_team=team,
                calendar=calendar,
                definition=definition,
                effective_from=EFFECTIVE_FROM,
                # The intake agreement has no leads of its own: no quota, no month flags.
                monthly_quota=quota if number < TEAMS else 0,
            )
            teams.append(
                {
                    "team": team.id,
                    "agreement": agreement.id,
                    "version": agreement.current_version().id,
                    "reps": reps,
                    "manager": manager.id,
                }
            )
        for user_id in [t["manager"] for t in teams] + [t["reps"][0] for t in teams]:
            Token.objects.create(user_id=user_id)
        stage = records.entry_stage()
    return Dataset(
        scale=scale,
        at=at,
        leads=sizes["leads"],
        running=sizes["running"],
        due=sizes["due"],
        span_days=span_days,
        month="",
        month_start=at,
        month_end=at,
        calendar_id=calendar.id,
        definition_version_id=definition.current_version.id,
        stage_id=stage.id,
        marketing_user_id=marketing.id,
        marketing_team_id=marketing_team.id,
        teams=teams[:TEAMS],
        intake=teams[TEAMS],
    )


def score_of(dataset: Dataset):
    """What the definition gives the generated leads (the same shape the paths deliver)."""
    from leads.models import LeadDefinitionVersion

    version = LeadDefinitionVersion.objects.get(pk=dataset.definition_version_id)
    return version.score({**LEAD_SHAPE, "email": "lead@example.com"})


def _bulk(dataset: Dataset, *, log) -> None:
    from django.db import connection

    result = score_of(dataset)
    teams = dataset.teams
    params = {
        "n": dataset.leads,
        "at": dataset.at,
        "span": dataset.span_days * 86400.0,
        "running": dataset.running,
        "due": dataset.due,
        "stage": dataset.stage_id,
        "definition_version": dataset.definition_version_id,
        "by": dataset.marketing_user_id,
        "team_count": len(teams),
        "reps_per_team": REPS,
        "teams": [t["team"] for t in teams],
        "agreements": [t["agreement"] for t in teams],
        "versions": [t["version"] for t in teams],
        "reps": [rep for t in teams for rep in t["reps"]],
        "score": result.score,
        "qualifies": result.qualifies,
        "explanation": json.dumps(result.explanation),
        "attributes": json.dumps(LEAD_SHAPE["attributes"]),
        "zone": ZONE,
    }
    received = "(%(at)s - make_interval(secs => g * %(span)s / %(n)s))"
    team_index = "mod(g - 1, %(team_count)s)"
    rep_index = (
        f"{team_index} * %(reps_per_team)s + mod((g - 1) / %(team_count)s, %(reps_per_team)s)"
    )
    # Blocks of 25 leads (five per team, one per rep) keep these spread over every rep.
    accepted = "(g > %(running)s AND mod((g - 1) / 25, 10) < 6)"
    owner = f"(%(reps)s::bigint[])[1 + {rep_index}]"
    steps = [
        (
            "leads",
            lambda cursor: lead_insert_sql(
                cursor,
                {
                    "email": "'lead' || g || '@example.com'",
                    "first_name": f"'{LEAD_SHAPE['first_name']}'",
                    "last_name": "'Lead' || g",
                    "company": f"'{LEAD_SHAPE['company']} ' || mod(g, 997)",
                    "title": f"'{LEAD_SHAPE['title']}'",
                    "country": f"'{LEAD_SHAPE['country']}'",
                    "company_size": str(LEAD_SHAPE["company_size"]),
                    "source": f"'{LEAD_SHAPE['source']}'",
                    "external_id": "'gen-' || g",
                    "attributes": "%(attributes)s::jsonb",
                    "received_at": received,
                    "definition_version_id": "%(definition_version)s",
                    "score": "%(score)s",
                    "qualifies": "%(qualifies)s",
                    "score_explanation": "%(explanation)s::jsonb",
                    "disqualified_by": "'[]'::jsonb",
                    "stage_id": "%(stage)s",
                    "team_id": f"(%(teams)s::bigint[])[1 + {team_index}]",
                    "owner_id": owner,
                    "assigned_at": received,
                    "verdict": f"CASE WHEN {accepted} THEN 'accepted' ELSE 'pending' END",
                    "verdict_at": f"CASE WHEN {accepted} THEN {received} + interval '2 hours' END",
                    "verdict_by_id": f"CASE WHEN {accepted} THEN {owner} END",
                    "created_by_id": "%(by)s",
                    "created_at": received,
                    "updated_at": received,
                },
            ),
        ),
        (
            "stage history",
            lambda cursor: insert_select(
                cursor,
                "funnel_stagechange",
                {
                    "lead_id": "id",
                    "from_stage_id": "NULL",
                    "to_stage_id": "stage_id",
                    "at": "received_at",
                    "by_id": "created_by_id",
                    "note": "'Delivered'",
                },
                "FROM leads_lead",
            ),
        ),
        (
            "terms",
            lambda cursor: insert_select(
                cursor,
                "sla_leadterms",
                {
                    "lead_id": "l.id",
                    "agreement_id": "m.agreement_id",
                    "agreement_version_id": "m.version_id",
                    "attempts_required": "6",
                    "tier": "''",
                },
                "FROM leads_lead l JOIN unnest(%(teams)s::bigint[], %(agreements)s::bigint[],"
                " %(versions)s::bigint[]) AS m(team_id, agreement_id, version_id)"
                " ON m.team_id = l.team_id",
            ),
        ),
        # Leads 1..running (the newest) have running clocks: the first `due` fell due in
        # the ten minutes before `at` (warned at risk already), the rest fall due later.
        (
            "running clocks",
            lambda cursor: insert_select(
                cursor,
                "sla_clock",
                {
                    "lead_id": "id",
                    "kind": "'first_touch'",
                    "state": "'running'",
                    "started_at": "received_at",
                    "due_at": "d.due",
                    "at_risk_at": "d.due - interval '1 hour'",
                    "at_risk_flagged_at": (
                        "CASE WHEN id <= %(due)s THEN d.due - interval '1 hour' END"
                    ),
                    "business_minutes": "240",
                    "stop_reason": "''",
                },
                """FROM leads_lead, LATERAL (SELECT CASE WHEN id <= %(due)s
                       THEN %(at)s - make_interval(secs => (id * 600.0 / %(due)s))
                       ELSE %(at)s + interval '2 hours' + make_interval(mins => mod(id, 7000)::int)
                   END AS due) AS d
                   WHERE id <= %(running)s""",
            ),
        ),
        # The others were touched: in time, or (one in twenty) an hour after the due time.
        (
            "stopped clocks",
            lambda cursor: insert_select(
                cursor,
                "sla_clock",
                {
                    "lead_id": "id",
                    "kind": "'first_touch'",
                    "state": "'stopped'",
                    "started_at": "received_at",
                    "due_at": "received_at + interval '4 hours'",
                    "at_risk_at": "received_at + interval '3 hours'",
                    "business_minutes": "240",
                    "stopped_at": "received_at + CASE WHEN mod((id - 1) / 25, 20) = 0"
                    " THEN interval '5 hours' ELSE interval '1 hour' END",
                    "stop_reason": "'touch'",
                    "breached_at": (
                        "CASE WHEN mod((id - 1) / 25, 20) = 0"
                        " THEN received_at + interval '4 hours' END"
                    ),
                    # Touched late, so warned at risk first (as the checks had done).
                    "at_risk_flagged_at": (
                        "CASE WHEN mod((id - 1) / 25, 20) = 0"
                        " THEN received_at + interval '3 hours' END"
                    ),
                },
                "FROM leads_lead WHERE id > %(running)s",
            ),
        ),
        (
            "touches",
            lambda cursor: insert_select(
                cursor,
                "leads_touch",
                {
                    "lead_id": "c.lead_id",
                    "kind": "'call'",
                    "outcome": "'connected'",
                    "at": "c.stopped_at",
                    "note": "''",
                    "by_id": "l.owner_id",
                    "created_at": "c.stopped_at",
                },
                "FROM sla_clock c JOIN leads_lead l ON l.id = c.lead_id WHERE c.state = 'stopped'",
            ),
        ),
        (
            "settled breach flags",
            lambda cursor: insert_select(
                cursor,
                "sla_flag",
                {
                    "kind": "'first_touch_breached'",
                    "state": "'resolved'",
                    "raised_at": "c.due_at",
                    "due_at": "c.due_at",
                    "noticed_at": "c.stopped_at",
                    "lead_id": "c.lead_id",
                    "clock_id": "c.id",
                    "agreement_id": "t.agreement_id",
                    "month": "to_char(c.due_at AT TIME ZONE %(zone)s, 'YYYY-MM')",
                    "owner_id": "l.owner_id",
                    "team_id": "l.team_id",
                    "detail": "'first touch due ' || to_char(c.due_at AT TIME ZONE %(zone)s,"
                    " 'Dy FMDD Mon HH24:MI') || ' (240 business minutes): touched an hour late'",
                    "resolved_at": "c.stopped_at",
                    "resolution_note": "'touched late'",
                },
                "FROM sla_clock c JOIN leads_lead l ON l.id = c.lead_id"
                " JOIN sla_leadterms t ON t.lead_id = c.lead_id WHERE c.breached_at IS NOT NULL",
            ),
        ),
    ]
    with connection.cursor() as cursor:
        for name, build in steps:
            step = time.perf_counter()
            cursor.execute(build(cursor), params)
            log(f"  {name}: {cursor.rowcount:,} rows in {time.perf_counter() - step:.1f} s")
        cursor.execute("SELECT min(id), max(id), count(*) FROM leads_lead")
        low, high, total = cursor.fetchone()
        if (low, high, total) != (1, dataset.leads, dataset.leads):
            raise RuntimeError(f"lead ids are not 1..{dataset.leads}: {low}..{high} ({total})")
    _derived(dataset, log=log)


CHUNK = 50_000


def _derived(dataset: Dataset, *, log) -> None:
    """What the application derives from the clocks when they start and stop, written by
    its own code where it has it: the touch's business minutes on a stopped clock, and
    the summary of each lead's clocks on the lead (`sla.clocks.clocks_summarise`)."""
    from django.db import connection

    from calendars.models import BusinessCalendar
    from sla import clocks
    from sla.models import Clock

    names = {f.attname for f in Clock._meta.concrete_fields}
    if "touch_minutes" in names:
        from calendars.engine import business_minutes_between

        step = time.perf_counter()
        calendar = BusinessCalendar.objects.get(pk=dataset.calendar_id).as_work_calendar()
        stops = list(getattr(Clock, "TOUCH_STOPS", ("touch", "connected")))
        written = 0
        with connection.cursor() as cursor:
            for low in range(1, dataset.leads + 1, CHUNK):
                cursor.execute(
                    "SELECT id, started_at, stopped_at FROM sla_clock WHERE state = 'stopped'"
                    " AND stop_reason = ANY(%s) AND lead_id >= %s AND lead_id < %s",
                    [stops, low, low + CHUNK],
                )
                found = cursor.fetchall()
                if not found:
                    continue
                ids = [clock_id for clock_id, _, _ in found]
                minutes = [
                    int(business_minutes_between(calendar, started, stopped))
                    for _, started, stopped in found
                ]
                cursor.execute(
                    "UPDATE sla_clock c SET touch_minutes = u.minutes"
                    " FROM unnest(%s::bigint[], %s::int[]) AS u(id, minutes) WHERE c.id = u.id",
                    [ids, minutes],
                )
                written += cursor.rowcount
        log(
            f"  touch minutes (calendars.engine): {written:,} clocks"
            f" in {time.perf_counter() - step:.1f} s"
        )
    summarise = getattr(clocks, "clocks_summarise", None)
    if summarise is not None:
        step = time.perf_counter()
        written = 0
        for low in range(1, dataset.leads + 1, CHUNK):
            written += summarise(lead_ids=range(low, min(low + CHUNK, dataset.leads + 1)))
        log(
            f"  clock summaries (sla.clocks.clocks_summarise): {written:,} terms"
            f" in {time.perf_counter() - step:.1f} s"
        )
