"""Disputed verdicts: marketing disputes a sales rejection within the agreement's window (5
business days by default), and the sales side upholds or overturns it.

New York, Monday to Friday. A lead delivered Mon 7 Dec 2026 10:00 is rejected at 11:00;
its window counts Tue 8 to Mon 14 Dec and ends at local midnight of Tue 15 Dec.
"""

from datetime import UTC, datetime

import pytest
import time_machine

from sla.actions import lead_acknowledge, lead_deliver, lead_reject
from sla.checks import quality_shortfall
from sla.compliance import compliance_for
from sla.models import Dispute, Flag
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

DELIVERED = ny(2026, 12, 7, 10, 0)
REJECTED = ny(2026, 12, 7, 11, 0)
TUESDAY = ny(2026, 12, 8, 10, 0)
WINDOW_ENDS = ny(2026, 12, 15, 0, 0)


@pytest.fixture
def world():
    return build_world()


def deliver(world, at=DELIVERED, email="ann@example.com"):
    lead, _ = lead_deliver(
        by=world.maria,
        data={**lead_body(email=email), "received_at": at},
        agreement=world.a,
        now=at,
    )
    return lead


@pytest.fixture
def rejected(world):
    lead = deliver(world)
    return lead_reject(lead=lead, by=world.morgan, reason="not_icp", now=REJECTED)


def post(api_client, user, path, body, at=TUESDAY):
    api_client.force_authenticate(user)
    with time_machine.travel(at, tick=False):
        return api_client.post(path, body, format="json")


def dispute(api_client, world, lead, user=None, at=TUESDAY, note="They have 300 staff"):
    path = f"/api/leads/{lead.pk}/dispute/"
    return post(api_client, user or world.maria, path, {"note": note}, at=at)


def rule(api_client, world, lead, outcome, user=None, at=TUESDAY, note="Checked the CRM"):
    path = f"/api/leads/{lead.pk}/dispute/ruling/"
    return post(api_client, user or world.morgan, path, {"outcome": outcome, "note": note}, at)


def marketing(world, at, month="2026-12"):
    return compliance_for(agreement=world.a, month=month, at=at)["marketing"]


# --- disputing ----------------------------------------------------------------------------


def test_marketing_disputes_a_rejection_inside_the_window(api_client, world, rejected):
    response = dispute(api_client, world, rejected)
    assert response.status_code == 200, response.json()
    assert response.json()["dispute"] == {
        "state": "open",
        "opened_at": "2026-12-08T15:00:00Z",
        "by": "maria",
        "note": "They have 300 staff",
        "ruling": None,
    }


def test_an_undisputed_lead_answers_no_dispute(api_client, world, rejected):
    api_client.force_authenticate(world.maria)
    assert api_client.get(f"/api/leads/{rejected.pk}/").json()["dispute"] is None


def test_the_window_ends_after_five_business_days(api_client, world, rejected):
    late = dispute(api_client, world, rejected, at=WINDOW_ENDS)
    assert late.status_code == 409
    assert late.json()["rule"] == "dispute_window"
    assert not Dispute.objects.exists()
    in_time = dispute(api_client, world, rejected, at=ny(2026, 12, 14, 23, 59))
    assert in_time.status_code == 200


def test_an_accepted_or_pending_lead_is_not_disputed(api_client, world):
    pending = deliver(world)
    accepted = lead_acknowledge(
        lead=deliver(world, email="bo@example.com"), by=world.morgan, now=REJECTED
    )
    for lead in (pending, accepted):
        response = dispute(api_client, world, lead)
        assert response.status_code == 409
        assert response.json()["rule"] == "lead_not_rejected"
    assert not Dispute.objects.exists()


def test_one_open_dispute_per_lead_and_a_ruling_is_final(api_client, world, rejected):
    dispute(api_client, world, rejected)
    again = dispute(api_client, world, rejected)
    assert (again.status_code, again.json()["rule"]) == (409, "one_open_dispute")
    rule(api_client, world, rejected, "upheld")
    after = dispute(api_client, world, rejected)
    assert (after.status_code, after.json()["rule"]) == (409, "dispute_ruled")


def test_a_dispute_needs_a_note(api_client, world, rejected):
    response = dispute(api_client, world, rejected, note="  ")
    assert response.status_code == 400
    assert "note" in response.json()
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("name, code", [("morgan", 403), ("erin", 403), ("petra", 404)])
def test_only_marketing_of_the_agreement_disputes(api_client, world, rejected, name, code):
    response = dispute(api_client, world, rejected, world.users[name])
    assert response.status_code == code
    assert not Dispute.objects.exists()


def test_an_admin_may_dispute(api_client, world, rejected):
    assert dispute(api_client, world, rejected, world.ada).status_code == 200


# --- ruling -------------------------------------------------------------------------------


def test_the_sales_manager_overturns_and_the_lead_counts_as_accepted(api_client, world, rejected):
    dispute(api_client, world, rejected)
    response = rule(api_client, world, rejected, "overturned")
    assert response.status_code == 200
    ruling = response.json()["dispute"]["ruling"]
    assert (ruling["outcome"], ruling["by"], ruling["note"]) == (
        "overturned",
        "morgan",
        "Checked the CRM",
    )
    assert response.json()["verdict"] == "rejected"  # sales' verdict row is kept as given
    figures = marketing(world, TUESDAY)
    assert (figures["accepted"], figures["rejected"], figures["rejections_pending"]) == (1, 0, 0)
    assert figures["acceptance_percent"] == 100.0


