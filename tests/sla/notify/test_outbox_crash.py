"""Exactly once: a sender that dies mid-pass leaves what it handed over marked sent, and
what it had not sent comes back after its short lease, to be sent once."""

from datetime import timedelta

import pytest
from django.core import mail

from sla.models import Notification
from sla.notify import MAX_ATTEMPTS, notifications_reclaim, notifications_send, outbox
from sla.notify.outbox import CLAIM_BATCH, sending_lease
from tests.sla.notify import outbox_world
from tests.sla.notify.outbox_world import AT, DELIVERED, queue, states

pytestmark = pytest.mark.django_db

COUNTING = "tests.sla.notify.outbox_world.CountingBackend"
CRASHING = "tests.sla.notify.outbox_world.CrashingBackend"


@pytest.fixture(autouse=True)
def _fresh_receiver(settings):
    DELIVERED.clear()
    settings.EMAIL_BACKEND = COUNTING
    yield
    DELIVERED.clear()


def crash_pass(settings, *, at=AT, limit=100):
    settings.EMAIL_BACKEND = CRASHING
    with pytest.raises(SystemExit):
        notifications_send(at=at, limit=limit)
    settings.EMAIL_BACKEND = COUNTING


def test_the_lease_is_two_minutes_by_default():
    assert sending_lease() == timedelta(minutes=2)


def test_a_crash_after_message_k_of_n_leaves_k_sent_and_none_twice(settings):
    # Given 8 messages, and a sender that dies after handing over 3
    queue(8)
    crash_pass(settings)

    # Then the 3 it handed over are sent, the one in flight stays claimed, and the
    # rest of its batch went back to pending
    assert len(DELIVERED) == 3
    assert states() == {"sent": 3, "sending": 1, "pending": 4}
    sent = set(Notification.objects.filter(state="sent").values_list("key", flat=True))
    assert sent == set(DELIVERED)

    # When the next pass runs inside the lease, it sends the others but not the claimed one
    assert notifications_send(at=AT + timedelta(seconds=30))["sent"] == 4
    assert states() == {"sent": 7, "sending": 1}

    # And after the lease the claimed one goes out too: every message exactly once
    assert notifications_send(at=AT + sending_lease())["sent"] == 1
    assert sorted(DELIVERED) == sorted(f"m:{i}" for i in range(8))
    assert states() == {"sent": 8}


def test_the_message_in_flight_is_sent_again_once_its_lease_runs_out(settings, monkeypatch):
    # Given a sender that dies while handing over its very first message
    queue(1)
    monkeypatch.setattr(outbox_world.CrashingBackend, "CRASH_AFTER", 0)
    crash_pass(settings)
    row = Notification.objects.get()
    assert (row.state, row.attempts, row.not_before) == ("sending", 1, AT + sending_lease())

    # Then no pass takes it before the lease ends, and the first after it sends it
    assert notifications_send(at=AT + sending_lease() - timedelta(seconds=1))["sent"] == 0
    assert notifications_send(at=AT + sending_lease())["sent"] == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("sent", 2)
    assert DELIVERED == ["m:0"]


def test_reclaim_puts_back_only_claims_whose_lease_ran_out(settings):
    queue(2)
    Notification.objects.filter(key="m:0").update(state="sending", not_before=AT)
    Notification.objects.filter(key="m:1").update(
        state="sending", not_before=AT + timedelta(minutes=1)
    )

    assert notifications_reclaim(at=AT) == 1
    assert dict(Notification.objects.values_list("key", "state")) == {
        "m:0": "pending",
        "m:1": "sending",
    }


def test_a_message_whose_sender_keeps_dying_is_given_up(settings):
    # A row that kills its sender every time must not kill every pass forever.
    [row] = queue(1)
    Notification.objects.filter(id=row.id).update(
        state="sending", attempts=MAX_ATTEMPTS, not_before=AT
    )

    assert notifications_send(at=AT)["sent"] == 0

    row.refresh_from_db()
    assert (row.state, row.last_error) == ("failed", "the sender stopped while sending it")
    assert DELIVERED == []


