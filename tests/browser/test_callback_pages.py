"""A rep records a callback the prospect asked for, in a real browser: the lead's page
shows it on the timeline, and the inbox row carries its badge."""

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from sla.actions import lead_deliver, lead_touch
from tests.browser.test_accessibility import axe_violations
from tests.factories import AgreementFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NEW_YORK = ZoneInfo("America/New_York")


def next_business_day_at_ten(now: datetime) -> datetime:
    day = now.astimezone(NEW_YORK).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=NEW_YORK)


def test_rep_sets_a_callback_and_sees_it_on_the_timeline_and_in_the_inbox(page):
    agreement = AgreementFactory(name="Inbound")  # New York, 09:00–17:00 on weekdays
    rep = UserFactory(username="sam", role="sales", first_name="Sam", last_name="Seller")
    agreement.sales_team.members.add(rep)
    now = timezone.now()
    lead, _ = lead_deliver(
        by=None,
        data={
            "email": "ann@acme.test",
            "first_name": "Ann",
            "last_name": "Lee",
            "company": "Acme",
            "company_size": 100,
            "received_at": now - timedelta(hours=2),
        },
        agreement=agreement,
        now=now,
    )
    lead_touch(
        lead=lead, by=rep, kind="call", outcome="no_answer", at=now - timedelta(hours=1), now=now
    )
    callback_at = next_business_day_at_ten(now)

    page.goto("/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/leads/{lead.pk}/")
    page.get_by_label("Call back at").fill(callback_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("What did they ask?").fill("Call after the budget meeting")
    page.get_by_role("button", name="Set callback").click()

    shown = f"{callback_at:%a} {callback_at.day} {callback_at:%b} 10:00"
    assert f"Callback set for {shown}" in page.get_by_role("alert").inner_text()
    timeline = page.get_by_test_id("timeline")
    asked = timeline.locator('[data-event="callback"]')
    assert f"Callback asked for {shown}" in asked.inner_text()
    assert "Sam Seller" in asked.inner_text()
    assert "Call after the budget meeting" in asked.inner_text()
    paused = timeline.locator('[data-event="callback_paused"]').inner_text()
    assert "Paused the next touch clock" in paused and "due now" in paused
    assert axe_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "callback.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    badge = page.get_by_test_id("callback-badge")
    assert badge.inner_text().startswith(f"callback {shown}")
    assert axe_violations(page) == []
    page.locator(f"#lead-row-{lead.pk}").screenshot(path=str(SCREENSHOTS / "callback-inbox.png"))

    # A rep in another zone reads the callback on their own clock, the calendar's beside it
    rep.time_zone = "Europe/Paris"
    rep.save()
    page.reload()
    paris = callback_at.astimezone(ZoneInfo("Europe/Paris"))
    assert f"{paris:%a} {paris.day} {paris:%b %H:%M} CET" in badge.inner_text()
    assert axe_violations(page) == []
