"""The broker restarted (a Redis of the test's own, without persistence: every queued
message is lost): the checks and the outbox live in the database, so nothing is lost,
and nothing is sent twice."""

from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.utils import timezone

from sla.models import Flag, Notification
from tests.faults.conftest import clocks_bulk
from tests.faults.harness import wait_for

# Real PostgreSQL and Redis, the database shared with the processes the test starts.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

BREACHES = 40  # each: an e-mail to the rep, one to the manager, a chat post


def all_sent():
    """every notification is sent"""
    rows = Notification.objects.all()
    return rows.count() >= 3 * BREACHES and not rows.exclude(state="sent").exists()


def queued(url: str) -> int:
    return redis.Redis.from_url(url).llen("celery")


def test_tasks_queued_when_redis_restarts_are_made_good_by_the_next_ticks(
    procs, own_redis, sales_world, catcher, receiver
):
    procs.env["CELERY_BROKER_URL"] = own_redis.url
    now = timezone.now()
    clocks_bulk(
        agreement=sales_world["agreement"],
        owner=sales_world["rep"],
        count=BREACHES,
        due_at=lambda n: now - timedelta(minutes=5, seconds=n),
    )
    # Given beat queued ticks no worker has taken yet
    procs.beat()
    wait_for(lambda: queued(own_redis.url) >= 6, 30)

    # When Redis restarts, losing them, and a worker starts
    own_redis.restart()
    assert queued(own_redis.url) == 0
    assert not Flag.objects.exists()
    procs.worker()

    # Then the next ticks flag every miss once and send every message once
    def flagged():
        """every breach is flagged"""
        return Flag.objects.filter(kind="first_touch_breached").count() >= BREACHES

    wait_for(flagged, 60)
    wait_for(all_sent, 60)
    assert Flag.objects.filter(kind="first_touch_breached").count() == BREACHES
    expected = Counter(Notification.objects.values_list("key", flat=True))
    assert catcher.keys() + receiver.keys() == expected


def test_redis_restarted_while_sending_loses_nothing_and_repeats_at_most_the_one_in_flight(
    procs, own_redis, sales_world, catcher, receiver
):
    from sla.checks import run_all_checks

    procs.env["CELERY_BROKER_URL"] = own_redis.url
    procs.env["FAULTS_SENDING_LEASE_SECONDS"] = "5"
    now = timezone.now()
    clocks_bulk(
        agreement=sales_world["agreement"],
        owner=sales_world["rep"],
        count=BREACHES,
        due_at=lambda n: now - timedelta(minutes=5, seconds=n),
    )
    run_all_checks(at=now)
    assert Notification.objects.count() == 3 * BREACHES
    # Given a worker (prefork, as in production) and a beat sending, slowly
    catcher.delay = 0.1
    procs.worker(pool="prefork")
    procs.beat()
    wait_for(lambda: sum(catcher.keys().values()) >= 15, 60, every=0.05)

    # When Redis restarts in the middle of it
    own_redis.restart()
    catcher.delay = 0.0

    # Then every message is delivered, none twice but at most the one in flight
    wait_for(all_sent, 90)
    expected = Counter(Notification.objects.values_list("key", flat=True))
    delivered = catcher.keys() + receiver.keys()
    assert set(delivered) == set(expected)
    twice = {key: n for key, n in delivered.items() if n > 1}
    assert len(twice) <= 1 and all(n == 2 for n in twice.values()), twice
