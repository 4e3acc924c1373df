"""A rep reads a demo request's tier on its page, and everyone the agreement's tiers, in a
real browser. Screenshots: docs/screenshots/lead-tier.png, agreement-tiers.png."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from sla.actions import lead_deliver
from tests.factories import AgreementFactory, CalendarFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO = {
    "name": "Demo request",
    "when": [{"field": "source", "op": "eq", "value": "demo_request"}],
    "first_touch_minutes": 15,
    "at_risk_percent": 50,
    "next_touch_minutes": 480,
}
BIG = {
    "name": "Enterprise",
    "when": [
        {"field": "score", "op": "gte", "value": 60},
        {"field": "company_size", "op": "gte", "value": 1000},
    ],
    "first_touch_minutes": 60,
}


def log_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def agreement():
    # A calendar open every hour of every day: the demo request is due 15 minutes after
    # it arrived whenever the test runs.
    calendar_hours = {
        d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    agreement = AgreementFactory(
        name="Inbound NY",
        calendar=CalendarFactory(name="Always open", working_hours=calendar_hours),
        tiers=[DEMO, BIG],
    )
    agreement.sales_team.members.add(UserFactory(username="sam", role="sales", first_name="Sam"))
    return agreement


def test_the_rep_reads_the_demo_requests_tier_and_window_on_its_page(page, agreement):
    now = timezone.now()
    lead, _ = lead_deliver(
        by=None,
        data={
            "email": "dana@acme.test",
            "first_name": "Dana",
            "last_name": "Demo",
            "company": "Acme",
            "title": "CTO",
            "company_size": 100,
            "source": "demo_request",
            "received_at": now - timedelta(minutes=4),
        },
        agreement=agreement,
        now=now,
    )
    log_in(page, "sam")
    page.goto(f"/leads/{lead.pk}/")

    tier = page.get_by_test_id("lead-tier").inner_text()
    assert tier.startswith("Demo request — first touch within 15 business minutes")
    assert "next touch within 480 business minutes" in tier
    due = page.get_by_test_id("first-touch-due").inner_text()
    assert re.search(r"due in 1[01]m", due), due  # 15 minutes from 4 minutes ago
    page.screenshot(path=str(SCREENSHOTS / "lead-tier.png"), full_page=True)


def test_the_agreement_page_shows_the_tiers_in_order(page, agreement):
    log_in(page, "sam")
    page.goto(f"/agreements/{agreement.pk}/")

    rows = page.get_by_test_id("tiers").locator("tbody tr")
    assert rows.count() == 2
    assert "Demo request" in rows.nth(0).inner_text()
    assert "score gte 60" in rows.nth(1).inner_text()
    assert "(default)" in rows.nth(1).inner_text()
    page.get_by_role("heading", name="Tiers").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "agreement-tiers.png"), full_page=True)
