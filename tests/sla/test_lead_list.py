"""The lead list: its filters, its order, and a fixed number of queries however long."""

import pytest
import time_machine

from sla.actions import lead_deliver, lead_touch
from tests.factories import LeadFactory, stage
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)


@pytest.fixture
def world():
    return build_world()


def deliver(world, at, **overrides):
    data = {**lead_body(**overrides), "received_at": at}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=at)
    return lead


def listed(client, user, **params) -> list[str]:
    client.force_authenticate(user=user)
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = client.get("/api/leads/", params)
    assert response.status_code == 200, response.json()
    return [lead["email"] for lead in response.json()["results"]]


def test_sales_see_the_most_urgent_lead_first(api_client, world):
    deliver(world, ny(2026, 12, 4, 10, 0), email="older@example.com")  # due Fri 14:00
    deliver(world, ny(2026, 12, 4, 9, 0), email="oldest@example.com")  # due Fri 13:00
    deliver(world, ny(2026, 12, 7, 9, 0), email="newest@example.com")  # due Mon 13:00
    deliver(world, ny(2026, 12, 7, 9, 30), email="student@example.com", company_size=1)
    emails = listed(api_client, world.morgan)
    assert emails == [
        "oldest@example.com",
        "older@example.com",
        "newest@example.com",
        "student@example.com",  # no clock: last
    ]


def test_marketing_see_the_newest_lead_first(api_client, world):
    deliver(world, ny(2026, 12, 4, 9, 0), email="old@example.com")
    deliver(world, ny(2026, 12, 7, 9, 0), email="new@example.com")
    assert listed(api_client, world.maria) == ["new@example.com", "old@example.com"]


def test_filter_by_sla_status(api_client, world):
    deliver(world, ny(2026, 12, 4, 9, 0), email="breached@example.com")  # due Fri 13:00
    deliver(world, ny(2026, 12, 7, 9, 0), email="pending@example.com")
    assert listed(api_client, world.morgan, sla_status="breached") == ["breached@example.com"]
    assert listed(api_client, world.morgan, sla_status="pending") == ["pending@example.com"]


def test_an_invalid_sla_status_is_400_naming_it(api_client, world):
    api_client.force_authenticate(user=world.sam)
    response = api_client.get("/api/leads/", {"sla_status": "late"})
    assert response.status_code == 400
    assert "sla_status" in response.json()


def test_filter_by_owner_me_and_by_username(api_client, world):
    deliver(world, ny(2026, 12, 7, 9, 0), email="one@example.com")  # sam
    deliver(world, ny(2026, 12, 7, 9, 1), email="two@example.com")  # sofia
    assert listed(api_client, world.sam, owner="me") == ["one@example.com"]
    assert listed(api_client, world.morgan, owner="sofia") == ["two@example.com"]
    assert listed(api_client, world.morgan, owner="me") == []


def test_filter_by_stage_verdict_team_and_agreement(api_client, world):
    LeadFactory(agreement=world.a, email="won@example.com", stage=stage("customer"))
    LeadFactory(agreement=world.a, email="yes@example.com", verdict="accepted")
    LeadFactory(agreement=world.b, email="b@example.com")
    erin = world.erin
    assert listed(api_client, erin, stage="customer") == ["won@example.com"]
    assert listed(api_client, erin, verdict="accepted") == ["yes@example.com"]
    assert listed(api_client, erin, team=world.b.sales_team_id) == ["b@example.com"]
    assert listed(api_client, erin, agreement=world.b.pk) == ["b@example.com"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "heaven"}, "stage"),
        ({"team": "999999"}, "team"),
        ({"agreement": "x"}, "agreement"),
        ({"verdict": "maybe"}, "verdict"),
        ({"received_after": "2026-12-04T09:00:00"}, "received_after"),
        ({"received_before": "yesterday"}, "received_before"),
    ],
)
def test_an_invalid_filter_is_400_naming_it(api_client, world, params, field):
    api_client.force_authenticate(user=world.erin)
    response = api_client.get("/api/leads/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_filter_by_received_between(api_client, world):
    deliver(world, ny(2026, 12, 4, 9, 0), email="friday@example.com")
    deliver(world, ny(2026, 12, 7, 9, 0), email="monday@example.com")
    emails = listed(
        api_client,
        world.erin,
        received_after="2026-12-05T00:00:00-05:00",
        received_before="2026-12-08T00:00:00-05:00",
    )
    assert emails == ["monday@example.com"]


def test_an_unencoded_plus_in_an_offset_is_understood(api_client, world):
    deliver(world, ny(2026, 12, 7, 9, 0), email="monday@example.com")
    api_client.force_authenticate(user=world.erin)
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = api_client.get("/api/leads/?received_after=2026-12-07T13:00:00+00:00")
    assert [lead["email"] for lead in response.json()["results"]] == ["monday@example.com"]


def test_search_finds_words_in_name_email_and_company(api_client, world):
    LeadFactory(agreement=world.a, first_name="Ann", last_name="Archer", company="Acme")
    LeadFactory(
        agreement=world.a,
        first_name="Bob",
        last_name="Baker",
        company="Initech",
        email="bob@initech.example",
    )
    erin = world.erin
    assert listed(api_client, erin, search="ann archer") == [listed(api_client, erin)[-1]]
    assert listed(api_client, erin, search="INITECH") == ["bob@initech.example"]
    assert listed(api_client, erin, search="nobody") == []


def test_the_list_takes_a_fixed_number_of_queries(api_client, world, django_assert_max_num_queries):
    for n in range(30):
        lead = deliver(world, ny(2026, 12, 4, 9, n), email=f"l{n}@example.com")
        lead_touch(
            lead=lead, by=world.sam, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 12, n)
        )
    api_client.force_authenticate(user=world.morgan)
    # The manager's team ids and whether they own a lead outside them (the scope), the
    # count, the page of leads, their clocks, and the small tables the page names (teams,
    # definition versions, reason codes).
    with time_machine.travel(MONDAY_10AM, tick=False), django_assert_max_num_queries(8):
        response = api_client.get("/api/leads/", {"page_size": 100})
    assert response.json()["count"] == 30


def test_a_lead_detail_takes_a_fixed_number_of_queries(
    api_client, world, django_assert_max_num_queries
):
    lead = deliver(world, ny(2026, 12, 4, 9, 0))
    for n in range(10):
        lead_touch(
            lead=lead, by=world.sam, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 12, n)
        )
    api_client.force_authenticate(user=world.morgan)
    # The manager's scope (two small reads), the lead, its team and definition version,
    # its clocks, its touches, its stage history, its changes of hands.
    with time_machine.travel(MONDAY_10AM, tick=False), django_assert_max_num_queries(9):
        response = api_client.get(f"/api/leads/{lead.pk}/")
    assert len(response.json()["touches"]) == 10


def test_an_unknown_lead_is_404(api_client, world):
    api_client.force_authenticate(user=world.erin)
    assert api_client.get("/api/leads/999999/").status_code == 404
