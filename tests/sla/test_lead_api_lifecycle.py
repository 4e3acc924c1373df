"""A lead's whole life through the API, each role doing its part.

Clock times are exact: the calendar is New York 09:00–17:00 on weekdays, the first-touch
window 240 business minutes (at risk at 75 %), the next-touch window 1440 (three
business days), six attempts before abandoning. 2026-12-04 is a Friday.
"""

import pytest
import time_machine

from leads.models import Lead
from tests.sla.lead_world import build_world, iso, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_4PM = ny(2026, 12, 4, 16, 0)
MONDAY_10AM = ny(2026, 12, 7, 10, 0)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def as_user(api_client):
    def login(user):
        api_client.force_authenticate(user=user)
        return api_client

    return login


def deliver(client, agreement, headers=None, **overrides):
    body = lead_body(agreement=agreement.pk, **overrides)
    return client.post("/api/leads/", body, format="json", headers=headers or {})


@pytest.fixture
def delivered(world, as_user):
    """A qualifying lead delivered on Friday at 16:00 New York time; sam owns it."""
    with time_machine.travel(FRIDAY_4PM, tick=False):
        response = deliver(as_user(world.maria), world.a, external_id="crm-1")
    assert response.status_code == 201, response.json()
    return response.json()


def act(client, lead, action, when, **body):
    with time_machine.travel(when, tick=False):
        return client.post(f"/api/leads/{lead['id']}/{action}/", body, format="json")


# --- marketing delivers ------------------------------------------------------------------


def test_delivered_lead_is_assigned_and_due_after_240_business_minutes(delivered, world):
    assert delivered["owner"] == "sam"
    assert delivered["team"] == world.a.sales_team_id
    assert delivered["agreement"] == world.a.pk
    assert delivered["stage"] == "interacting"
    assert delivered["verdict"] == "pending"
    assert delivered["score"] == 60
    assert delivered["qualifies"] is True
    assert delivered["score_explanation"] == [{"label": "50+ staff", "points": 60}]
    assert delivered["sla"] == {
        "status": "pending",
        "first_touch_due_at": iso(ny(2026, 12, 7, 12, 0)),  # Friday 16–17, Monday 09–12
        "first_touch_at_risk_at": iso(ny(2026, 12, 7, 11, 0)),
        "first_touched_at": None,
        "next_touch_due_at": None,
        "attempts": 0,
        "attempts_required": 6,
        "tier": None,
    }


def test_a_repeated_external_id_answers_the_first_lead_with_200(delivered, world, as_user):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        again = deliver(as_user(world.maria), world.a, external_id="crm-1", email="x@example.com")
    assert again.status_code == 200
    assert again.json()["id"] == delivered["id"]
    assert Lead.objects.count() == 1