def test_an_upheld_rejection_is_final_at_once(api_client, world, rejected):
    dispute(api_client, world, rejected)
    rule(api_client, world, rejected, "upheld")
    figures = marketing(world, TUESDAY)
    assert (figures["accepted"], figures["rejected"], figures["rejections_pending"]) == (0, 1, 0)
    assert figures["acceptance_percent"] == 0.0


@pytest.mark.parametrize("name, code", [("sam", 403), ("maria", 403), ("otto", 404)])
def test_only_a_sales_manager_of_the_leads_team_rules(api_client, world, rejected, name, code):
    dispute(api_client, world, rejected)
    response = rule(api_client, world, rejected, "overturned", world.users[name])
    assert response.status_code == code
    assert Dispute.objects.get().state == "open"


def test_a_ruling_needs_an_outcome_and_an_open_dispute(api_client, world, rejected):
    none_yet = rule(api_client, world, rejected, "upheld")
    assert (none_yet.status_code, none_yet.json()["rule"]) == (409, "no_open_dispute")
    dispute(api_client, world, rejected)
    bad = rule(api_client, world, rejected, "maybe")
    assert bad.status_code == 400 and "outcome" in bad.json()
    assert Dispute.objects.get().state == "open"


# --- counting -------------------------------------------------------------------------------


def test_a_rejection_inside_its_window_counts_in_neither(world, rejected):
    figures = marketing(world, TUESDAY)
    assert (figures["accepted"], figures["rejected"], figures["rejections_pending"]) == (0, 0, 1)
    assert figures["acceptance_percent"] is None
    final = marketing(world, WINDOW_ENDS)
    assert (final["rejected"], final["rejections_pending"]) == (1, 0)


def test_an_open_dispute_is_counted_and_keeps_the_rejection_pending(api_client, world, rejected):
    dispute(api_client, world, rejected)
    figures = marketing(world, datetime(2026, 12, 20, 15, tzinfo=UTC))  # past the window
    assert (figures["disputes_open"], figures["rejections_pending"], figures["rejected"]) == (
        1,
        1,
        0,
    )


def test_the_compliance_api_shows_pending_rejections_and_open_disputes(api_client, world, rejected):
    dispute(api_client, world, rejected)
    api_client.force_authenticate(world.erin)
    with time_machine.travel(TUESDAY, tick=False):
        body = api_client.get(f"/api/compliance/?agreement={world.a.pk}&month=2026-12").json()
    assert body["marketing"]["disputes_open"] == 1
    assert body["marketing"]["rejections_pending"] == 1


# --- closed months ----------------------------------------------------------------------------
# October 2026 ends at local midnight of Sun 1 Nov; its grace counts Mon 2 to Wed 4 Nov, and
# its books close at local midnight of Thu 5 Nov.

OCTOBER_LEAD = ny(2026, 10, 29, 10, 0)
OCTOBER_REJECTED = ny(2026, 11, 3, 10, 0)  # in grace; its window runs to Wed 11 Nov


@pytest.fixture
def october(world):
    lead = deliver(world, at=OCTOBER_LEAD)
    return lead_reject(lead=lead, by=world.morgan, reason="not_icp", now=OCTOBER_REJECTED)


def test_disputing_a_lead_of_a_closed_month_is_409(api_client, world, october):
    response = dispute(api_client, world, october, at=ny(2026, 11, 6, 10, 0))
    assert (response.status_code, response.json()["rule"]) == (409, "month_closed")


def test_a_dispute_raised_before_the_close_is_ruled_after_it(api_client, world, october):
    assert dispute(api_client, world, october, at=ny(2026, 11, 4, 10, 0)).status_code == 200
    response = rule(api_client, world, october, "overturned", at=ny(2026, 11, 9, 10, 0))
    assert response.status_code == 200
    figures = marketing(world, ny(2026, 11, 9, 11, 0), month="2026-10")
    assert (figures["accepted"], figures["rejected"]) == (1, 0)


def _quality_flags(world, at):
    return [f for f in quality_shortfall(at=at) if f.agreement_id == world.a.pk]


def test_quality_shortfall_waits_for_the_months_disputes_to_settle(api_client, world, october):
    dispute(api_client, world, october, at=ny(2026, 11, 4, 10, 0))
    assert _quality_flags(world, ny(2026, 11, 6, 12, 0)) == []  # closed, dispute open
    rule(api_client, world, october, "upheld", at=ny(2026, 11, 9, 10, 0))
    flags = _quality_flags(world, ny(2026, 11, 9, 12, 0))
    assert [f.month for f in flags] == ["2026-10"]
    assert Flag.objects.filter(kind="quality_shortfall", agreement=world.a).count() == 1


def test_an_undisputed_rejection_is_judged_once_the_months_last_window_ended(world, october):
    assert _quality_flags(world, ny(2026, 11, 6, 12, 0)) == []  # still disputable
    # A verdict could be given until the books closed (Thu 5 Nov): the last window that
    # could be open ends five business days later, at local midnight of Fri 13 Nov.
    assert _quality_flags(world, ny(2026, 11, 12, 23, 0)) == []
    flags = _quality_flags(world, ny(2026, 11, 13, 0, 30))
    assert [f.month for f in flags] == ["2026-10"]
