"""Two senders, or two collectors, at once on real PostgreSQL: each event is delivered
once (SKIP LOCKED claims), and collected once (unique keys)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from integrations.feed import events_collect
from integrations.models import Event, WebhookDelivery
from integrations.sender import webhooks_send
from integrations.services import endpoint_create
from sla.models import MonthlyCommitment
from tests.factories import AgreementFactory

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _twice(work):
    errors = []

    def run():
        try:
            work()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def _commitments(count):
    agreement = AgreementFactory()
    MonthlyCommitment.objects.bulk_create(
        MonthlyCommitment(
            agreement=agreement,
            month=f"{2000 + i // 12}-{i % 12 + 1:02d}",
            quota=10,
            logged_at=T0 + timedelta(minutes=1),
        )
        for i in range(count)
    )


def test_two_collectors_at_once_make_each_delivery_once(receiver):
    endpoint_create(url=receiver.url, events=["commitment.logged"], by=None, at=T0)
    _commitments(50)

    _twice(lambda: events_collect(at=T0 + timedelta(minutes=2)))

    assert Event.objects.count() == 50
    assert WebhookDelivery.objects.count() == 50


def test_two_senders_at_once_post_each_event_once(receiver):
    endpoint_create(url=receiver.url, events=["commitment.logged"], by=None, at=T0)
    _commitments(30)
    events_collect(at=T0 + timedelta(minutes=2))

    _twice(lambda: webhooks_send(at=T0 + timedelta(minutes=2)))

    ids = [request.headers["webhook-id"] for request in receiver.received]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_the_same_event_posted_twice_at_once_is_applied_once(db):
    import json
    import time

    from django.test import Client

    from integrations.services import source_create
    from leads.models import Touch
    from sla.actions import lead_deliver
    from tests.integrations.conftest import sign
    from tests.sla.lead_world import build_world

    world = build_world()
    source, secret = source_create(name="Dialer", agreement=world.a, user=world.ada, at=T0)
    lead, _ = lead_deliver(
        by=world.maria,
        data={"email": "dana@example.com", "company_size": 200, "external_id": "crm-1"},
        agreement=world.a,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    event = {
        "id": "call-1",
        "type": "touch",
        "lead_external_id": "crm-1",
        "kind": "call",
        "outcome": "no_answer",
        "at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    body = json.dumps({"events": [event]}).encode()
    answers = []

    def post():
        message_id = f"m-{threading.get_ident()}"
        ts = int(time.time())
        answers.append(
            Client()
            .post(
                "/api/events/",
                data=body,
                content_type="application/json",
                HTTP_WEBHOOK_ID=message_id,
                HTTP_WEBHOOK_TIMESTAMP=str(ts),
                HTTP_WEBHOOK_SIGNATURE=sign(secret, message_id, ts, body),
            )
            .json()["results"][0]["status"]
        )

    _twice(post)

    assert sorted(answers) == ["applied", "duplicate"]
    assert Touch.objects.filter(lead=lead).count() == 1
