"""The inbox, the lead list and a lead's page: who sees what, and actions through services."""

from datetime import UTC, datetime

import pytest
import time_machine

from leads.models import Lead
from sla.actions import lead_deliver
from tests.factories import AgreementFactory, UserFactory

pytestmark = pytest.mark.django_db

FRIDAY_4PM_NY = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


@pytest.fixture
def world():
    agreement = AgreementFactory(name="Inbound")
    rep = UserFactory(username="sam", role="sales")
    other = UserFactory(username="sofia", role="sales")
    manager = UserFactory(username="morgan", role="sales_manager")
    agreement.sales_team.members.add(rep, other, manager)
    with time_machine.travel(FRIDAY_4PM_NY, tick=False):
        lead, _ = lead_deliver(
            by=None,
            data={"email": "a@acme.test", "first_name": "Ann", "company_size": 100},
            agreement=agreement,
            now=FRIDAY_4PM_NY,
        )
    return {"agreement": agreement, "rep": rep, "other": other, "manager": manager, "lead": lead}


def test_inbox_lists_the_reps_own_open_leads(client, world):
    client.force_login(world["rep"])
    html = client.get("/inbox/").content.decode()
    assert "Ann" in html
    client.force_login(world["other"])
    assert "Ann" not in client.get("/inbox/").content.decode()


def test_manager_inbox_shows_the_team_with_owners(client, world):
    client.force_login(world["manager"])
    html = client.get("/inbox/").content.decode()
    assert "Ann" in html and ">sam<" in html


def test_marketing_has_no_inbox(client, world, make_user):
    client.force_login(make_user("maria", "marketing"))
    assert client.get("/inbox/").status_code == 403


def test_lead_page_of_someone_elses_lead_is_404_for_a_rep(client, world):
    client.force_login(world["other"])
    assert client.get(f"/leads/{world['lead'].pk}/").status_code == 404


def test_lead_page_shows_the_due_time_in_the_calendar_zone(client, world):
    client.force_login(world["rep"])
    html = client.get(f"/leads/{world['lead'].pk}/").content.decode()
    # Friday 16:00 New York + 240 business minutes (09:00-17:00) = Monday 12:00.
    assert '<time datetime="2026-12-07T17:00:00Z">Mon 7 Dec 12:00 EST</time>' in html
    assert "America/New_York" in html


@time_machine.travel(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), tick=False)
def test_touch_form_logs_a_touch_through_the_service(client, world):
    client.force_login(world["rep"])
    response = client.post(
        f"/leads/{world['lead'].pk}/touch/", {"kind": "call", "outcome": "no_answer", "note": "hi"}
    )
    assert response.status_code == 302
    lead = Lead.objects.get(pk=world["lead"].pk)
    assert lead.touches.count() == 1
    assert "Touch logged." in client.get(response["Location"]).content.decode()


@time_machine.travel(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), tick=False)
def test_refused_abandon_shows_the_rule_and_changes_nothing(client, world):
    client.force_login(world["rep"])
    response = client.post(f"/leads/{world['lead'].pk}/abandon/", {"reason": "gone"}, follow=True)
    html = response.content.decode()
    assert "Too few attempts to abandon the lead: 0 of 6 attempts logged" in html
    assert "attempts_before_abandon" not in html
    assert Lead.objects.get(pk=world["lead"].pk).closed_at is None


def test_executive_reads_a_lead_but_sees_no_action_and_cannot_post(client, world, make_user):
    client.force_login(make_user("erin", "executive"))
    html = client.get(f"/leads/{world['lead'].pk}/").content.decode()
    assert "Log touch" not in html
    response = client.post(f"/leads/{world['lead'].pk}/acknowledge/")
    assert response.status_code == 403
    assert Lead.objects.get(pk=world["lead"].pk).verdict == "pending"


def test_rep_cannot_reassign_but_manager_can(client, world):
    client.force_login(world["rep"])
    assert client.post(f"/leads/{world['lead'].pk}/assign/", {"owner": "sofia"}).status_code == 403
    client.force_login(world["manager"])
    client.post(f"/leads/{world['lead'].pk}/assign/", {"owner": "sofia"})
    assert Lead.objects.get(pk=world["lead"].pk).owner.username == "sofia"


def test_lead_list_filters_by_status(client, world, make_user):
    client.force_login(make_user("erin", "executive"))
    with time_machine.travel(datetime(2026, 12, 7, 18, 0, tzinfo=UTC), tick=False):
        assert "Ann" in client.get("/leads/?status=breached").content.decode()
        assert "Ann" not in client.get("/leads/?status=pending").content.decode()
