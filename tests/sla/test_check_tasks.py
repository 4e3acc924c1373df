"""The Celery tasks are thin: an instant in, a service called, a summary out."""

from datetime import UTC, datetime

import pytest
from django.conf import settings

from accounts.models import Role
from sla.models import Flag, Notification
from sla.tasks import queue_digests, run_checks, send_notifications
from tests.factories import AgreementFactory, ClockFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_run_checks_runs_every_check_as_of_the_instant_given():
    lead = LeadFactory(agreement=AgreementFactory(), owner=UserFactory(role=Role.SALES))
    ClockFactory(lead=lead)  # due 2026-12-01 19:00 UTC

    counts = run_checks.run(at_iso="2026-12-01T19:00:00+00:00")

    assert counts["first_touch_breached"] == 1
    assert Flag.objects.get(kind="first_touch_breached").noticed_at == datetime(
        2026, 12, 1, 19, 0, tzinfo=UTC
    )


def test_run_checks_twice_raises_nothing_new():
    lead = LeadFactory(agreement=AgreementFactory(), owner=UserFactory(role=Role.SALES))
    ClockFactory(lead=lead)
    run_checks.run(at_iso="2026-12-01T19:00:00+00:00")
    assert run_checks.run(at_iso="2026-12-01T19:01:00+00:00")["first_touch_breached"] == 0


def test_send_notifications_and_queue_digests_run_as_of_now():
    assert send_notifications.run() == {"sent": 0, "retry": 0, "failed": 0, "deferred": 0}
    assert queue_digests.run() == 0
    assert not Notification.objects.exists()


def test_the_checks_the_sender_and_the_digest_are_on_the_beat_schedule():
    tasks = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks["sla.tasks.run_checks"]["schedule"] == 60
    assert tasks["sla.tasks.run_checks"]["options"]["expires"] == 55
    assert tasks["sla.tasks.send_notifications"]["schedule"] == 30
    assert tasks["sla.tasks.queue_digests"]["schedule"] == 900


def test_the_tasks_acknowledge_late_and_have_time_limits():
    for task in (run_checks, send_notifications, queue_digests):
        assert task.acks_late is True
        assert task.time_limit and task.soft_time_limit < task.time_limit
