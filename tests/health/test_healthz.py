"""GET /healthz reports the database, the broker and the worker's heartbeat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from health.services import heartbeat_record

pytestmark = pytest.mark.django_db


def test_healthy_with_database_broker_and_a_worker(client):
    heartbeat_record(name="worker", at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker"] == "ok"


def test_no_worker_ever_started_is_missing_and_unhealthy(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"] == "missing"
    assert response.json()["worker_last_seen_at"] is None


def test_a_worker_records_its_first_heartbeat_as_soon_as_it_is_ready(client):
    from slaops.celery import _first_heartbeat

    _first_heartbeat(sender=None)
    assert client.get("/healthz").json()["worker"] == "ok"


def test_unreachable_broker_answers_503_naming_it(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


def test_recent_heartbeat_reports_worker_ok(client):
    heartbeat_record(name="worker", at=timezone.now() - timedelta(seconds=30))
    body = client.get("/healthz").json()
    assert body["worker"] == "ok"
    assert body["worker_last_seen_at"] is not None


def test_worker_silent_for_five_ticks_is_stale_and_unhealthy(client):
    heartbeat_record(name="worker", at=timezone.now() - timedelta(minutes=6))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"] == "stale"
