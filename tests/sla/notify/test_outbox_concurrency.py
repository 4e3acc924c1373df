"""Two senders at once on PostgreSQL, each with its own connection: every message is
handed over exactly once between them, and each is marked sent in its own commit."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from sla.models import Notification
from sla.notify import notifications_send
from tests.sla.notify import outbox_world
from tests.sla.notify.outbox_world import AT, DELIVERED, queue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MESSAGES = 300


class SlowBackend(outbox_world.CountingBackend):
    """A mail server taking a few milliseconds per message, so the senders interleave."""

    def send_messages(self, messages):
        time.sleep(0.002)
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def _fresh_receiver(settings):
    DELIVERED.clear()
    settings.EMAIL_BACKEND = "tests.sla.notify.test_outbox_concurrency.SlowBackend"
    yield
    DELIVERED.clear()


def run_senders(count: int, *, at, passes: int = 20) -> list[dict]:
    results, errors = [], []
    start = threading.Barrier(count)

    def sender():
        try:
            start.wait(10)
            for _ in range(passes):
                results.append(notifications_send(at=at, limit=50))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_two_senders_at_once_never_send_a_message_twice():
    # Given 300 due messages
    queue(MESSAGES)

    # When two senders work the outbox at the same moment
    results = run_senders(2, at=AT)

    # Then each message reached the mail server once, and both did part of the work
    assert len(DELIVERED) == MESSAGES
    assert len(set(DELIVERED)) == MESSAGES
    assert Notification.objects.filter(state="sent").count() == MESSAGES
    assert sum(r["sent"] for r in results) == MESSAGES
    assert all(r["retry"] == r["failed"] == 0 for r in results)


def test_senders_racing_a_reclaim_after_a_crash_send_each_message_once():
    # Given a crashed sender's claims whose lease ran out, beside fresh messages
    queue(100, prefix="fresh")
    stale = queue(50, prefix="stale")
    Notification.objects.filter(id__in=[r.id for r in stale]).update(
        state="sending", attempts=1, not_before=AT - timedelta(seconds=1)
    )

    # When three senders start at once (each reclaims, then claims)
    run_senders(3, at=AT, passes=10)

    # Then every message went out exactly once
    assert len(DELIVERED) == 150 == len(set(DELIVERED))
    assert Notification.objects.exclude(state="sent").count() == 0


def test_a_sent_mark_is_committed_before_the_next_message_is_sent():
    # Given a mail server that asks another connection what the outbox says is sent
    queue(4)
    seen = []

    def look():
        seen.append(Notification.objects.filter(state="sent").count())
        connection.close()

    original = SlowBackend.send_messages

    def looking(self, messages):
        reader = threading.Thread(target=look)
        reader.start()
        reader.join(10)
        return original(self, messages)

    SlowBackend.send_messages = looking
    try:
        notifications_send(at=AT)
    finally:
        SlowBackend.send_messages = original

    # Then outside the sender's connection, each earlier message is already sent
    assert seen == [0, 1, 2, 3]
