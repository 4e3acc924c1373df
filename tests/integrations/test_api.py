"""/api/webhooks/ and /api/event-sources/: admin role only, secrets shown once, unsafe URLs
refused naming `url`."""

import pytest

from integrations.models import EventSource, WebhookDelivery, WebhookEndpoint
from integrations.signing import secret_decrypt
from tests.integrations.conftest import verify
from tests.sla.lead_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _as(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(world, api_client, receiver):
    client = _as(api_client, world.ada)
    created = client.post(
        "/api/webhooks/",
        {"url": receiver.url, "events": ["lead.delivered", "flag.raised"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["active"] is True
    listed = client.get("/api/webhooks/").json()["results"]
    read = client.get(f"/api/webhooks/{body['id']}/").json()
    assert "secret" not in listed[0] and "secret" not in read
    stored = WebhookEndpoint.objects.get()
    assert body["secret"] not in stored.secret_encrypted  # encrypted at rest
    assert secret_decrypt(stored.secret_encrypted) == body["secret"]


def test_rotating_shows_the_new_secret_once(world, api_client):
    client = _as(api_client, world.ada)
    endpoint = client.post(
        "/api/webhooks/",
        {"url": "https://93.184.215.14/h", "events": ["lead.verdict"]},
        format="json",
    ).json()
    rotated = client.post(f"/api/webhooks/{endpoint['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != endpoint["secret"]
    assert "previous_valid_until" in rotated.json()


@pytest.mark.parametrize(
    ("url", "rule"),
    [("https://127.0.0.1/h", "private"), ("http://93.184.215.14/h", "https://")],
)
def test_an_unsafe_url_is_a_400_naming_url_and_writes_nothing(world, api_client, url, rule):
    answer = _as(api_client, world.ada).post(
        "/api/webhooks/", {"url": url, "events": ["lead.delivered"]}, format="json"
    )
    assert answer.status_code == 400
    assert rule in " ".join(answer.json()["url"])
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_type_is_a_400_naming_events(world, api_client):
    answer = _as(api_client, world.ada).post(
        "/api/webhooks/",
        {"url": "https://93.184.215.14/h", "events": ["lead.exploded"]},
        format="json",
    )
    assert answer.status_code == 400
    assert "events" in answer.json()
    assert not WebhookEndpoint.objects.exists()


def test_patching_to_a_private_url_is_refused(world, api_client):
    client = _as(api_client, world.ada)
    endpoint = client.post(
        "/api/webhooks/",
        {"url": "https://93.184.215.14/h", "events": ["lead.verdict"]},
        format="json",
    ).json()
    answer = client.patch(
        f"/api/webhooks/{endpoint['id']}/", {"url": "https://10.0.0.1/h"}, format="json"
    )
    assert answer.status_code == 400
    assert "url" in answer.json()
    assert WebhookEndpoint.objects.get().url == "https://93.184.215.14/h"


@pytest.mark.parametrize("role", ["maria", "sam", "morgan", "erin"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/webhooks/"),
        ("post", "/api/webhooks/"),
        ("get", "/api/event-sources/"),
        ("post", "/api/event-sources/"),
    ],
)
def test_other_roles_get_403(world, api_client, role, method, path):
    answer = getattr(_as(api_client, world.users[role]), method)(path, {}, format="json")
    assert answer.status_code == 403


def test_no_credentials_get_401(api_client, db):
    assert api_client.get("/api/webhooks/").status_code == 401


def test_send_test_event_reaches_the_receiver_and_the_log(world, api_client, receiver):
    client = _as(api_client, world.ada)
    endpoint = client.post(
        "/api/webhooks/", {"url": receiver.url, "events": ["lead.delivered"]}, format="json"
    ).json()

    tested = client.post(f"/api/webhooks/{endpoint['id']}/test/")

    assert tested.status_code == 200
    assert tested.json()["state"] == "delivered"
    [request] = receiver.received
    assert verify(endpoint["secret"], request.headers, request.body) is True
    log = client.get(f"/api/webhooks/{endpoint['id']}/deliveries/").json()
    assert log["count"] == 1
    assert log["results"][0]["event_type"] == "webhook.test"
    assert log["results"][0]["last_status_code"] == 200


def test_a_failing_test_event_says_why(world, api_client, receiver):
    client = _as(api_client, world.ada)
    endpoint = client.post(
        "/api/webhooks/", {"url": receiver.url, "events": ["lead.delivered"]}, format="json"
    ).json()
    receiver.script = [500]
    tested = client.post(f"/api/webhooks/{endpoint['id']}/test/").json()
    assert (tested["state"], tested["last_status_code"]) == ("pending", 500)
    assert WebhookDelivery.objects.get().attempts == 1


def test_an_admin_creates_an_event_source_and_sees_its_secret_once(world, api_client):
    client = _as(api_client, world.ada)
    created = client.post(
        "/api/event-sources/",
        {"name": "Dialer", "agreement": world.a.pk, "user": "ada"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["secret"].startswith("whsec_")
    read = client.get(f"/api/event-sources/{created.json()['id']}/").json()
    assert "secret" not in read
    assert read["user"] == "ada"
    assert EventSource.objects.get().secret_encrypted != created.json()["secret"]


def test_an_event_source_needs_a_known_user(world, api_client):
    answer = _as(api_client, world.ada).post(
        "/api/event-sources/", {"name": "Dialer", "user": "nobody"}, format="json"
    )
    assert answer.status_code == 400
    assert "user" in answer.json()
    assert not EventSource.objects.exists()


def test_the_schema_describes_the_integrations(world, api_client):
    schema = _as(api_client, world.ada).get("/api/schema/?format=json").json()
    assert "/api/events/" in schema["paths"]
    assert "/api/webhooks/{id}/rotate-secret/" in schema["paths"]
    assert "WebhookEvent" in schema["components"]["schemas"]
