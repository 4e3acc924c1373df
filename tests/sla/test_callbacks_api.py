"""`POST /api/leads/<id>/callback/`: who may, what it answers, and the refusals
(400 naming `at`, 403 for a role, 404 for a lead not seen, 409 naming the rule), each
writing nothing. New York 09:00–17:00 weekdays; 2026-12-04 is a Friday."""

import pytest
import time_machine

from sla.actions import lead_deliver, lead_touch
from sla.models import Callback, Clock
from tests.sla.lead_world import build_world, iso, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_4PM = ny(2026, 12, 4, 16, 0)
MONDAY_10AM = ny(2026, 12, 7, 10, 0)
MONDAY_11AM = ny(2026, 12, 7, 11, 0)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def lead(world):
    """sam's lead, touched Monday 10:00: next touch due Thursday 10:00."""
    data = {**lead_body(), "received_at": FRIDAY_4PM}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=FRIDAY_4PM)
    lead_touch(lead=lead, by=world.sam, kind="call", outcome="no_answer", now=MONDAY_10AM)
    return lead


def post(api_client, user, lead, when=MONDAY_11AM, **body):
    api_client.force_authenticate(user=user)
    with time_machine.travel(when, tick=False):
        return api_client.post(f"/api/leads/{lead.pk}/callback/", body, format="json")


def test_the_owner_sets_a_callback_and_gets_it_back_with_the_leads_sla(api_client, world, lead):
    response = post(api_client, world.sam, lead, at="2026-12-08T14:00:00-05:00", note="Busy")
    assert response.status_code == 201, response.json()
    body = response.json()
    clock = Clock.objects.get(lead=lead, kind="next_touch", state="running")
    assert body == {
        "id": Callback.objects.get().pk,
        "lead": lead.pk,
        "clock": clock.pk,
        "kind": "next_touch",
        "at": iso(ny(2026, 12, 8, 14, 0)),
        "due_at": iso(ny(2026, 12, 11, 14, 0)),
        "previous_started_at": iso(MONDAY_10AM),
        "previous_due_at": iso(ny(2026, 12, 10, 10, 0)),
        "note": "Busy",
        "set_by": "sam",
        "set_at": iso(MONDAY_11AM),
        "approved_by": None,
        "sla": body["sla"],
    }
    assert body["sla"]["next_touch_due_at"] == iso(ny(2026, 12, 11, 14, 0))
    assert body["sla"]["status"] == "met"


@pytest.mark.parametrize("who", ["morgan", "ada"])
def test_a_sales_manager_of_the_team_or_an_admin_may_set_one(api_client, world, lead, who):
    response = post(api_client, world.users[who], lead, at="2026-12-08T14:00:00Z")
    assert response.status_code == 201, response.json()
    assert response.json()["set_by"] == who


@pytest.mark.parametrize(
    ("who", "code"), [("maria", 403), ("erin", 403), ("sofia", 404), ("otto", 404)]
)
def test_others_may_not(api_client, world, lead, who, code):
    response = post(api_client, world.users[who], lead, at="2026-12-08T14:00:00Z")
    assert response.status_code == code
    assert not Callback.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"at": ""},
        {"at": "2026-12-08T14:00:00"},  # a wall time alone: which zone?
        {"at": "tomorrow"},
        {"at": 1765220400},
        {"at": "2026-12-07T10:30:00-05:00"},  # in the past
        {"at": "2026-12-07T11:00:00-05:00"},  # now
    ],
    ids=["missing", "blank", "naive", "words", "number", "past", "now"],
)
def test_bad_instants_are_a_400_naming_at_and_write_nothing(api_client, world, lead, body):
    response = post(api_client, world.sam, lead, **body)
    assert response.status_code == 400
    assert "at" in response.json()
    assert not Callback.objects.exists()
    assert Clock.objects.get(lead=lead, state="running").started_at == MONDAY_10AM


def test_beyond_the_business_days_a_rep_gets_409_naming_the_rule(api_client, world, lead):
    response = post(api_client, world.sam, lead, at="2026-12-22T09:00:00-05:00")
    assert response.status_code == 409
    body = response.json()
    assert body["rule"] == "max_callback_business_days"
    assert body["detail"].startswith("max_callback_business_days: ")
    assert not Callback.objects.exists()


def test_beyond_the_count_a_rep_gets_409_and_a_manager_is_recorded_approving(
    api_client, world, lead
):
    for day in (8, 9, 10):
        assert (
            post(api_client, world.sam, lead, at=f"2026-12-{day:02d}T10:00:00-05:00").status_code
            == 201
        )
    refused = post(api_client, world.sam, lead, at="2026-12-11T10:00:00-05:00")
    assert refused.status_code == 409
    assert refused.json()["rule"] == "max_callbacks"
    assert Callback.objects.count() == 3

    approved = post(api_client, world.morgan, lead, at="2026-12-11T10:00:00-05:00")
    assert approved.status_code == 201
    assert approved.json()["approved_by"] == "morgan"


def test_a_breached_clock_is_a_409(api_client, world, lead):
    response = post(
        api_client, world.sam, lead, when=ny(2026, 12, 10, 10, 0), at="2026-12-11T10:00:00Z"
    )
    assert response.status_code == 409
    assert response.json()["rule"] == "clock_breached"


def test_the_schema_describes_the_callback(api_client, world):
    api_client.force_authenticate(user=world.ada)
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/leads/{id}/callback/"]["post"]
    assert set(operation["responses"]) >= {"201", "400", "403", "404", "409"}
    assert "LeadCallbackInput" in str(operation["requestBody"])
