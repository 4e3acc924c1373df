"""Fixtures of the fault tests: a test database real subprocesses can reach, a broker of
the tests' own, the process launcher, the SMTP catcher, the webhook receiver and a bulk
builder of due clocks.

Every test here runs against the real PostgreSQL and Redis (marks `faults`, `postgres`,
`redis`): without them it is skipped saying why, with REQUIRE_SERVICES=1 it fails.
Every process a test starts is ended in a finalizer, before the database is flushed.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
import redis
from celery import Celery
from django.db import connection
from django.utils import timezone

from tests.conftest import service_missing
from tests.faults.harness import Procs, SmtpCatcher, WebhookReceiver, free_port, wait_for

# The shared Redis's database these tests' broker uses (flushed before and after).
BROKER_DB = 7
OWN_REDIS_PORT = 6390  # scenario 5 restarts a Redis of its own, never the shared one
# Settings the subprocesses must not inherit from the test run's environment.
INHERITED_NOT = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "CACHE_URL",
    "DJANGO_SETTINGS_MODULE",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "PYTEST_ADDOPTS",
)


def database_url() -> str:
    """The test database as a URL, for processes outside this one."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "postgres")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def shared_redis(redis_url):
    """The base address of the shared Redis (from REDIS_URL)."""
    return redis_url.rsplit("/", 1)[0]


@pytest.fixture
def broker_url(shared_redis, monkeypatch):
    url = f"{shared_redis}/{BROKER_DB}"
    redis.Redis.from_url(url).flushdb()  # no message left from an earlier run
    # Celery lets CELERY_BROKER_URL override app.conf: the tests' own broker must win.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def catcher():
    smtp = SmtpCatcher().start()
    yield smtp
    smtp.stop()


@pytest.fixture
def receiver():
    hooks = WebhookReceiver().start()
    yield hooks
    hooks.stop()


def subprocess_env(*, broker_url: str, smtp_port: int, var_dir, **extra) -> dict[str, str]:
    if connection.vendor != "postgresql":
        service_missing("the fault tests need PostgreSQL (set DATABASE_URL=postgres://...)")
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.faults.settings",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=broker_url,
        SLAOPS_VAR_DIR=str(var_dir),
        SECRET_KEY=os.environ.get("SECRET_KEY") or "faults-only-secret",
        DEBUG="0",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="5",
        FAULTS_TICK_SECONDS="1",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def procs(transactional_db, broker_url, catcher, tmp_path):
    """Start workers and beats (`procs.worker()`, `procs.beat()`); all ended at the end.

    Depends on the database fixture so it is torn down first: no process of ours holds
    a connection when pytest-django flushes the test database.
    """
    launcher = Procs(
        subprocess_env(broker_url=broker_url, smtp_port=catcher.port, var_dir=tmp_path),
        tmp_path,
    )
    yield launcher
    launcher.stop_all()
    print(launcher.logs())  # pytest shows it when the test failed


@pytest.fixture
def tasks(broker_url):
    """Send a task by name to the tests' broker, as beat or the web app would."""
    app = Celery("faults-sender", set_as_current=False)
    app.conf.broker_url = broker_url
    app.conf.broker_connection_retry_on_startup = True

    def send(name: str, *args, **kwargs):
        return app.send_task(name, args=list(args), kwargs=kwargs)

    yield send
    app.close()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of the test's own on 127.0.0.1:6390, without persistence, that the
    test may restart; stopped at the end, whatever happened."""
    server = RedisServer(OWN_REDIS_PORT, tmp_path)
    server.start()
    yield server
    server.stop()


class RedisServer:
    def __init__(self, port: int, folder):
        self.port = port
        self.pidfile = folder / f"redis-{port}.pid"
        self.url = f"redis://127.0.0.1:{port}/0"

    def _client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)

    def up(self) -> bool:
        try:
            return bool(self._client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        if self.up():
            pytest.fail(f"a Redis is already listening on {self.port}: not ours to restart")
        try:
            subprocess.run(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(self.pidfile),
                    "--dir",
                    str(self.pidfile.parent),
                ],
                check=True,
                timeout=10,
            )
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            service_missing(f"redis-server could not start on {self.port} ({exc})")
        wait_for(self.up, 10)

    def stop(self) -> None:
        """Stop our server only: by the pid it wrote, never by name."""
        if not self.pidfile.exists():
            return
        pid = int(self.pidfile.read_text().strip() or 0)
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
        self.pidfile.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()


# --- data -----------------------------------------------------------------------------------


@pytest.fixture
def sales_world(receiver):
    """A sales team (rep sam, manager morgan) posting to the local webhook receiver, and
    an agreement with it; no quota, so only the clocks raise flags."""
    from accounts.models import Role
    from tests.factories import AgreementFactory, TeamFactory, UserFactory

    now = timezone.now()
    rep = UserFactory(username="sam", role=Role.SALES)
    manager = UserFactory(username="morgan", role=Role.SALES_MANAGER)
    team = TeamFactory(name="Inside Sales", members=[rep, manager])
    team.chat_webhook_url = receiver.url
    team.save(update_fields=["chat_webhook_url"])
    agreement = AgreementFactory(
        sales_team=team, effective_from=(now - timedelta(days=2)).date(), monthly_quota=0
    )
    return {"rep": rep, "manager": manager, "team": team, "agreement": agreement}


def clocks_bulk(*, agreement, owner, count: int, due_at, at_risk_at=None, started_at=None):
    """`count` leads of the agreement owned by `owner`, each with a running first-touch
    clock; `due_at(n)` and `at_risk_at(n)` give the n-th clock's times. A few statements
    whatever the count."""
    from funnel.models import Stage
    from leads.models import Lead
    from sla.clocks import clocks_summarise
    from sla.models import Clock, LeadTerms

    version = agreement.definition.current_version
    stage = Stage.objects.get(slug="interacting")
    terms = agreement.current_version()
    first = due_at(0)
    received = started_at or first - timedelta(hours=4)
    tag = f"{time.time_ns()}"
    leads = Lead.objects.bulk_create(
        Lead(
            email=f"lead{n}-{tag}@example.com",
            first_name="Lee",
            last_name=f"Lead{n}",
            company="Acme",
            company_size=120,
            received_at=received,
            definition_version=version,
            score=60,
            qualifies=True,
            score_explanation=[{"label": "50+ staff", "points": 60}],
            stage=stage,
            owner=owner,
            team=agreement.sales_team,
        )
        for n in range(count)
    )
    LeadTerms.objects.bulk_create(
        LeadTerms(lead=lead, agreement=agreement, agreement_version=terms, attempts_required=6)
        for lead in leads
    )
    clocks = Clock.objects.bulk_create(
        Clock(
            lead=lead,
            kind=Clock.Kind.FIRST_TOUCH,
            started_at=received,
            due_at=due_at(n),
            at_risk_at=at_risk_at(n) if at_risk_at else None,
            business_minutes=240,
        )
        for n, lead in enumerate(leads)
    )
    clocks_summarise(lead_ids=[lead.id for lead in leads])
    return clocks


@pytest.fixture
def web_port():
    return free_port()