def test_a_repeated_idempotency_key_answers_the_first_lead_with_200(world, as_user):
    client = as_user(world.maria)
    with time_machine.travel(FRIDAY_4PM, tick=False):
        first = deliver(client, world.a, headers={"Idempotency-Key": "form-42"})
        second = deliver(client, world.a, headers={"Idempotency-Key": "form-42"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert Lead.objects.count() == 1


def test_a_lead_that_does_not_qualify_is_kept_with_its_reasons_and_no_clock(world, as_user):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        response = deliver(as_user(world.maria), world.a, attributes={"student": True})
    lead = response.json()
    assert response.status_code == 201
    assert lead["qualifies"] is False
    assert lead["disqualified_by"] == ["Student"]
    assert lead["owner"] is None
    assert lead["sla"]["status"] == "not_started"
    assert lead["sla"]["first_touch_due_at"] is None


def test_received_at_defaults_to_now(world, as_user):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        lead = deliver(as_user(world.maria), world.a).json()
    assert lead["received_at"] == iso(FRIDAY_4PM)


def test_a_lead_received_earlier_starts_its_clock_when_received(world, as_user):
    with time_machine.travel(MONDAY_10AM, tick=False):
        lead = deliver(
            as_user(world.maria), world.a, received_at="2026-12-04T16:00:00-05:00"
        ).json()
    assert lead["sla"]["first_touch_due_at"] == iso(ny(2026, 12, 7, 12, 0))
    assert lead["sla"]["status"] == "pending"


# --- sales works it ----------------------------------------------------------------------


def test_the_rep_finds_the_lead_in_their_inbox(delivered, world, as_user):
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = as_user(world.sam).get("/api/leads/", {"owner": "me"})
    assert [lead["id"] for lead in response.json()["results"]] == [delivered["id"]]


def test_the_first_touch_stops_the_first_touch_clock_and_starts_the_next(delivered, world, as_user):
    response = act(
        as_user(world.sam), delivered, "touches", MONDAY_10AM, kind="call", outcome="no_answer"
    )
    assert response.status_code == 201
    touch = response.json()
    assert (touch["kind"], touch["outcome"], touch["by"]) == ("call", "no_answer", "sam")
    assert touch["sla"]["status"] == "met"
    assert touch["sla"]["first_touched_at"] == iso(MONDAY_10AM)
    # 1440 business minutes = three working days of eight hours.
    assert touch["sla"]["next_touch_due_at"] == iso(ny(2026, 12, 10, 10, 0))
    assert touch["sla"]["attempts"] == 1


def test_the_owner_acknowledges_the_lead(delivered, world, as_user):
    response = act(as_user(world.sam), delivered, "acknowledge", MONDAY_10AM)
    assert response.status_code == 200
    assert response.json()["verdict"] == "accepted"


def test_moving_the_stage_is_recorded_in_the_history(delivered, world, as_user):
    response = act(
        as_user(world.sam), delivered, "stage", MONDAY_10AM, stage="engaged", note="Demo booked"
    )
    lead = response.json()
    assert response.status_code == 200
    assert lead["stage"] == "engaged"
    assert lead["stage_history"][-1] == {
        "from_stage": "interacting",
        "to_stage": "engaged",
        "at": iso(MONDAY_10AM),
        "by": "sam",
        "note": "Demo booked",
        "business_minutes_in_stage": 0,
    }


def test_abandoning_before_the_agreed_attempts_is_409_naming_what_is_owed(
    delivered, world, as_user
):
    client = as_user(world.sam)
    act(client, delivered, "touches", MONDAY_10AM, kind="call", outcome="no_answer")
    response = act(client, delivered, "abandon", MONDAY_10AM, reason="unreachable")
    assert response.status_code == 409
    assert "attempts_before_abandon" in response.json()["detail"]
    assert "5 more needed" in response.json()["detail"]


def test_abandoning_after_the_agreed_attempts_closes_the_lead(delivered, world, as_user):
    client = as_user(world.sam)
    for day in range(7, 13):  # six touches, one a day
        at = ny(2026, 12, day, 10, 0)
        assert act(client, delivered, "touches", at, kind="call", outcome="no_answer").status_code
    response = act(client, delivered, "abandon", ny(2026, 12, 14, 9, 30), reason="unreachable")
    lead = response.json()
    assert response.status_code == 200
    assert lead["sla"]["status"] == "closed"
    assert lead["sla"]["attempts"] == 6
    assert lead["sla"]["next_touch_due_at"] is None
    assert lead["stage"] == "recycled"
    assert lead["abandon_reason"] == "unreachable"


def test_a_sales_manager_may_override_an_early_abandon(delivered, world, as_user):
    response = act(
        as_user(world.morgan),
        delivered,
        "abandon",
        MONDAY_10AM,
        reason="wrong person",
        override=True,
    )
    assert response.status_code == 200
    assert response.json()["sla"]["status"] == "closed"


def test_a_rep_may_not_override_an_early_abandon(delivered, world, as_user):
    response = act(as_user(world.sam), delivered, "abandon", MONDAY_10AM, reason="x", override=True)
    assert response.status_code == 403
    assert Lead.objects.get().closed_at is None


def test_rejecting_with_a_reason_closes_the_clocks(delivered, world, as_user):
    response = act(
        as_user(world.sam),
        delivered,
        "reject",
        MONDAY_10AM,
        reason="not_icp",
        note="Agency, not a buyer",
    )
    lead = response.json()
    assert response.status_code == 200
    assert lead["verdict"] == "rejected"
    assert lead["verdict_reason"] == "not_icp"
    assert lead["sla"]["status"] == "closed"
    assert lead["closed_at"] == iso(MONDAY_10AM)
    assert lead["stage"] == "disqualified"


def test_rejecting_with_an_unknown_reason_is_400_naming_reason(delivered, world, as_user):
    response = act(as_user(world.sam), delivered, "reject", MONDAY_10AM, reason="bored")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert Lead.objects.get().verdict == "pending"


def test_a_closed_lead_refuses_a_touch_with_409(delivered, world, as_user):
    client = as_user(world.sam)
    act(client, delivered, "reject", MONDAY_10AM, reason="not_icp")
    response = act(client, delivered, "touches", MONDAY_10AM, kind="call", outcome="connected")
    assert response.status_code == 409


def test_reassignment_moves_the_owner_and_keeps_the_due_times(delivered, world, as_user):
    response = act(as_user(world.morgan), delivered, "assign", MONDAY_10AM, owner="sofia")
    lead = response.json()
    assert response.status_code == 200
    assert lead["owner"] == "sofia"
    assert lead["sla"]["first_touch_due_at"] == delivered["sla"]["first_touch_due_at"]
    assert lead["sla"]["first_touch_at_risk_at"] == delivered["sla"]["first_touch_at_risk_at"]


def test_assigning_to_someone_outside_the_team_is_400_naming_owner(delivered, world, as_user):
    response = act(as_user(world.morgan), delivered, "assign", MONDAY_10AM, owner="olga")
    assert response.status_code == 400
    assert "owner" in response.json()
    assert Lead.objects.get().owner.username == "sam"


def test_the_lead_shows_its_touches_and_stage_history(delivered, world, as_user):
    client = as_user(world.sam)
    act(
        client,
        delivered,
        "touches",
        MONDAY_10AM,
        kind="email",
        outcome="left_message",
        note="Sent deck",
    )
    with time_machine.travel(MONDAY_10AM, tick=False):
        lead = client.get(f"/api/leads/{delivered['id']}/").json()
        listed = client.get(f"/api/leads/{delivered['id']}/touches/").json()
    assert [(t["kind"], t["note"]) for t in lead["touches"]] == [("email", "Sent deck")]
    assert [step["to_stage"] for step in lead["stage_history"]] == ["interacting"]
    assert listed["count"] == 1


# --- bad input changes nothing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"company_size": -1}, "company_size"),
        ({"company_size": 12.5}, "company_size"),
        ({"company_size": "many"}, "company_size"),
        ({"received_at": "2026-12-04T16:00:00"}, "received_at"),
        ({"received_at": "last friday"}, "received_at"),
        ({"received_at": "2026-12-05T16:00:00-05:00"}, "received_at"),  # the future
        ({"attributes": ["retail"]}, "attributes"),
        ({"agreement": 999999}, "agreement"),
        ({"owner": "sofia"}, "owner"),
        ({"team": 1}, "team"),
    ],
)
def test_bad_delivery_is_400_naming_the_field_and_creates_nothing(world, as_user, overrides, field):
    body = lead_body(agreement=world.a.pk)
    body.update(overrides)
    if body["email"] is None:
        del body["email"]
    with time_machine.travel(FRIDAY_4PM, tick=False):
        response = as_user(world.maria).post("/api/leads/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.exists()


def test_leaving_out_the_agreement_while_two_are_in_effect_is_400_naming_it(world, as_user):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        response = as_user(world.maria).post("/api/leads/", lead_body(), format="json")
    assert response.status_code == 400
    assert "agreement" in response.json()


def test_marketing_may_not_deliver_to_another_teams_agreement(world, as_user):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        response = deliver(as_user(world.maria), world.b)
    assert response.status_code == 400
    assert "agreement" in response.json()


def test_an_admin_may_name_the_owner_instead_of_round_robin(world, as_user):
    with time_machine.travel(FRIDAY_4PM, tick=False):
        response = deliver(as_user(world.ada), world.a, owner="sofia")
    assert response.status_code == 201
    assert response.json()["owner"] == "sofia"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "pigeon", "outcome": "no_answer"}, "kind"),
        ({"kind": "call", "outcome": "maybe"}, "outcome"),
        ({"outcome": "no_answer"}, "kind"),
        ({"kind": "call", "outcome": "no_answer", "at": "2026-12-07T10:00:00"}, "at"),
        ({"kind": "call", "outcome": "no_answer", "at": "2026-12-04T15:00:00-05:00"}, "at"),
        ({"kind": "call", "outcome": "no_answer", "at": "2026-12-07T11:00:00-05:00"}, "at"),
    ],
)
def test_a_bad_touch_is_400_naming_the_field(delivered, world, as_user, body, field):
    response = act(as_user(world.sam), delivered, "touches", MONDAY_10AM, **body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Lead.objects.get().touches.exists()


def test_moving_to_an_unknown_stage_is_400_naming_stage(delivered, world, as_user):
    response = act(as_user(world.sam), delivered, "stage", MONDAY_10AM, stage="heaven")
    assert response.status_code == 400
    assert "stage" in response.json()
