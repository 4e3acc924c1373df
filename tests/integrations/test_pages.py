"""The Integrations pages without a browser: admin only, a secret shown once, bad input
answered on the form with nothing written."""

import pytest

from integrations.models import EventSource, WebhookEndpoint
from tests.sla.lead_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.mark.parametrize("role", ["maria", "sam", "morgan", "erin"])
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/integrations/"), ("post", "/integrations/webhooks/new/")],
)
def test_other_roles_are_refused(world, client, role, method, path):
    client.force_login(world.users[role])
    assert getattr(client, method)(path).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_the_secret_is_shown_once_on_the_page_after_creation(world, client, receiver):
    client.force_login(world.ada)
    made = client.post(
        "/integrations/webhooks/new/",
        {"url": receiver.url, "events": ["lead.delivered", "lead.verdict"]},
    )
    assert made.status_code == 200
    secret = made.context["secret"]
    assert secret.startswith("whsec_")
    assert secret in made.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["lead.delivered", "lead.verdict"]
    for path in ("/integrations/", f"/integrations/webhooks/{endpoint.pk}/"):
        page = client.get(path)
        assert page.status_code == 200
        assert secret not in page.content.decode()


def test_a_private_url_is_refused_on_the_form(world, client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    client.force_login(world.ada)
    answer = client.post(
        "/integrations/webhooks/new/", {"url": "https://10.0.0.8/h", "events": ["flag.raised"]}
    )
    assert answer.status_code == 400
    assert "private, loopback or reserved" in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_admin_adds_a_source_and_rotates_its_secret(world, client):
    client.force_login(world.ada)
    made = client.post(
        "/integrations/sources/new/", {"name": "Dialer", "agreement": world.a.pk, "user": "ada"}
    )
    first = made.context["secret"]
    source = EventSource.objects.get()
    rotated = client.post(f"/integrations/sources/{source.pk}/rotate/")
    assert rotated.context["secret"] != first
    assert "stays valid for 24 hours" in rotated.content.decode()
    page = client.get("/integrations/").content.decode()
    assert "Dialer" in page and first not in page


def test_disabling_and_enabling_an_endpoint(world, client, receiver):
    client.force_login(world.ada)
    client.post("/integrations/webhooks/new/", {"url": receiver.url, "events": ["flag.raised"]})
    endpoint = WebhookEndpoint.objects.get()
    client.post(f"/integrations/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.active is False
    client.post(f"/integrations/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.active is True