def test_each_row_is_marked_sent_before_the_next_is_sent(settings, monkeypatch):
    # Given a mail server that looks at the outbox whenever it accepts a message
    queue(CLAIM_BATCH + 2)
    seen = []
    original = outbox_world.CountingBackend.send_messages

    def looking(self, messages):
        seen.append(Notification.objects.filter(state="sent").count())
        return original(self, messages)

    monkeypatch.setattr(outbox_world.CountingBackend, "send_messages", looking)

    notifications_send(at=AT)

    # Then the k-th message found the k-1 before it already marked sent
    assert seen == list(range(CLAIM_BATCH + 2))


def test_a_pass_out_of_time_puts_its_unbegun_rows_back_untouched(settings, monkeypatch):
    # Given messages that each take 20 s to hand over, and a pass with 30 s to spend
    queue(CLAIM_BATCH)
    now = [0.0]
    original = outbox_world.CountingBackend.send_messages

    def slow(self, messages):
        now[0] += 20
        return original(self, messages)

    monkeypatch.setattr(outbox_world.CountingBackend, "send_messages", slow)
    monkeypatch.setattr("sla.notify.outbox.time.monotonic", lambda: now[0])

    outcome = notifications_send(at=AT, budget_seconds=30)

    # Then it sends two, and the rest of its batch is pending again as if never claimed
    assert outcome == {"sent": 2, "retry": 0, "failed": 0, "deferred": CLAIM_BATCH - 2}
    back = Notification.objects.filter(state="pending")
    assert back.count() == CLAIM_BATCH - 2
    assert set(back.values_list("attempts", flat=True)) == {0}
    assert set(back.values_list("not_before", flat=True)) == {AT}


def test_the_limit_caps_a_pass_and_the_rest_wait_for_the_next(settings):
    queue(12)
    assert notifications_send(at=AT, limit=7)["sent"] == 7
    assert notifications_send(at=AT, limit=7)["sent"] == 5
    assert len(DELIVERED) == 12 == len(set(DELIVERED))


def test_the_message_keeps_its_idempotency_headers(settings):
    queue(1)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    notifications_send(at=AT)

    [message] = mail.outbox
    assert message.extra_headers["X-Slaops-Key"] == "m:0"
    assert message.extra_headers["Message-ID"].endswith("@slaops>")


def test_a_time_limit_mid_send_leaves_that_message_in_flight_and_frees_the_rest(
    settings, monkeypatch
):
    # Given a pass stopped by its soft time limit while handing over its second message
    from celery.exceptions import SoftTimeLimitExceeded

    queue(4)
    original = outbox_world.CountingBackend.send_messages

    def stopped(self, messages):
        if DELIVERED:
            raise SoftTimeLimitExceeded()
        return original(self, messages)

    monkeypatch.setattr(outbox_world.CountingBackend, "send_messages", stopped)
    with pytest.raises(SoftTimeLimitExceeded):
        notifications_send(at=AT)

    # Then it is not counted as a failed attempt to retry at once: it waits for its lease
    assert states() == {"sent": 1, "sending": 1, "pending": 2}
    assert Notification.objects.get(state="sending").last_error == ""


def test_a_crash_between_webhook_posts_sends_no_post_twice(settings, monkeypatch):
    # Given chat rows for a real receiver, and a sender that dies after two posts
    from tests.sla.notify.chat_receiver import serve

    with serve() as (url, received):
        rows = queue(5)
        Notification.objects.filter(id__in=[r.id for r in rows]).update(channel="chat", address=url)
        real = outbox.urllib.request.urlopen

        def dying(*args, **kwargs):
            if len(received) >= 2:
                raise SystemExit("killed mid-pass")
            return real(*args, **kwargs)

        monkeypatch.setattr(outbox.urllib.request, "urlopen", dying)
        with pytest.raises(SystemExit):
            notifications_send(at=AT)
        monkeypatch.setattr(outbox.urllib.request, "urlopen", real)

        # When passes run again, before and after the lease
        notifications_send(at=AT + timedelta(seconds=30))
        notifications_send(at=AT + sending_lease())

        # Then each post reached the receiver once, with its idempotency key
        keys = [headers["Idempotency-Key"] for headers, _ in received]
        assert sorted(keys) == sorted(f"m:{i}" for i in range(5))
        assert states() == {"sent": 5}
