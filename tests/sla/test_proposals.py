"""Proposals: a change to an agreement's terms that measures nothing until both sides sign.

Agreement A: marketing Demand Gen (maria) and sales Inside Sales (manager morgan, reps
sam and sofia), on a New York weekday calendar. Today is Tue 8 Dec 2026; the earliest
effective date is Fri 1 Jan 2027.
"""

from datetime import UTC, datetime

import pytest
import time_machine

from accounts.models import Role
from sla.models import AgreementVersion, Notification, Proposal, ProposalEvent
from sla.proposals import proposals_apply_due
from tests.factories import DefinitionFactory, UserFactory
from tests.sla.lead_world import build_world, ny

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
JANUARY = "2027-01-01"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    return build_world()


def client_for(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def url(world, *tail) -> str:
    return "/".join([f"/api/agreements/{world.a.pk}/proposals", *map(str, tail), ""])


def propose(api_client, world, user=None, **body):
    body = {"note": "Faster first touch", "effective_from": JANUARY, **body}
    body.setdefault("sales", {"first_touch_minutes": 120})
    return client_for(api_client, user or world.maria).post(url(world), body, format="json")


def nothing_written():
    return not Proposal.objects.exists() and not ProposalEvent.objects.exists()


# --- proposing ------------------------------------------------------------------------------


def test_a_marketing_manager_proposes_and_marketing_has_accepted_by_proposing(api_client, world):
    response = propose(api_client, world)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "open"
    assert body["side"] == "marketing"
    assert body["sales"] == {"first_touch_minutes": 120}
    assert body["marketing"] == {} and body["definition"] is None
    assert body["accepted_by_marketing"]["by"] == "maria"
    assert body["accepted_by_marketing"]["acting_for"] is None
    assert body["accepted_by_sales"] is None
    assert [e["kind"] for e in body["events"]] == ["proposed"]


def test_a_proposal_measures_nothing_until_accepted(api_client, world):
    propose(api_client, world)
    world.a.refresh_from_db()
    assert world.a.first_touch_minutes == 240
    assert world.a.version == 1


def test_both_sides_managers_are_notified_once_each(api_client, world):
    propose(api_client, world)
    recipients = sorted(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == ["maria", "morgan"]
    assert set(Notification.objects.values_list("channel", flat=True)) == {"email"}


def test_an_effective_date_not_the_first_of_a_month_is_400(api_client, world):
    response = propose(api_client, world, effective_from="2027-01-15")
    assert response.status_code == 400
    assert "effective_from" in response.json()
    assert nothing_written()


def test_an_effective_date_in_the_past_is_400(api_client, world):
    response = propose(api_client, world, effective_from="2026-11-01")
    assert response.status_code == 400
    assert "past" in response.json()["effective_from"][0]
    assert nothing_written()


def test_terms_that_fail_the_agreements_validation_are_400_naming_the_field(api_client, world):
    response = propose(api_client, world, sales={"at_risk_percent": 150})
    assert response.status_code == 400
    assert "at_risk_percent" in response.json()["sales"]
    assert nothing_written()


def test_malformed_tiers_are_400_naming_the_tier(api_client, world):
    tiers = [{"name": "big", "when": [{"field": "company_size", "op": "gte", "value": "x"}]}]
    response = propose(api_client, world, sales={"tiers": tiers})
    assert response.status_code == 400
    assert "tiers" in response.json()["sales"]
    assert nothing_written()


def test_an_unknown_term_is_400_naming_it(api_client, world):
    response = propose(api_client, world, sales={"first_touch_minute": 5})
    assert response.status_code == 400
    assert "first_touch_minute" in response.json()["sales"]
    assert nothing_written()


def test_a_proposal_that_changes_nothing_is_400(api_client, world):
    response = propose(api_client, world, sales={"first_touch_minutes": 240})
    assert response.status_code == 400
    assert nothing_written()


def test_a_definition_of_another_marketing_team_is_400(api_client, world):
    other = DefinitionFactory(name="Partners only", team=world.b.marketing_team)
    response = propose(api_client, world, sales={}, definition=other.pk)
    assert response.status_code == 400
    assert "definition" in response.json()
    assert nothing_written()


def test_a_second_open_proposal_of_the_same_side_is_409(api_client, world):
    propose(api_client, world)
    response = propose(api_client, world, sales={"first_touch_minutes": 60})
    assert response.status_code == 409
    assert response.json()["rule"] == "one_open_proposal"
    assert Proposal.objects.count() == 1


def test_the_other_side_may_have_its_own_open_proposal(api_client, world):
    propose(api_client, world)
    response = propose(api_client, world, world.morgan, marketing={"monthly_quota": 250})
    assert response.status_code == 201
    assert response.json()["side"] == "sales"


@pytest.mark.parametrize("name", ["sam", "erin"])
def test_a_rep_or_an_executive_may_not_propose(api_client, world, name):
    response = propose(api_client, world, world.users[name])
    assert response.status_code == 403
    assert nothing_written()


def test_a_manager_of_another_agreement_does_not_see_it(api_client, world):
    response = propose(api_client, world, world.petra)
    assert response.status_code == 404
    assert nothing_written()


def test_an_admin_names_the_side_it_proposes_for(api_client, world):
    response = propose(api_client, world, world.ada)
    assert response.status_code == 400
    assert "acting_for" in response.json()
    response = propose(api_client, world, world.ada, acting_for="sales")
    assert response.status_code == 201
    assert response.json()["accepted_by_sales"] == {
        "by": "ada",
        "at": "2026-12-08T15:00:00Z",
        "acting_for": "sales",
    }


# --- signing ---------------------------------------------------------------------------------


def test_the_sales_manager_accepts_and_the_terms_change_from_the_effective_date(api_client, world):
    pid = propose(api_client, world).json()["id"]
    response = client_for(api_client, world.morgan).post(url(world, pid, "accept"))
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "accepted"
    assert body["accepted_by_sales"]["by"] == "morgan"
    assert body["version_made"] is None  # January has not come
    world.a.refresh_from_db()
    assert world.a.first_touch_minutes == 240
    # At local midnight of 1 January it becomes the next version, dated then.
    proposals_apply_due(at=ny(2027, 1, 1, 0, 0))
    world.a.refresh_from_db()
    assert (world.a.version, world.a.first_touch_minutes) == (2, 120)
    version = AgreementVersion.objects.get(agreement=world.a, version=2)
    assert version.created_at == ny(2027, 1, 1, 0, 0)
    assert Proposal.objects.get(pk=pid).version_made == 2
    assert proposals_apply_due(at=ny(2027, 1, 2, 0, 0)) == []  # applied once


def test_an_accepted_proposal_due_today_takes_effect_at_once(api_client, world):
    with time_machine.travel(ny(2027, 1, 1, 9, 0), tick=False):
        pid = propose(api_client, world).json()["id"]
        response = client_for(api_client, world.morgan).post(url(world, pid, "accept"))
    assert response.json()["version_made"] == 2
    kinds = [e["kind"] for e in response.json()["events"]]
    assert kinds == ["proposed", "accepted", "in_effect"]


def test_the_proposers_side_may_not_sign_twice(api_client, world):
    pid = propose(api_client, world).json()["id"]
    response = client_for(api_client, world.maria).post(url(world, pid, "accept"))
    assert response.status_code == 409
    assert response.json()["rule"] == "already_signed"


def test_an_admin_signs_for_the_side_still_missing_recorded_as_acting_for(api_client, world):
    pid = propose(api_client, world).json()["id"]
    response = client_for(api_client, world.ada).post(url(world, pid, "accept"))
    assert response.status_code == 200
    assert response.json()["accepted_by_sales"]["acting_for"] == "sales"
    assert response.json()["events"][-1]["acting_for"] == "sales"


def test_a_rep_may_not_accept(api_client, world):
    pid = propose(api_client, world).json()["id"]
    response = client_for(api_client, world.sam).post(url(world, pid, "accept"))
    assert response.status_code == 403
    assert Proposal.objects.get(pk=pid).state == "open"


def test_a_proposal_of_another_agreement_is_404(api_client, world):
    pid = propose(api_client, world).json()["id"]
    other = f"/api/agreements/{world.b.pk}/proposals/{pid}/accept/"
    assert client_for(api_client, world.ada).post(other).status_code == 404


def test_rejecting_needs_a_reason_and_then_nothing_more_may_be_signed(api_client, world):
    pid = propose(api_client, world).json()["id"]
    morgan = client_for(api_client, world.morgan)
    response = morgan.post(url(world, pid, "reject"), {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()
    response = morgan.post(url(world, pid, "reject"), {"reason": "Too tight"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    assert response.json()["reject_reason"] == "Too tight"
    response = morgan.post(url(world, pid, "accept"))
    assert response.status_code == 409
    assert response.json()["rule"] == "proposal_not_open"


def test_a_counter_supersedes_the_proposal_it_answers(api_client, world):
    pid = propose(api_client, world).json()["id"]
    response = propose(
        api_client,
        world,
        world.morgan,
        note="180 minutes, not 120",
        sales={"first_touch_minutes": 180},
        counters=pid,
    )
    assert response.status_code == 201
    assert response.json()["counters"] == pid
    assert response.json()["accepted_by_sales"]["by"] == "morgan"
    old = client_for(api_client, world.maria).get(url(world, pid)).json()
    assert old["state"] == "superseded"
    assert old["events"][-1]["kind"] == "superseded"
    # Marketing may now accept the counter.
    counter = response.json()["id"]
    accepted = client_for(api_client, world.maria).post(url(world, counter, "accept"))
    assert accepted.json()["state"] == "accepted"


def test_everyone_who_sees_the_agreement_reads_its_proposals(api_client, world):
    propose(api_client, world)
    for name in ("sam", "erin", "morgan"):
        response = client_for(api_client, world.users[name]).get(url(world))
        assert response.status_code == 200
        assert len(response.json()) == 1
    assert client_for(api_client, world.petra).get(url(world)).status_code == 404


# --- issue 13: the terms change only through an admin or a proposal ------------------------


@pytest.mark.parametrize("name", ["maria", "morgan", "sam"])
def test_patching_an_agreement_is_refused_to_non_admins(api_client, world, name):
    response = client_for(api_client, world.users[name]).patch(
        f"/api/agreements/{world.a.pk}/", {"sales": {"first_touch_minutes": 60}}, format="json"
    )
    assert response.status_code == 403
    world.a.refresh_from_db()
    assert world.a.first_touch_minutes == 240


def test_an_admin_patches_the_dispute_window_as_a_marketing_term(api_client, world):
    response = client_for(api_client, world.ada).patch(
        f"/api/agreements/{world.a.pk}/",
        {"marketing": {"dispute_window_business_days": 3}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["marketing"]["dispute_window_business_days"] == 3


def test_a_marketing_manager_without_a_team_sees_no_agreement(api_client, world):
    loner = UserFactory(username="lou", role=Role.MARKETING)
    assert propose(api_client, world, loner).status_code == 404


def test_the_scheduled_checks_apply_an_accepted_proposal_on_its_first_day(api_client, world):
    from sla.checks import run_all_checks

    pid = propose(api_client, world).json()["id"]
    client_for(api_client, world.morgan).post(url(world, pid, "accept"))
    run_all_checks(at=ny(2026, 12, 31, 23, 0))
    assert Proposal.objects.get(pk=pid).version_made is None
    run_all_checks(at=ny(2027, 1, 1, 0, 5))
    assert Proposal.objects.get(pk=pid).version_made == 2
