"""The team page in a real browser: a sales manager records a rep's holiday, sees them away,
moves their open leads after confirming, caps another rep; no serious axe violation."""

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from leads.models import Lead
from sla.actions import lead_deliver
from tests.browser.test_accessibility import axe_violations
from tests.factories import AgreementFactory, CalendarFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def team(make_user):
    calendar = CalendarFactory(
        name="Always", timezone="America/New_York", working_hours=ALWAYS_OPEN
    )
    agreement = AgreementFactory(name="Inbound", calendar=calendar)
    sales = agreement.sales_team
    sales.name, sales.calendar = "Inside Sales", calendar
    sales.save()
    people = {
        name: make_user(name, role)
        for name, role in (
            ("morgan", "sales_manager"),
            ("sam", "sales"),
            ("sofia", "sales"),
            ("sandy", "sales"),
        )
    }
    sales.members.add(*people.values())
    now = timezone.now()
    for n, first in enumerate(("Ann", "Bob", "Cleo")):
        lead, _ = lead_deliver(
            by=None,
            data={
                "email": f"{first.lower()}@acme.test",
                "first_name": first,
                "last_name": "Lee",
                "company": "Acme",
                "company_size": 100,
                "received_at": now - timedelta(hours=3 - n),
            },
            agreement=agreement,
            now=now,
        )
        Lead.objects.filter(pk=lead.pk).update(owner=people["sam"])
    return {"team": sales, **people}


def local(instant) -> str:
    return instant.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M")


def test_manager_records_a_holiday_moves_the_reps_leads_and_caps_a_rep(page, team):
    page.goto("/login/?next=/teams/")
    page.get_by_label("Username").fill("morgan")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/teams/")
    page.get_by_role("link", name="Inside Sales").click()

    # A refused absence: the error sits beside its field.
    now = timezone.now()
    form = page.get_by_test_id("absence-form")
    form.get_by_label("Who").select_option("sam")
    form.get_by_label("Away from").fill(local(now + timedelta(days=1)))
    form.get_by_label("Back at").fill(local(now))
    form.get_by_role("button", name="Record the absence").click()
    page.get_by_text("must be after starts_at").wait_for()
    assert page.get_by_label("Back at").get_attribute("aria-invalid") == "true"

    # sam's holiday, from an hour ago to three days from now.
    form = page.get_by_test_id("absence-form")
    form.get_by_label("Who").select_option("sam")
    form.get_by_label("Away from").fill(local(now - timedelta(hours=1)))
    form.get_by_label("Back at").fill(local(now + timedelta(days=3)))
    form.get_by_label("Reason").fill("Holiday")
    form.get_by_role("button", name="Record the absence").click()
    page.get_by_text("sam is recorded away: Holiday.").wait_for()
    sam = page.get_by_test_id("member-sam")
    assert "Away" in sam.inner_text() and "Holiday" in sam.inner_text()

    # A cap on sandy, then the move, after a confirmation.
    page.get_by_label("Cap on open leads for sandy").fill("1")
    page.get_by_role("button", name="Save cap for sandy").click()
    page.get_by_text("sandy: at most 1 open lead.").wait_for()
    page.get_by_test_id("member-sam").get_by_text("Move open leads").click()
    page.get_by_role("button", name="Yes, move 3 leads").click()
    page.get_by_text("Moved 3 leads of sam: sandy 1, sofia 2.").wait_for()
    owners = sorted(Lead.objects.values_list("owner__username", flat=True))
    assert owners == ["sandy", "sofia", "sofia"]

    found = axe_violations(page)
    assert not found, "\n".join(found)
    page.screenshot(path=str(SHOTS / "team.png"), full_page=True)


def test_a_rep_may_not_open_the_team_page(page, team, live_server):
    page.goto("/login/?next=/inbox/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox/")
    assert page.locator('[data-nav="team-list"]').count() == 0
    assert page.goto(f"/teams/{team['team'].pk}/").status == 403
