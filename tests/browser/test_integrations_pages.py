"""The Integrations page in a real browser: an admin adds a webhook endpoint, copies its
secret (shown once), sends a test event to a local receiver and sees it in the delivery
log; no serious axe violation; other roles are refused."""

from pathlib import Path

import pytest

from integrations.models import WebhookDelivery
from tests.browser.test_accessibility import axe_violations
from tests.integrations.conftest import receiver as receiver  # the fixture
from tests.integrations.conftest import verify

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _login(page, username, path):
    page.goto(f"/login/?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{path}")


def test_an_admin_adds_an_endpoint_and_sees_its_test_event_in_the_log(page, make_user, receiver):
    make_user("ada", "admin")
    _login(page, "ada", "/integrations/")
    page.get_by_role("link", name="Integrations").first.wait_for()

    form = page.get_by_test_id("endpoint-form")
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("Description").fill("CRM tasks")
    form.get_by_text("lead.delivered").click()
    form.get_by_text("flag.raised").click()
    form.get_by_role("button", name="Add endpoint").click()

    secret = page.get_by_test_id("secret").input_value()
    assert secret.startswith("whsec_")
    assert page.get_by_text("the only time it is shown").is_visible()
    page.get_by_role("link", name="Done").click()

    page.get_by_role("button", name="Send test event").click()
    page.get_by_text("Test event delivered (HTTP 200).").wait_for()
    log = page.get_by_test_id("delivery-log")
    assert "webhook.test" in log.inner_text()
    assert "delivered" in log.inner_text()
    [request] = receiver.received
    assert verify(secret, request.headers, request.body) is True
    assert WebhookDelivery.objects.get().state == "delivered"
    assert secret not in page.content()  # never shown again
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "integrations_endpoint.png"), full_page=True)
    found = axe_violations(page)
    assert not found, "\n".join(found)

    page.get_by_role("link", name="Integrations").first.click()
    assert page.get_by_test_id("endpoint-table").get_by_text(receiver.url).is_visible()
    page.screenshot(path=str(SHOTS / "integrations.png"), full_page=True)


def test_a_private_url_is_refused_on_the_page(page, make_user, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    make_user("ada", "admin")
    _login(page, "ada", "/integrations/")
    form = page.get_by_test_id("endpoint-form")
    form.get_by_label("URL").fill("https://127.0.0.1/hook")
    form.get_by_text("lead.verdict").click()
    form.get_by_role("button", name="Add endpoint").click()
    assert page.get_by_text("private, loopback or reserved").is_visible()


def test_other_roles_are_refused(page, make_user):
    make_user("sam", "sales")
    _login(page, "sam", "/")
    assert page.get_by_role("link", name="Integrations").count() == 0
    assert page.goto("/integrations/").status == 403
