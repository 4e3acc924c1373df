"""A month walked from open through grace to closed: once closed, no API call changes its
figures (agreement edit, commitment, backdated lead, definition edit, verdict); an admin
reopen does, and is recorded.

New York, Monday to Friday, 3 business days of grace: November 2026 ends at local midnight
of Tue 1 Dec (05:00 UTC) and its books close at midnight of Fri 4 Dec (05:00 UTC).
Runs on the embedded default and on PostgreSQL alike.
"""

from datetime import UTC, datetime

import pytest
import time_machine

from sla.models import MonthReopening
from tests.sla.lead_world import build_world, lead_body

pytestmark = pytest.mark.django_db

IN_NOVEMBER = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
IN_GRACE = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
CLOSED = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
REOPENED = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
NOVEMBER_LEAD = "2026-11-20T15:00:00Z"


@pytest.fixture
def world():
    with time_machine.travel(datetime(2026, 11, 2, 14, 0, tzinfo=UTC), tick=False):
        return build_world(monthly_quota=10, min_acceptance_percent=50)


def client_as(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def november(api_client, world, at):
    with time_machine.travel(at, tick=False):
        answer = client_as(api_client, world.erin).get(
            f"/api/compliance/?agreement={world.a.pk}&month=2026-11"
        )
    assert answer.status_code == 200
    body = answer.json()
    return body["period"], body["marketing"]


def deliver(api_client, world, email, at):
    body = {**lead_body(email=email), "agreement": world.a.pk, "received_at": NOVEMBER_LEAD}
    with time_machine.travel(at, tick=False):
        return client_as(api_client, world.maria).post("/api/leads/", body, format="json")


def test_a_closed_months_figures_change_only_by_an_admin_reopen(api_client, world):
    leads = [deliver(api_client, world, f"n{i}@example.com", IN_NOVEMBER).json() for i in range(4)]
    with time_machine.travel(IN_NOVEMBER, tick=False):
        commitments = f"/api/agreements/{world.a.pk}/commitments/2026-11/"
        assert client_as(api_client, world.maria).put(commitments, {"quota": 4}).status_code == 200
        owner = world.users[leads[0]["owner"]]
        first = client_as(api_client, owner).post(f"/api/leads/{leads[0]['id']}/acknowledge/")
        assert first.status_code == 200
        # Rejected early enough that its dispute window ends before the books close.
        owner = world.users[leads[1]["owner"]]
        rejected = client_as(api_client, owner).post(
            f"/api/leads/{leads[1]['id']}/reject/", {"reason": "not_icp"}, format="json"
        )
        assert rejected.status_code == 200
    period, open_figures = november(api_client, world, IN_NOVEMBER)
    assert period == "open"

    # In grace, late work still counts: a late lead and a verdict.
    assert deliver(api_client, world, "late@example.com", IN_GRACE).status_code == 201
    with time_machine.travel(IN_GRACE, tick=False):
        owner = world.users[leads[3]["owner"]]
        accepted = client_as(api_client, owner).post(f"/api/leads/{leads[3]['id']}/acknowledge/")
        assert accepted.status_code == 200
    period, final = november(api_client, world, IN_GRACE)
    assert period == "grace"
    assert (final["delivered"], final["delivered_qualified"]) == (5, 5)
    assert (final["committed"], final["accepted"], final["rejected"]) == (4, 2, 1)
    assert final["status"] == "met"

    # Closed: every way in is refused or leaves November as it was.
    with time_machine.travel(CLOSED, tick=False):
        admin = client_as(api_client, world.ada)
        edit = admin.patch(
            f"/api/agreements/{world.a.pk}/",
            {"marketing": {"monthly_quota": 50, "min_acceptance_percent": 100}},
            format="json",
        )
        assert edit.status_code == 200
        definition = admin.patch(
            f"/api/definitions/{world.a.definition_id}/",
            {"disqualifiers": [{"field": "country", "op": "eq", "value": "US", "label": "US"}]},
            format="json",
        )
        assert definition.status_code == 200, definition.json()
        refused_commitment = client_as(api_client, world.maria).put(commitments, {"quota": 0})
        assert (refused_commitment.status_code, refused_commitment.json()["rule"]) == (
            409,
            "month_closed",
        )
        for action, body in (("acknowledge", {}), ("reject", {"reason": "not_icp"})):
            owner = world.users[leads[2]["owner"]]
            verdict = client_as(api_client, owner).post(
                f"/api/leads/{leads[2]['id']}/{action}/", body, format="json"
            )
            assert (verdict.status_code, verdict.json()["rule"]) == (409, "month_closed")
    backdated = deliver(api_client, world, "backdated@example.com", CLOSED)
    assert (backdated.status_code, backdated.json()["rule"]) == (409, "month_closed")

    period, after = november(api_client, world, CLOSED)
    assert period == "closed"
    assert after == final

    # An admin reopens it, with a reason: late work counts again, and it is recorded.
    with time_machine.travel(REOPENED, tick=False):
        client = client_as(api_client, world.ada)
        reopened = client.post(
            f"/api/agreements/{world.a.pk}/months/2026-11/reopen/",
            {"reason": "CRM sync of 30 Nov arrived late"},
            format="json",
        )
        assert reopened.status_code == 201
        owner = world.users[leads[2]["owner"]]
        verdict = client_as(api_client, owner).post(f"/api/leads/{leads[2]['id']}/acknowledge/")
        assert verdict.status_code == 200
    assert deliver(api_client, world, "synced@example.com", REOPENED).status_code == 201
    period, reopened_figures = november(api_client, world, REOPENED)
    assert period == "open"
    assert (reopened_figures["delivered"], reopened_figures["accepted"]) == (6, 3)
    # Scored under the definition as it is now: the edit applies to new leads only.
    assert reopened_figures["delivered_qualified"] == 5
    # The terms November is measured under are still those it closed with.
    assert reopened_figures["committed"] == 4
    [record] = MonthReopening.objects.filter(agreement=world.a, month="2026-11")
    assert (record.by, record.reason) == (world.ada, "CRM sync of 30 Nov arrived late")


def test_the_reopen_page_is_for_admins_and_records_the_reason(client, world):
    url = f"/agreements/{world.a.pk}/months/2026-11/reopen/"
    with time_machine.travel(CLOSED, tick=False):
        client.force_login(world.maria)
        assert client.get(url).status_code == 403
        client.force_login(world.ada)
        page = client.get(url)
        assert page.status_code == 200
        assert b"closed" in page.content and b"Why reopen 2026-11?" in page.content
        blank = client.post(url, {"reason": "  "})
        assert blank.status_code == 400 and b"Say why the month is reopened." in blank.content
        assert not MonthReopening.objects.exists()
        done = client.post(url, {"reason": "late sync"})
        assert done.status_code == 302
        assert MonthReopening.objects.get().reason == "late sync"
        again = client.post(url, {"reason": "twice"})
        assert again.status_code == 409  # open again: nothing to reopen
        assert MonthReopening.objects.count() == 1


def test_the_commitments_page_marks_closed_and_grace_months(client, world):
    client.force_login(world.ada)
    with time_machine.travel(IN_GRACE, tick=False):
        page = client.get("/commitments/").content.decode()
        assert "in grace" in page
    with time_machine.travel(CLOSED, tick=False):
        page = client.get("/commitments/").content.decode()
        assert ">closed</span>" in page
        assert f"/agreements/{world.a.pk}/months/2026-11/reopen/" in page
    client.force_login(world.maria)
    with time_machine.travel(CLOSED, tick=False):
        page = client.get("/commitments/").content.decode()
        assert ">closed</span>" in page and "/months/2026-11/reopen/" not in page
