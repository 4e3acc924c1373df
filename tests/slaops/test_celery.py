"""A real Celery worker consumes a task end to end, on Redis and on the embedded broker."""

import time

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from health.models import WorkerHeartbeat


@pytest.fixture(autouse=True)
def _broker_from_the_test(monkeypatch):
    # Celery lets the CELERY_BROKER_URL environment variable override app.conf.broker_url:
    # without this, the test's own broker would silently be replaced by CI's.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)


def make_app(broker_url: str, transport_options: dict) -> Celery:
    app = Celery("slaops-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = transport_options
    app.autodiscover_tasks(["sla", "health"], force=True)
    app.loader.import_default_modules()
    return app


def wait_for_heartbeat(name: str, seconds: float = 20) -> WorkerHeartbeat:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        beat = WorkerHeartbeat.objects.filter(name=name).first()
        if beat is not None:
            return beat
        time.sleep(0.1)
    raise AssertionError(
        f"no heartbeat {name!r} within {seconds}s: the worker did not run the task"
    )


def run_heartbeat_through(app: Celery, name: str) -> WorkerHeartbeat:
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.send_task("health.tasks.heartbeat", kwargs={"name": name})
        return wait_for_heartbeat(name)


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_sent_through_redis(redis_url):
    app = make_app(redis_url, {"visibility_timeout": 3600})
    beat = run_heartbeat_through(app, "redis-e2e")
    assert beat.last_seen_at is not None


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_task_sent_through_the_filesystem_broker(tmp_path):
    folder = str(tmp_path / "queue")
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    options = {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "control_folder": str(tmp_path / "control"),
    }
    app = make_app("filesystem://", options)
    beat = run_heartbeat_through(app, "filesystem-e2e")
    assert beat.last_seen_at is not None


def test_every_beat_entry_expires_so_a_backlog_never_piles_up():
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry.get("options", {}).get("expires"), f"beat entry {name} has no expires"
