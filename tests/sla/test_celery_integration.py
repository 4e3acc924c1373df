"""End to end on a real broker: beat ticks, a worker runs the checks and the sender, and a
clock that fell due becomes a Flag and exactly one message per recipient, untouched by hand."""

import threading
import time
from datetime import timedelta

import pytest
import redis
from celery import Celery, current_app
from celery.beat import Service
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from accounts.models import Role
from sla.models import Flag, Notification
from tests.factories import AgreementFactory, ClockFactory, LeadFactory, TeamFactory, UserFactory

REDIS_DB = 13  # this suite's own database on the shared Redis


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def broker_url(redis_url):
    url = f"{redis_url.rsplit('/', 1)[0]}/{REDIS_DB}"
    redis.Redis.from_url(url).flushdb()  # no message left over from an earlier run
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture(autouse=True)
def _broker_from_the_test(monkeypatch):
    # Celery lets the CELERY_BROKER_URL environment variable override app.conf.broker_url:
    # without this, the test's own broker would silently be replaced by CI's.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


def make_app(broker_url: str) -> Celery:
    app = Celery("slaops-checks-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    # Beat ticks every second instead of every minute; nothing else is scheduled.
    app.conf.beat_schedule = {
        "run-sla-checks": {"task": "sla.tasks.run_checks", "schedule": 1.0},
        "send-notifications": {"task": "sla.tasks.send_notifications", "schedule": 1.0},
    }
    app.autodiscover_tasks(["sla"], force=True)
    app.loader.import_default_modules()
    return app


def wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds}s: {predicate.__doc__}")


# PostgreSQL, as production runs it: beat, worker and test share the database from
# three threads, which SQLite's in-memory test database does not support reliably.
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_due_clock_becomes_a_flag_and_one_message_per_recipient(broker_url, tmp_path):
    # Given a lead whose first-touch clock fell due a minute ago
    now = timezone.now()
    rep = UserFactory(username="sam", role=Role.SALES)
    manager = UserFactory(username="morgan", role=Role.SALES_MANAGER)
    agreement = AgreementFactory(
        sales_team=TeamFactory(members=[rep, manager]),
        effective_from=now.date(),
        monthly_quota=0,  # no pacing warning to muddle the count
    )
    lead = LeadFactory(agreement=agreement, owner=rep, received_at=now - timedelta(hours=5))
    clock = ClockFactory(lead=lead, due_at=now - timedelta(minutes=1), at_risk_at=None)

    # When a real beat and a real worker run for a while
    app = make_app(broker_url)
    beat = Service(app=app, max_interval=1, schedule_filename=str(tmp_path / "beat-schedule"))
    beat_thread = threading.Thread(target=beat.start, daemon=True)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        beat_thread.start()
        try:

            def delivered():
                """a flag and two sent messages"""
                sent = Notification.objects.filter(state=Notification.State.SENT).count()
                return Flag.objects.exists() and sent == 2

            wait_for(delivered)
            time.sleep(3)  # a few more ticks: nothing is flagged or sent twice
        finally:
            beat.stop()
            beat_thread.join(timeout=10)

    # Then the miss is flagged once, dated at the due time, and each person told once
    [flag] = Flag.objects.all()
    assert (flag.kind, flag.clock_id, flag.raised_at) == (
        "first_touch_breached",
        clock.id,
        clock.due_at,
    )
    assert Notification.objects.count() == 2
    assert sorted(message.to[0] for message in mail.outbox) == [
        "morgan@example.com",
        "sam@example.com",
    ]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_uploaded_csv_is_imported_by_a_real_worker(broker_url, settings, tmp_path):
    """POST /api/imports/ queues the job after commit; a worker picks it up and the
    API reports it done with every row created."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from leads.models import Lead

    settings.VAR_DIR = tmp_path
    now = timezone.now()
    marketer = UserFactory(username="maria", role=Role.MARKETING)
    rep = UserFactory(username="sam", role=Role.SALES)
    agreement = AgreementFactory(
        marketing_team=TeamFactory(kind="marketing", members=[marketer]),
        sales_team=TeamFactory(members=[rep]),
        effective_from=now.date() - timedelta(days=2),
    )
    received = (now - timedelta(hours=1)).isoformat()
    rows = "\n".join(f"lead{i}@example.com,Acme,120,{received}" for i in range(25))
    upload = SimpleUploadedFile(
        "leads.csv", f"email,company,company_size,received_at\n{rows}".encode(), "text/csv"
    )
    app = make_app(broker_url)
    previous = current_app._get_current_object()
    app.set_current()  # the view sends the task through the current app
    client = APIClient()
    client.force_authenticate(marketer)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            job = client.post(
                f"/api/imports/?agreement={agreement.pk}", {"file": upload}, format="multipart"
            ).json()

            def finished():
                """the import is done"""
                return client.get(f"/api/imports/{job['id']}/").json()["state"] == "done"

            wait_for(finished)
    finally:
        previous.set_current()
    answer = client.get(f"/api/imports/{job['id']}/").json()
    assert (answer["rows"], answer["created"], answer["error_count"]) == (25, 25, 0)
    assert Lead.objects.filter(owner=rep).count() == 25
