"""A sales manager in a real browser: reassign a lead on its inbox row, read the team's
compliance per rep, and resolve a flag with a note."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Lead
from sla.actions import lead_deliver
from sla.models import Flag
from tests.factories import AgreementFactory, CalendarFactory, FlagFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def team(make_user):
    calendar = CalendarFactory(
        name="Always", timezone="America/New_York", working_hours=ALWAYS_OPEN
    )
    agreement = AgreementFactory(name="Inbound", calendar=calendar)
    people = {
        name: make_user(name, role)
        for name, role in (("morgan", "sales_manager"), ("sam", "sales"), ("sofia", "sales"))
    }
    agreement.sales_team.members.add(*people.values())
    now = timezone.now()
    leads = []
    for n, (first, owner, ago) in enumerate(
        (("Ann", "sam", 5), ("Bob", "sam", 1), ("Cleo", "sofia", 2))
    ):
        lead, _ = lead_deliver(
            by=None,
            data={
                "email": f"{first.lower()}@acme.test",
                "first_name": first,
                "last_name": "Lee",
                "company": "Acme",
                "company_size": 100,
                "received_at": now - timedelta(hours=ago, minutes=n),
            },
            agreement=agreement,
            now=now,
        )
        Lead.objects.filter(pk=lead.pk).update(owner=people[owner])
        leads.append(lead)
    flag = FlagFactory(
        agreement=agreement,
        lead=leads[0],
        owner=people["sam"],
        team=agreement.sales_team,
        raised_at=now - timedelta(hours=1),
        month=now.strftime("%Y-%m"),
        detail="first touch passed untouched",
    )
    return {"leads": leads, "flag": flag, **people}


def test_manager_reassigns_in_place_and_resolves_a_flag_with_a_note(page, team):
    page.goto("/login/?next=/inbox/")
    page.get_by_label("Username").fill("morgan")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/inbox/")
    page.evaluate("window.notReloaded = true")
    ann = team["leads"][0]
    row = page.locator(f"#lead-row-{ann.pk}")
    row.get_by_label("Owner of Ann Lee").select_option("sofia")
    row.get_by_role("button", name="Reassign").click()
    page.get_by_text("Assigned to sofia.").wait_for()
    assert (
        page.locator(f"#lead-row-{ann.pk}").get_by_label("Owner of Ann Lee").input_value()
        == "sofia"
    )
    assert page.evaluate("window.notReloaded") is True
    assert Lead.objects.get(pk=ann.pk).owner == team["sofia"]
    compliance = page.get_by_test_id("team-compliance")
    assert "sam" in compliance.inner_text() and "sofia" in compliance.inner_text()
    page.screenshot(path=str(SHOTS / "manager-inbox.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Flags").click()
    flag = team["flag"]
    page.get_by_label(f"Resolution note for flag {flag.pk}").fill("Phones were down all morning")
    page.get_by_role("button", name="Resolve").click()
    assert "Resolved: First touch breached." in page.get_by_role("alert").first.inner_text()
    flag.refresh_from_db()
    assert flag.state == Flag.State.RESOLVED
    assert flag.resolution_note == "Phones were down all morning"
    assert flag.resolved_by == team["morgan"]
