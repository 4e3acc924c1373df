"""A Celery worker SIGKILLed in the middle of a check pass, or of a send batch, loses
nothing and repeats nothing once a worker runs again."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sla.models import Clock, Flag, Notification
from tests.faults.conftest import clocks_bulk
from tests.faults.harness import wait_for

# Real PostgreSQL and Redis, the database shared with the processes the test starts.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

MANY = 2500  # enough that a pass takes long enough to be killed inside it


def worker_statement_running() -> bool:
    """a worker's statement on the flags is running"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE '%%sla_flag%%'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_pass_leaves_every_miss_flagged_once_after_restart(
    procs, tasks, sales_world
):
    # Given many clocks that fell due at different times in the last hour
    now = timezone.now()
    clocks = clocks_bulk(
        agreement=sales_world["agreement"],
        owner=sales_world["rep"],
        count=MANY,
        due_at=lambda n: now - timedelta(minutes=60) + timedelta(seconds=n % 3000),
        at_risk_at=lambda n: now - timedelta(minutes=120) + timedelta(seconds=n % 3000),
    )

    # When a worker is SIGKILLed while its check pass writes flags
    worker = procs.worker()
    tasks("sla.tasks.run_checks")
    wait_for(worker_statement_running, 60, every=0.02)
    worker.kill()
    breached_at_kill = Flag.objects.filter(kind="first_touch_breached").count()
    assert breached_at_kill < MANY, "the pass finished before the kill: nothing was tested"

    # ... and a new worker runs the next pass (as beat's next tick sends it)
    restarted = procs.worker()
    tasks("sla.tasks.run_checks")

    def all_flagged():
        """every due clock has its breach flag"""
        return Flag.objects.filter(kind="first_touch_breached").count() >= MANY

    wait_for(all_flagged, 90)
    tasks("sla.tasks.run_checks")  # one more pass: it must find nothing left to do
    wait_for(lambda: restarted.succeeded("sla.tasks.run_checks") >= 2, 30)

    # Then each miss is flagged once, dated at its due time, and queued once per person
    due = dict(Clock.objects.filter(id__in=[c.id for c in clocks]).values_list("id", "due_at"))
    breaches = list(
        Flag.objects.filter(kind="first_touch_breached").values("clock_id", "raised_at")
    )
    assert len(breaches) == MANY
    assert {b["clock_id"] for b in breaches} == set(due)
    assert all(b["raised_at"] == due[b["clock_id"]] for b in breaches)
    assert Flag.objects.filter(kind="first_touch_at_risk").count() == MANY
    breach_rows = Notification.objects.filter(flag__kind="first_touch_breached")
    assert breach_rows.filter(channel="email").count() == 2 * MANY  # the rep and the manager
    assert breach_rows.filter(channel="chat").count() == MANY


SEND = 40  # breaches; each one e-mail to the rep, one to the manager and one chat post


def test_a_worker_killed_mid_send_batch_delivers_everything_once_after_the_reclaim(
    procs, tasks, sales_world, catcher, receiver
):
    # Given breaches flagged and their messages queued (3 per breach), and a slow mail server
    now = timezone.now()
    clocks_bulk(
        agreement=sales_world["agreement"],
        owner=sales_world["rep"],
        count=SEND,
        due_at=lambda n: now - timedelta(minutes=30, seconds=n),
    )
    from sla.checks import run_all_checks

    run_all_checks(at=now)
    expected = Notification.objects.count()
    assert expected == 3 * SEND
    catcher.delay = 0.1

    # When the worker is SIGKILLed in the middle of sending its batch
    lease = 5
    worker = procs.worker(FAULTS_SENDING_LEASE_SECONDS=lease)
    tasks("sla.tasks.send_notifications")

    def some_delivered():
        """a part of the batch reached the mail server"""
        return sum(catcher.keys().values()) >= 20

    wait_for(some_delivered, 60, every=0.05)
    worker.kill()
    catcher.delay = 0.0
    handed_over = set(catcher.keys()) | set(receiver.keys())
    assert len(handed_over) < expected, "the batch finished before the kill: nothing was tested"
    # ... every message the mail server accepted is marked sent but the one in flight
    marked = set(Notification.objects.filter(state="sent").values_list("key", flat=True))
    assert marked <= handed_over
    assert len(handed_over - marked) <= 1, sorted(handed_over - marked)

    # ... and a worker and beat run again (the reclaim is on the beat's schedule)
    procs.worker(FAULTS_SENDING_LEASE_SECONDS=lease)
    procs.beat(FAULTS_SENDING_LEASE_SECONDS=lease)

    def all_sent():
        """every notification is marked sent"""
        return Notification.objects.filter(state="sent").count() == expected

    wait_for(all_sent, 120)

    # Then every message reached its receiver, none twice but the one in flight at the kill
    mail, posts = catcher.keys(), receiver.keys()
    email_keys = set(Notification.objects.filter(channel="email").values_list("key", flat=True))
    chat_keys = set(Notification.objects.filter(channel="chat").values_list("key", flat=True))
    assert set(mail) == email_keys
    assert set(posts) == chat_keys
    twice = {key: n for key, n in (mail + posts).items() if n > 1}
    assert len(twice) <= 1 and all(n == 2 for n in twice.values()), twice
