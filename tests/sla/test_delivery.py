"""Set-based delivery: a batch gives exactly what one-at-a-time delivery gives, in a
constant number of queries; the batch endpoint answers each lead on its own."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import AssignmentCursor, Lead
from sla.actions import lead_deliver
from sla.delivery import leads_deliver
from sla.models import Clock
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)


@pytest.fixture
def world():
    return build_world()


def bodies(count: int, start: int = 0) -> list[dict]:
    """Qualifying leads and, every third, one that does not (10 staff)."""
    return [
        lead_body(
            email=f"lead{i}@example.com",
            external_id=f"x{i}",
            company_size=10 if i % 3 == 2 else 120,
            received_at=MONDAY_10AM - timedelta(minutes=7 * i),
        )
        for i in range(start, start + count)
    ]


def snapshot() -> list[tuple]:
    leads = Lead.objects.order_by("external_id")
    rows = []
    for lead in leads.select_related("owner", "terms"):
        clocks = sorted((c.kind, c.due_at, c.at_risk_at) for c in Clock.objects.filter(lead=lead))
        rows.append(
            (
                lead.external_id,
                lead.owner.username if lead.owner else None,
                lead.score,
                lead.qualifies,
                lead.terms.agreement_version_id,
                clocks,
            )
        )
    return rows


def test_a_batch_gives_the_same_owners_scores_and_due_times_as_one_at_a_time(world):
    items = bodies(9)
    for body in items:
        lead_deliver(by=world.maria, data=body, agreement=world.a, now=MONDAY_10AM)
    one_at_a_time = snapshot()
    Lead.objects.all().delete()
    AssignmentCursor.objects.all().delete()  # round robin starts again from the first rep

    results = leads_deliver(by=world.maria, items=items, agreement=world.a, now=MONDAY_10AM)

    assert [r.status for r in results] == ["created"] * 9
    assert snapshot() == one_at_a_time


@pytest.mark.postgres  # SQLite caps the parameters of a statement: bulk inserts split there
def test_a_batch_costs_the_same_queries_for_ten_leads_as_for_a_hundred(world):
    def queries(count, start):
        with CaptureQueriesContext(connection) as captured:
            leads_deliver(
                by=world.maria, items=bodies(count, start), agreement=world.a, now=MONDAY_10AM
            )
        return len(captured)

    # The team's round-robin cursor is created once, on the first delivery (received in
    # December too: November's books are closed by 7 December).
    queries(1, 501)
    assert queries(100, 1000) == queries(10, 0)


def test_repeats_in_and_across_batches_answer_the_first_lead(world):
    [first] = leads_deliver(
        by=world.maria, items=[lead_body(external_id="crm-1")], agreement=world.a, now=MONDAY_10AM
    )
    again, inside, twice = leads_deliver(
        by=world.maria,
        items=[
            lead_body(external_id="crm-1"),
            lead_body(email="b@example.com", external_id="crm-2"),
            lead_body(email="b@example.com", external_id="crm-2"),
        ],
        agreement=world.a,
        now=MONDAY_10AM,
    )
    assert (again.status, again.lead.pk) == ("duplicate", first.lead.pk)
    assert inside.status == "created"
    assert (twice.status, twice.lead.pk) == ("duplicate", inside.lead.pk)
    assert Lead.objects.count() == 2


def test_a_refused_item_changes_nothing_of_the_others(world):
    future = MONDAY_10AM + timedelta(hours=1)
    results = leads_deliver(
        by=world.maria,
        items=[lead_body(email="ok@example.com"), lead_body(email="x", received_at=future)],
        agreement=world.a,
        now=MONDAY_10AM,
    )
    assert [r.status for r in results] == ["created", "error"]
    assert "received_at" in results[1].errors
    assert Lead.objects.count() == 1


def test_a_dry_run_checks_like_a_delivery_and_writes_nothing(world):
    results = leads_deliver(
        by=world.petra, items=bodies(3), agreement=world.a, now=MONDAY_10AM, dry_run=True
    )
    assert {r.status for r in results} == {"error"}  # petra delivers to agreement B only
    assert Lead.objects.count() == 0
    assert [
        r.status
        for r in leads_deliver(
            by=world.maria, items=bodies(3), agreement=world.a, now=MONDAY_10AM, dry_run=True
        )
    ] == ["created"] * 3
    assert Lead.objects.count() == 0


# --- POST /api/leads/batch/ -----------------------------------------------------------------


@time_machine.travel(MONDAY_10AM, tick=False)
def test_the_batch_endpoint_answers_each_lead_on_its_own(world, api_client):
    api_client.force_authenticate(world.maria)
    response = api_client.post(
        "/api/leads/batch/",
        {
            "leads": [
                {**lead_body(external_id="b-1"), "agreement": world.a.pk},
                {**lead_body(email="not-an-email"), "agreement": world.a.pk},
                {**lead_body(external_id="b-1"), "agreement": world.a.pk},
                "not a lead",
                {**lead_body(email="c@example.com"), "agreement": 999999},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "error", "duplicate", "error", "error"]
    assert results[2]["id"] == results[0]["id"]
    assert "email" in results[1]["errors"]
    assert "agreement" in results[4]["errors"]
    assert Lead.objects.count() == 1


@time_machine.travel(MONDAY_10AM, tick=False)
def test_the_batch_endpoint_refuses_more_than_a_thousand_and_other_roles(world, api_client):
    api_client.force_authenticate(world.maria)
    too_many = api_client.post("/api/leads/batch/", {"leads": [lead_body()] * 1001}, format="json")
    assert too_many.status_code == 400 and "leads" in too_many.json()
    api_client.force_authenticate(world.sam)
    assert (
        api_client.post("/api/leads/batch/", {"leads": [lead_body()]}, format="json").status_code
        == 403
    )
    assert Lead.objects.count() == 0


@time_machine.travel(MONDAY_10AM, tick=False)
def test_a_batch_idempotency_key_returns_the_first_lead(world, api_client):
    api_client.force_authenticate(world.maria)
    body = {**lead_body(), "agreement": world.a.pk, "idempotency_key": "form-42"}
    first = api_client.post("/api/leads/batch/", {"leads": [body]}, format="json").json()
    again = api_client.post("/api/leads/batch/", {"leads": [body]}, format="json").json()
    assert again["results"][0] == {**first["results"][0], "status": "duplicate"}
