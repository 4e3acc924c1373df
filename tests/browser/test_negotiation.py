"""One negotiation in a real browser: a marketing manager proposes a faster first touch and
reads its what-if on the last closed months, the sales manager accepts, and the terms
page names both signatories. Screenshots: docs/screenshots/proposal-whatif.png,
proposal-accepted.png, agreement-signed.png."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import Role, Team
from calendars.months import month_of
from core.timeparse import month_add
from sla.actions import lead_deliver, lead_touch
from sla.models import Proposal
from sla.proposals import effective_instant, proposals_apply_due
from tests.factories import AgreementFactory, CalendarFactory, TeamFactory, UserFactory
from tests.sla.lead_world import lead_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ALWAYS = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def log_in(page, username):
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def agreement():
    maria = UserFactory(username="maria", role=Role.MARKETING, first_name="Maria")
    morgan = UserFactory(username="morgan", role=Role.SALES_MANAGER, first_name="Morgan")
    sam = UserFactory(username="sam", role=Role.SALES, first_name="Sam")
    agreement = AgreementFactory(
        name="Inbound",
        calendar=CalendarFactory(name="Always open", working_hours=ALWAYS),
        marketing_team=TeamFactory(name="Demand Gen", kind=Team.Kind.MARKETING, members=[maria]),
        sales_team=TeamFactory(name="Inside Sales", kind=Team.Kind.SALES, members=[morgan, sam]),
        first_touch_minutes=240,
    )
    # Two months ago: one lead touched after 30 minutes, one after 2 hours.
    calendar = agreement.calendar.as_work_calendar()
    year, month = month_add(*month_of(calendar, timezone.now()), -2)
    start = effective_instant(
        agreement, timezone.now().date().replace(year=year, month=month, day=10)
    )
    for index, minutes in enumerate((30, 120)):
        at = start + timedelta(hours=index)
        lead, _ = lead_deliver(
            by=maria,
            data={**lead_body(email=f"l{index}@example.com"), "received_at": at},
            agreement=agreement,
            now=at,
        )
        touched = at + timedelta(minutes=minutes)
        lead_touch(lead=lead, by=sam, kind="call", outcome="no_answer", at=touched, now=touched)
    return agreement


def test_a_proposal_from_marketing_is_signed_by_sales(page, agreement):
    log_in(page, "maria")
    page.goto(f"/agreements/{agreement.pk}/")
    page.get_by_test_id("proposals-link").click()
    page.get_by_test_id("propose").click()
    page.get_by_label("First touch within").fill("60")
    page.get_by_label("What changes, and why").fill("An hour: both leads were touched fast")
    page.screenshot(path=str(SCREENSHOTS / "proposal-form.png"), full_page=True)
    page.get_by_test_id("submit-proposal").click()

    assert page.get_by_test_id("proposal-state").inner_text().strip() == "Open"
    assert "maria" in page.get_by_test_id("signed-marketing").inner_text()
    assert page.get_by_test_id("signed-sales").inner_text().strip() == "not yet"
    tables = page.locator("[data-testid^='whatif-']")
    assert tables.count() == 3
    # Two months ago: the 2-hour touch was in time under 240 minutes, late under 60.
    breached = page.locator("[data-testid='proposed-breached']").nth(1).inner_text()
    assert breached.strip() == "1 / 1"
    page.screenshot(path=str(SCREENSHOTS / "proposal-whatif.png"), full_page=True)

    log_in(page, "morgan")
    proposal = Proposal.objects.get()
    page.goto(f"/agreements/{agreement.pk}/proposals/{proposal.pk}/")
    page.get_by_test_id("accept").click()
    assert page.get_by_test_id("proposal-state").inner_text().startswith("Accepted")
    assert "morgan" in page.get_by_test_id("signed-sales").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "proposal-accepted.png"), full_page=True)

    # Its first day comes (the checks apply it): the terms page names both signatories.
    proposals_apply_due(at=effective_instant(agreement, Proposal.objects.get().effective_from))
    page.goto(f"/agreements/{agreement.pk}/")
    signed = page.get_by_test_id("signed-2").inner_text()
    assert "Signed for marketing by maria" in signed and "for sales by morgan" in signed
    assert page.get_by_test_id("current-version").inner_text() == "version 2"
    page.screenshot(path=str(SCREENSHOTS / "agreement-signed.png"), full_page=True)


def test_marketing_disputes_a_rejection_and_sales_overturns_it(page, agreement):
    from sla.actions import lead_reject

    now = timezone.now()
    lead, _ = lead_deliver(
        by=None,
        data={**lead_body(email="fresh@example.com"), "received_at": now - timedelta(hours=2)},
        agreement=agreement,
        now=now,
    )
    morgan = agreement.sales_team.members.get(username="morgan")
    lead_reject(lead=lead, by=morgan, reason="not_icp", now=now - timedelta(hours=1))

    log_in(page, "maria")
    page.goto(f"/leads/{lead.pk}/")
    page.get_by_label("Why the rejection is wrong").fill("They have 200 staff and a budget")
    page.get_by_test_id("dispute").click()
    assert page.get_by_test_id("dispute-state").inner_text().startswith("Open")
    page.screenshot(path=str(SCREENSHOTS / "lead-disputed.png"), full_page=True)

    log_in(page, "morgan")
    page.goto(f"/leads/{lead.pk}/")
    page.get_by_label("Overturn (counts as accepted)").check()
    page.get_by_label("Why", exact=True).fill("Checked the CRM: a fit")
    page.get_by_test_id("rule").click()
    assert page.get_by_test_id("dispute-state").inner_text().startswith("Overturned")
    page.screenshot(path=str(SCREENSHOTS / "lead-dispute-ruled.png"), full_page=True)
