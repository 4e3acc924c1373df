"""The HTML e-mails and the unsubscribe page in a real Chromium: screenshots for the
README (docs/screenshots/email-*.png, digest-unsubscribe.png), and the one-click flow."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from accounts.models import Role
from sla.checks import first_touch_breached
from sla.models import Notification
from sla.notify import digest_queue, notifications_send
from sla.notify.digest import digest_is_off, unsubscribe_token
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MORNING = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def world(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://slaops.example.com"
    rep = UserFactory(username="sam", role=Role.SALES)
    manager = UserFactory(username="morgan", role=Role.SALES_MANAGER)
    team = TeamFactory(
        name="Inside Sales", members=[rep, manager], calendar=CalendarFactory(name="New York")
    )
    agreement = AgreementFactory(sales_team=team)
    for first, last, company in [("Ada", "Lovelace", "Analytical"), ("<script>", "Kid", "")]:
        lead = LeadFactory(
            agreement=agreement,
            owner=rep,
            received_at=RECEIVED,
            first_name=first,
            last_name=last,
            company=company,
        )
        ClockFactory(lead=lead)
    first_touch_breached(at=RECEIVED + timedelta(hours=4))
    return rep


def html_of(message) -> str:
    [(html, _)] = message.alternatives
    return html


def test_the_breach_and_digest_emails_render_in_a_browser(chromium_browser, world):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    notifications_send(at=RECEIVED + timedelta(hours=4))
    breach = next(m for m in mail.outbox if m.to == ["sam@example.com"])
    mail.outbox.clear()
    digest_queue(at=MORNING)
    notifications_send(at=MORNING)
    digest = next(m for m in mail.outbox if m.to == ["sam@example.com"])

    context = chromium_browser.new_context(viewport={"width": 720, "height": 900})
    page = context.new_page()
    try:
        for name, message in (("email-breach", breach), ("email-digest", digest)):
            page.set_content(html_of(message))
            button = page.get_by_role("link", name="Open")
            assert button.first.is_visible()
            assert page.locator("script").count() == 0  # the hostile name stayed text
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert page.get_by_text("<script> Kid").first.is_visible()
        assert page.get_by_role("link", name="Stop the daily digest").is_visible()
    finally:
        context.close()


def test_the_unsubscribe_link_asks_then_turns_the_digest_off(page, world):
    token = unsubscribe_token(world.id)

    page.goto(f"/digest/unsubscribe/{token}/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "digest-unsubscribe.png"))
    assert not digest_is_off(user_id=world.id)
    page.get_by_role("button", name="Unsubscribe from the daily digest").click()

    page.get_by_test_id("unsubscribe-done").wait_for()
    assert digest_is_off(user_id=world.id)
    assert not Notification.objects.filter(key__startswith="digest:", state="pending").exists()


def test_a_tampered_unsubscribe_link_shows_an_error_page(page, world):
    response = page.goto(f"/digest/unsubscribe/{unsubscribe_token(world.id)}x/")

    assert response.status == 400
    assert page.get_by_test_id("unsubscribe-invalid").is_visible()
