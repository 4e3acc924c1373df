"""Outbound webhooks: the change feed, signed delivery to a real local receiver, retries,
disabling, and server-side request forgery refusals."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations import transport
from integrations.feed import events_collect
from integrations.models import Event, WebhookDelivery, WebhookEndpoint
from integrations.sender import webhooks_send
from integrations.services import endpoint_create, secret_rotate
from sla.actions import lead_assign, lead_deliver
from sla.models import MonthlyCommitment, Notification
from tests.factories import FlagFactory
from tests.integrations.conftest import verify
from tests.sla.lead_world import build_world

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0, 0, 0, 0, 0, 0]
    return build_world()


def _endpoint(receiver, events=("lead.delivered",), at=T0):
    return endpoint_create(url=receiver.url, events=list(events), by=None, at=at)


_emails = itertools.count()


def _deliver(world, n=1, at=T0 + timedelta(minutes=1)):
    # The clock travels too: on SQLite the lead's created_at is stamped by the model.
    with time_machine.travel(at, tick=False):
        return [
            lead_deliver(
                by=world.ada,
                data={"email": f"lee{next(_emails)}@example.com", "company_size": 120},
                agreement=world.a,
                now=at,
            )[0]
            for _ in range(n)
        ]


def test_a_delivered_lead_reaches_the_endpoint_signed_with_its_secret(world, receiver):
    endpoint, secret = _endpoint(receiver)
    [lead] = _deliver(world)

    events_collect(at=T0 + timedelta(minutes=2))
    webhooks_send(at=T0 + timedelta(minutes=2))

    [request] = receiver.received
    assert verify(secret, request.headers, request.body) is True
    body = json.loads(request.body)
    assert body["id"] == request.headers["webhook-id"] == f"evt_lead.delivered_{lead.pk}"
    assert body["type"] == "lead.delivered"
    assert body["data"]["lead"] == lead.pk
    assert body["data"]["owner"] == lead.owner.username
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.response_ms is not None


def test_a_wrong_secret_does_not_verify(world, receiver):
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    webhooks_send(at=T0 + timedelta(minutes=2))
    assert (
        verify("whsec_" + "QUJD" * 8, receiver.received[0].headers, receiver.received[0].body)
        is False
    )


def test_collecting_again_or_later_makes_no_second_event_or_delivery(world, receiver):
    _endpoint(receiver, events=["lead.delivered", "lead.assigned"])
    _deliver(world, n=2)

    for minutes in (2, 2, 3, 5):  # the lookback reads the same rows again
        events_collect(at=T0 + timedelta(minutes=minutes))
    webhooks_send(at=T0 + timedelta(minutes=5))
    webhooks_send(at=T0 + timedelta(minutes=6))

    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert len(ids) == 4  # two deliveries and two initial assignments
    assert len(set(ids)) == 4
    assert WebhookDelivery.objects.count() == 4
    assert {e.type for e in Event.objects.all()} == {"lead.delivered", "lead.assigned"}


def test_a_reassignment_is_a_lead_assigned_event(world, receiver):
    _endpoint(receiver, events=["lead.assigned"])
    [lead] = _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    other = "sofia" if lead.owner.username == "sam" else "sam"
    lead_assign(lead=lead, by=world.morgan, owner=other, now=T0 + timedelta(minutes=3))

    events_collect(at=T0 + timedelta(minutes=4))
    webhooks_send(at=T0 + timedelta(minutes=4))

    moves = [json.loads(r.body)["data"] for r in receiver.received]
    assert [(m["from"], m["to"]) for m in moves] == [
        (None, lead.owner.username),
        (lead.owner.username, other),
    ]


def test_an_endpoint_gets_only_events_after_it_was_created(world, receiver):
    _deliver(world, at=T0 + timedelta(minutes=1))
    _endpoint(receiver, at=T0 + timedelta(minutes=2))
    _deliver(world, at=T0 + timedelta(minutes=3))

    events_collect(at=T0 + timedelta(minutes=4))

    assert WebhookDelivery.objects.count() == 1


def test_a_500_is_retried_with_the_same_webhook_id_until_delivered(world, receiver):
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [500, 503]

    for _ in range(3):  # one attempt per row per pass
        webhooks_send(at=T0 + timedelta(minutes=2))

    assert [r.headers["webhook-id"] for r in receiver.received] == [
        receiver.received[0].headers["webhook-id"]
    ] * 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)


def test_a_timeout_is_retried(world, receiver, monkeypatch):
    monkeypatch.setattr(transport, "READ_TIMEOUT", 0.3)
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [("sleep", 1.0)]

    webhooks_send(at=T0 + timedelta(minutes=2))
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "pending"
    assert "timed out" in delivery.last_error.lower() or "timeout" in delivery.last_error.lower()

    webhooks_send(at=T0 + timedelta(minutes=2))
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)


def test_retries_wait_their_backoff(world, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [60, 120]
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [500]

    webhooks_send(at=T0 + timedelta(minutes=2))
    delivery = WebhookDelivery.objects.get()
    assert T0 + timedelta(minutes=2) <= delivery.next_attempt_at <= T0 + timedelta(minutes=3)
    webhooks_send(at=T0 + timedelta(minutes=2, seconds=0))
    assert len(receiver.received) in (1, 2)  # only if the jitter drew ~0
    webhooks_send(at=T0 + timedelta(minutes=3, seconds=1))
    delivery.refresh_from_db()
    assert delivery.state == "delivered"


def test_another_4xx_is_not_retried(world, receiver):
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [410]

    webhooks_send(at=T0 + timedelta(minutes=2))
    webhooks_send(at=T0 + timedelta(minutes=3))

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("failed", 1, 410)
    assert len(receiver.received) == 1


def test_retries_stop_when_the_schedule_is_spent(world, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0]
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [500] * 10

    for _ in range(5):
        webhooks_send(at=T0 + timedelta(minutes=2))

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("failed", 3)


def test_an_endpoint_that_keeps_failing_is_disabled_and_the_admins_told(world, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    endpoint, _ = _endpoint(receiver)
    _deliver(world, n=2)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [500, 500]

    webhooks_send(at=T0 + timedelta(minutes=2))

    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "2 events all failed" in endpoint.disabled_reason
    [note] = Notification.objects.filter(key__startswith=f"webhook-disabled:{endpoint.pk}:")
    assert (note.channel, note.address, note.recipient) == ("email", "ada@example.com", world.ada)
    # Nothing more is collected or sent to it.
    _deliver(world, n=1, at=T0 + timedelta(minutes=3))
    events_collect(at=T0 + timedelta(minutes=4))
    webhooks_send(at=T0 + timedelta(minutes=4))
    assert WebhookDelivery.objects.count() == 2
    assert len(receiver.received) == 2


def test_an_endpoint_failing_for_a_day_is_disabled(world, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [3600] * 30
    endpoint, _ = _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    receiver.script = [500] * 30

    webhooks_send(at=T0 + timedelta(minutes=2))
    endpoint.refresh_from_db()
    assert endpoint.active is True
    webhooks_send(at=T0 + timedelta(days=1, minutes=3))

    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert endpoint.disabled_reason.startswith("Failing since")


def test_after_rotation_both_secrets_sign_for_a_day(world, receiver):
    endpoint, old = _endpoint(receiver, events=["lead.delivered"])
    new = secret_rotate(owner=endpoint, at=T0)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    webhooks_send(at=T0 + timedelta(minutes=2))

    [request] = receiver.received
    assert len(request.headers["webhook-signature"].split()) == 2
    assert verify(old, request.headers, request.body) is True
    assert verify(new, request.headers, request.body) is True

    _deliver(world, at=T0 + timedelta(days=1, minutes=1))
    events_collect(at=T0 + timedelta(days=1, minutes=2))
    webhooks_send(at=T0 + timedelta(days=1, minutes=2))
    later = receiver.received[1]
    assert len(later.headers["webhook-signature"].split()) == 1
    assert verify(old, later.headers, later.body) is False
    assert verify(new, later.headers, later.body) is True


def test_flags_raised_and_resolved_are_events(world, receiver):
    _endpoint(receiver, events=["flag.raised", "flag.resolved"])
    flag = FlagFactory(
        agreement=world.a, noticed_at=T0 + timedelta(minutes=1), raised_at=T0, due_at=T0
    )
    events_collect(at=T0 + timedelta(minutes=2))
    flag.state, flag.resolved_at, flag.resolution_note = "resolved", T0 + timedelta(minutes=3), "ok"
    flag.save()
    events_collect(at=T0 + timedelta(minutes=4))
    webhooks_send(at=T0 + timedelta(minutes=4))

    bodies = [json.loads(r.body) for r in receiver.received]
    assert [b["id"] for b in bodies] == [
        f"evt_flag.raised_{flag.pk}",
        f"evt_flag.resolved_{flag.pk}",
    ]
    assert bodies[1]["data"]["note"] == "ok"


def test_collecting_200_events_costs_a_constant_number_of_queries(
    world, receiver, django_assert_max_num_queries
):
    _endpoint(receiver, events=["commitment.logged"])
    _endpoint(receiver, events=["commitment.logged", "flag.raised"])

    def log(count, start):
        MonthlyCommitment.objects.bulk_create(
            MonthlyCommitment(
                agreement=world.a,
                month=f"{2000 + (start + i) // 12}-{(start + i) % 12 + 1:02d}",
                quota=10,
                logged_at=T0 + timedelta(minutes=1),
            )
            for i in range(count)
        )

    log(10, 0)
    with CaptureQueriesContext(connection) as few:
        events_collect(at=T0 + timedelta(minutes=2))
    MonthlyCommitment.objects.all().delete()
    log(200, 100)
    # PostgreSQL: one INSERT per table. SQLite splits a multi-row INSERT at its 999
    # parameters, so a few more there, still not one per event.
    limit = len(few) if connection.vendor == "postgresql" else 20
    with django_assert_max_num_queries(limit):
        events_collect(at=T0 + timedelta(minutes=3))

    assert WebhookDelivery.objects.count() == 2 * 210


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "http://93.184.215.14/hook",
        "ftp://example.com/hook",
        "https://user:pw@93.184.215.14/hook",
    ],
)
def test_a_private_or_unsafe_url_is_refused(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(ValidationError) as refused:
        endpoint_create(url=url, events=["lead.delivered"], by=None, at=T0)
    assert "url" in refused.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_the_address_is_checked_again_when_sending(world, receiver, settings):
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False

    webhooks_send(at=T0 + timedelta(minutes=2))

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert delivery.last_error.startswith("refused:")
    assert receiver.received == []


def test_the_beat_runs_collection_every_minute_with_an_expiry(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["collect-webhook-events"]
    assert (entry["task"], entry["schedule"]) == ("integrations.tasks.collect_events", 60)
    assert settings.CELERY_BEAT_SCHEDULE["send-webhooks"]["options"]["expires"] > 0


def test_collection_is_the_plain_function_the_task_calls(world, receiver):
    from integrations.tasks import collect_events

    _endpoint(receiver)
    _deliver(world, at=T0 + timedelta(minutes=1))
    collect_events((T0 + timedelta(minutes=2)).isoformat())
    assert WebhookDelivery.objects.count() == 1


def test_a_secret_sealed_under_another_secret_key_fails_without_sending(world, receiver, settings):
    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    settings.SECRET_KEY = "a-different-key"

    webhooks_send(at=T0 + timedelta(minutes=2))

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert "cannot be read" in delivery.last_error
    assert receiver.received == []


def test_a_flag_resolved_as_of_an_earlier_instant_is_still_an_event_once(world, receiver):
    _endpoint(receiver, events=["flag.resolved"])
    flag = FlagFactory(agreement=world.a, noticed_at=T0 + timedelta(minutes=1), raised_at=T0)
    events_collect(at=T0 + timedelta(minutes=2))
    # Hours later a touch logged late stops the clock as of the touch: resolved long ago.
    flag.state, flag.resolved_at = "resolved", T0 + timedelta(minutes=5)
    flag.save()

    for hours in (5, 6):
        events_collect(at=T0 + timedelta(hours=hours))
        webhooks_send(at=T0 + timedelta(hours=hours))

    assert [r.headers["webhook-id"] for r in receiver.received] == [f"evt_flag.resolved_{flag.pk}"]


def test_finished_deliveries_are_pruned_after_their_time(world, receiver):
    from integrations.sender import deliveries_prune

    _endpoint(receiver)
    _deliver(world)
    events_collect(at=T0 + timedelta(minutes=2))
    webhooks_send(at=T0 + timedelta(minutes=2))

    assert deliveries_prune(before=T0) == 0
    assert deliveries_prune(before=T0 + timedelta(days=31)) == 1
    assert not Event.objects.exists()
