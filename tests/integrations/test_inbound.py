"""POST /api/events/: refused whole (writing nothing) when unsigned, wrongly signed,
replayed, stale, oversized or malformed; otherwise applied, duplicate or error per event."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from integrations.models import InboundEvent, InboundMessage
from integrations.services import secret_rotate, source_create
from leads.models import Lead, Touch
from sla.actions import lead_deliver
from tests.integrations.conftest import sign
from tests.sla.lead_world import build_world

NOW = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(clock):
    world = build_world()
    world.source, world.secret = source_create(
        name="Dialer", agreement=world.a, user=world.ada, at=NOW
    )
    world.lead, _ = lead_deliver(
        by=world.maria,
        data={"email": "Dana@example.com", "company_size": 200, "external_id": "crm-1"},
        agreement=world.a,
        now=NOW - timedelta(hours=1),
    )
    return world


def _post(client, secret, payload, *, message_id="msg-1", timestamp=None, raw=None, headers=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    timestamp = int((timestamp or NOW).timestamp())
    sent = {
        "HTTP_WEBHOOK_ID": message_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(timestamp),
        "HTTP_WEBHOOK_SIGNATURE": sign(secret, message_id, timestamp, body),
    }
    if headers is not None:
        sent = headers
    return client.post("/api/events/", data=body, content_type="application/json", **sent)


def _touch(event_id="call-1", **fields):
    return {
        "id": event_id,
        "type": "touch",
        "lead_external_id": "crm-1",
        "kind": "call",
        "outcome": "left_message",
        "at": (NOW - timedelta(minutes=5)).isoformat(),
        **fields,
    }


def _nothing_written(world):
    return (
        not InboundMessage.objects.exists()
        and not InboundEvent.objects.exists()
        and not Touch.objects.filter(lead=world.lead).exists()
    )


def test_a_touch_is_applied_as_by_the_leads_owner(world, client):
    answer = _post(client, world.secret, {"events": [_touch()]})

    assert answer.status_code == 200, answer.content
    assert answer.json() == {"results": [{"index": 0, "status": "applied", "errors": None}]}
    [touch] = Touch.objects.filter(lead=world.lead)
    assert (touch.kind, touch.outcome, touch.by) == ("call", "left_message", world.lead.owner)
    world.lead.refresh_from_db()
    assert world.lead.sla_first_state != "running"


def test_a_batch_is_answered_per_event(world, client):
    events = [
        _touch("call-1"),
        _touch("call-1"),  # the same id again in the batch
        _touch("call-2", lead_external_id="nope"),
        _touch("call-3", kind="pigeon"),
        {"id": "st-1", "type": "stage", "email": "DANA@Example.com", "stage": "engaged"},
        {"id": "new-1", "type": "lead", "lead": {"email": "lee@example.com", "company_size": 90}},
        {"id": "new-2", "type": "lead", "lead": {"company_size": 90}},
        {"type": "touch"},
        "not an object",
    ]

    results = _post(client, world.secret, {"events": events}).json()["results"]

    assert [r["status"] for r in results] == [
        "applied",
        "duplicate",
        "error",
        "error",
        "applied",
        "applied",
        "error",
        "error",
        "error",
    ]
    assert "lead_external_id" in results[2]["errors"]
    assert "kind" in results[3]["errors"]
    assert "lead.email" in results[6]["errors"]
    assert "id" in results[7]["errors"]
    world.lead.refresh_from_db()
    assert world.lead.stage.slug == "engaged"
    created = Lead.objects.get(email="lee@example.com")
    assert created.terms.agreement == world.a
    assert set(InboundEvent.objects.values_list("external_id", flat=True)) == {
        "call-1",
        "st-1",
        "new-1",
    }


def test_events_sent_again_in_a_new_message_are_duplicates(world, client):
    events = [
        _touch("call-1"),
        {"id": "new-1", "type": "lead", "lead": {"email": "lee@example.com", "company_size": 90}},
    ]
    _post(client, world.secret, {"events": events}, message_id="m1")
    again = _post(client, world.secret, {"events": events}, message_id="m2").json()["results"]

    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert Touch.objects.filter(lead=world.lead).count() == 1
    assert Lead.objects.filter(email="lee@example.com").count() == 1


def test_an_event_in_error_may_be_sent_again_once_fixed(world, client):
    bad = _touch("call-9", at=(NOW + timedelta(hours=1)).isoformat())
    first = _post(client, world.secret, {"events": [bad]}, message_id="m1").json()["results"]
    assert first[0]["status"] == "error"
    assert "at" in first[0]["errors"]
    fixed = _post(client, world.secret, {"events": [_touch("call-9")]}, message_id="m2").json()
    assert fixed["results"][0]["status"] == "applied"


def test_unsigned_is_401_and_writes_nothing(world, client):
    answer = _post(client, world.secret, {"events": [_touch()]}, headers={})
    assert answer.status_code == 401
    assert _nothing_written(world)


def test_signed_with_another_secret_is_401_and_writes_nothing(world, client):
    answer = _post(client, "whsec_" + "QUJD" * 8, {"events": [_touch()]})
    assert answer.status_code == 401
    assert _nothing_written(world)


def test_a_body_changed_after_signing_is_401(world, client):
    body = json.dumps({"events": [_touch()]}).encode()
    ts = int(NOW.timestamp())
    headers = {
        "HTTP_WEBHOOK_ID": "m1",
        "HTTP_WEBHOOK_TIMESTAMP": str(ts),
        "HTTP_WEBHOOK_SIGNATURE": sign(world.secret, "m1", ts, body),
    }
    tampered = body.replace(b"left_message", b"connected")
    answer = client.post("/api/events/", data=tampered, content_type="application/json", **headers)
    assert answer.status_code == 401
    assert _nothing_written(world)


def test_a_disabled_source_is_401(world, client):
    world.source.active = False
    world.source.save()
    assert _post(client, world.secret, {"events": [_touch()]}).status_code == 401
    assert _nothing_written(world)


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_more_than_5_minutes_off_is_400_and_writes_nothing(world, client, minutes):
    stamp = NOW + timedelta(minutes=minutes)
    answer = _post(client, world.secret, {"events": [_touch()]}, timestamp=stamp)
    assert answer.status_code == 400
    assert "webhook-timestamp" in answer.json()["detail"]
    assert _nothing_written(world)


def test_a_repeated_webhook_id_is_409_and_writes_nothing_more(world, client):
    assert _post(client, world.secret, {"events": [_touch()]}).status_code == 200
    replay = _post(client, world.secret, {"events": [_touch("call-2")]})
    assert replay.status_code == 409
    assert Touch.objects.filter(lead=world.lead).count() == 1
    assert InboundMessage.objects.count() == 1


def test_an_oversized_body_is_413_and_writes_nothing(world, client, settings):
    settings.INBOUND_EVENTS_MAX_BYTES = 2000
    events = [_touch(f"call-{i}") for i in range(30)]
    answer = _post(client, world.secret, {"events": events})
    assert answer.status_code == 413
    assert _nothing_written(world)


@pytest.mark.parametrize(
    "raw", [b"{not json", b'["a list"]', b'{"events": {"id": 1}}', b"\xff\xfe"]
)
def test_a_malformed_body_is_400_and_writes_nothing(world, client, raw):
    answer = _post(client, world.secret, None, raw=raw)
    assert answer.status_code == 400
    assert _nothing_written(world)


def test_more_than_1000_events_is_400_and_writes_nothing(world, client, settings):
    settings.INBOUND_EVENTS_MAX_BYTES = 10 * 1024 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    events = [_touch(f"call-{i}") for i in range(1001)]
    answer = _post(client, world.secret, {"events": events})
    assert answer.status_code == 400
    assert "1000" in answer.json()["detail"]
    assert _nothing_written(world)


def test_the_previous_secret_verifies_for_24_hours_after_rotation(world, client, clock):
    old = world.secret
    new = secret_rotate(owner=world.source, at=NOW)
    assert _post(client, old, {"events": [_touch("c1")]}, message_id="m1").status_code == 200
    assert _post(client, new, {"events": [_touch("c2")]}, message_id="m2").status_code == 200

    later = NOW + timedelta(hours=25)
    clock.move_to(later)
    assert _post(client, old, {"events": []}, message_id="m3", timestamp=later).status_code == 401
    assert _post(client, new, {"events": []}, message_id="m4", timestamp=later).status_code == 200


def test_webhook_ids_are_forgotten_after_a_day(world, client):
    from integrations.inbound import messages_prune

    _post(client, world.secret, {"events": []}, message_id="m1")
    assert messages_prune(before=NOW - timedelta(hours=1)) == 0
    assert messages_prune(before=NOW + timedelta(days=1, seconds=1)) == 1


def test_a_body_that_is_not_json_by_its_type_is_415_and_writes_nothing(world, client):
    answer = client.post("/api/events/", data={"events": "x"})  # multipart form
    assert answer.status_code == 415
    assert _nothing_written(world)


def test_an_event_finds_only_leads_of_its_sources_agreement(world, client):
    # Another marketing team's lead with the same external_id (unique per team only).
    other, _ = lead_deliver(
        by=world.petra,
        data={"email": "other@example.com", "company_size": 200, "external_id": "crm-9"},
        agreement=world.b,
        now=NOW - timedelta(hours=1),
    )
    answer = _post(client, world.secret, {"events": [_touch(lead_external_id="crm-9")]})

    [result] = answer.json()["results"]
    assert result["status"] == "error" and "lead_external_id" in result["errors"]
    assert not Touch.objects.filter(lead=other).exists()
