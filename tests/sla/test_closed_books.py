"""Figures nobody can rewrite: a month closes after its grace, then its leads, commitment and
terms are final until an admin reopens it with a reason.

New York, Monday to Friday, 3 business days of grace. November 2026 ends at local
midnight of Tue 1 Dec (05:00 UTC); its grace counts Tue 1, Wed 2 and Thu 3 Dec, so its
books close at midnight of Fri 4 Dec (05:00 UTC).
"""

import io
from datetime import UTC, datetime

import pytest
import time_machine

from accounts.models import Role
from leads.models import Lead
from sla.books import CLOSED, GRACE, OPEN, closes_at, month_period
from sla.checks import quota_shortfall
from sla.models import Flag, MonthReopening
from tests.sla.lead_world import build_world, lead_body

pytestmark = pytest.mark.django_db

CLOSES = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
IN_GRACE = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
NOVEMBER_LEAD = "2026-11-20T15:00:00Z"


@pytest.fixture
def world():
    return build_world()


def as_(api_client, world, name):
    api_client.force_authenticate(world.users[name])
    return api_client


def deliver(api_client, world, received_at, email="late@example.com"):
    body = {**lead_body(email=email), "agreement": world.a.pk, "received_at": received_at}
    return as_(api_client, world, "maria").post("/api/leads/", body, format="json")


def shortfalls(world, at):
    return [f for f in quota_shortfall(at=at) if f.agreement_id == world.a.pk]


def test_a_month_is_open_then_in_grace_then_closed(world):
    agreement = world.a
    assert closes_at(agreement, 2026, 11) == CLOSES
    assert month_period(agreement, 2026, 11, datetime(2026, 11, 30, 15, tzinfo=UTC)) == OPEN
    assert month_period(agreement, 2026, 11, IN_GRACE) == GRACE
    assert month_period(agreement, 2026, 11, CLOSES) == CLOSED


def test_a_lead_received_in_a_closed_month_is_refused_with_409(api_client, world):
    with time_machine.travel(IN_GRACE, tick=False):
        assert deliver(api_client, world, NOVEMBER_LEAD).status_code == 201
    with time_machine.travel(AFTER, tick=False):
        refused = deliver(api_client, world, NOVEMBER_LEAD, email="later@example.com")
        assert refused.status_code == 409
        assert refused.json()["rule"] == "month_closed"
        assert "2026-11" in refused.json()["detail"]
        assert not Lead.objects.filter(email="later@example.com").exists()
        # The running month takes leads as ever.
        assert (
            deliver(api_client, world, "2026-12-07T14:00:00Z", "now@example.com").status_code == 201
        )


def test_a_batch_answers_a_closed_month_per_item(api_client, world):
    with time_machine.travel(AFTER, tick=False):
        client = as_(api_client, world, "maria")
        body = {
            "leads": [
                {
                    **lead_body(email="a@example.com"),
                    "agreement": world.a.pk,
                    "received_at": NOVEMBER_LEAD,
                },
                {**lead_body(email="b@example.com"), "agreement": world.a.pk},
            ]
        }
        results = client.post("/api/leads/batch/", body, format="json").json()["results"]
    assert [r["status"] for r in results] == ["error", "created"]
    assert "month_closed" in str(results[0]["errors"]["received_at"])


def test_a_closed_months_commitment_is_final(api_client, world):
    url = f"/api/agreements/{world.a.pk}/commitments/2026-11/"
    client = as_(api_client, world, "maria")
    with time_machine.travel(IN_GRACE, tick=False):
        assert client.put(url, {"quota": 30}, format="json").status_code == 200
    with time_machine.travel(AFTER, tick=False):
        refused = client.put(url, {"quota": 0}, format="json")
        assert refused.status_code == 409 and refused.json()["rule"] == "month_closed"
    assert world.a.commitments.get(month="2026-11").quota == 30


def test_raising_the_default_quota_changes_only_months_not_closed(api_client, world):
    with time_machine.travel(IN_GRACE, tick=False):
        for i in range(3):
            assert deliver(api_client, world, NOVEMBER_LEAD, f"n{i}@example.com").status_code == 201
    admin = as_(api_client, world, "ada")
    with time_machine.travel(datetime(2026, 11, 2, 15, tzinfo=UTC), tick=False):
        admin.patch(
            f"/api/agreements/{world.a.pk}/", {"marketing": {"monthly_quota": 3}}, format="json"
        )
    with time_machine.travel(AFTER, tick=False):
        assert (
            admin.patch(
                f"/api/agreements/{world.a.pk}/",
                {"marketing": {"monthly_quota": 50}},
                format="json",
            ).status_code
            == 200
        )
        url = f"/api/compliance/?agreement={world.a.pk}&month="
        november = admin.get(url + "2026-11").json()
        december = admin.get(url + "2026-12").json()
    assert november["period"] == "closed"
    assert november["marketing"]["committed"] == 3  # the quota in effect when it closed
    assert november["marketing"]["status"] == "met"
    assert december["period"] == "open"
    assert december["marketing"]["committed"] == 50


def test_an_admin_reopens_a_closed_month_with_a_reason(api_client, world):
    url = f"/api/agreements/{world.a.pk}/months/2026-11/reopen/"
    with time_machine.travel(AFTER, tick=False):
        assert (
            as_(api_client, world, "maria").post(url, {"reason": "x"}, format="json").status_code
            == 403
        )
        admin = as_(api_client, world, "ada")
        assert admin.post(url, {"reason": " "}, format="json").status_code == 400
        not_closed = admin.post(
            f"/api/agreements/{world.a.pk}/months/2026-12/reopen/", {"reason": "x"}, format="json"
        )
        assert not_closed.status_code == 409 and not_closed.json()["rule"] == "month_not_closed"
        assert not MonthReopening.objects.exists()

        reopened = admin.post(url, {"reason": "CRM sync was down"}, format="json")
        assert reopened.status_code == 201
        assert reopened.json()["reason"] == "CRM sync was down"
        assert reopened.json()["by"] == "ada"
        assert deliver(api_client, world, NOVEMBER_LEAD).status_code == 201
        compliance = admin.get(f"/api/compliance/?agreement={world.a.pk}&month=2026-11").json()
        assert compliance["period"] == "open"


def test_a_reopened_month_closes_again_and_is_judged_again(api_client, world):
    world.a.monthly_quota = 2
    world.a.save()
    with time_machine.travel(AFTER, tick=False):
        [flag] = shortfalls(world, AFTER)
        assert flag.month == "2026-11"
        admin = as_(api_client, world, "ada")
        admin.post(
            f"/api/agreements/{world.a.pk}/months/2026-11/reopen/",
            {"reason": "late CRM sync"},
            format="json",
        )
        flag.refresh_from_db()
        assert flag.state == Flag.State.RESOLVED and "reopened" in flag.resolution_note
        assert deliver(api_client, world, NOVEMBER_LEAD).status_code == 201
    reopening = MonthReopening.objects.get()
    assert shortfalls(world, reopening.closes_at.replace(hour=0)) == []  # still reopened
    # Closed again with one of two: the flag of the first close is raised again.
    [again] = shortfalls(world, reopening.closes_at)
    assert again.pk == flag.pk
    flag.refresh_from_db()
    assert flag.state == Flag.State.OPEN
    assert flag.raised_at == reopening.closes_at
    assert "1 qualified" in flag.detail
    assert shortfalls(world, reopening.closes_at) == []


def test_a_reopened_month_that_now_meets_its_quota_stays_resolved(api_client, world):
    world.a.monthly_quota = 1
    world.a.save()
    with time_machine.travel(AFTER, tick=False):
        [flag] = shortfalls(world, AFTER)
        as_(api_client, world, "ada").post(
            f"/api/agreements/{world.a.pk}/months/2026-11/reopen/",
            {"reason": "late CRM sync"},
            format="json",
        )
        assert deliver(api_client, world, NOVEMBER_LEAD).status_code == 201
    reopening = MonthReopening.objects.get()
    assert shortfalls(world, reopening.closes_at) == []
    flag.refresh_from_db()
    assert flag.state == Flag.State.RESOLVED


def test_roles_other_than_admin_may_not_reopen(api_client, world):
    with time_machine.travel(AFTER, tick=False):
        for name in ("sam", "morgan", "maria"):
            response = as_(api_client, world, name).post(
                f"/api/agreements/{world.a.pk}/months/2026-11/reopen/",
                {"reason": "x"},
                format="json",
            )
            assert response.status_code in (403, 404)
    assert not MonthReopening.objects.exists()
    assert world.users["ada"].role == Role.ADMIN


def test_the_lead_form_names_a_closed_month_beside_the_received_box(client, world):
    client.force_login(world.users["maria"])
    with time_machine.travel(AFTER, tick=False):
        response = client.post(
            "/leads/new/",
            {
                "email": "form@example.com",
                "company_size": "120",
                "agreement": world.a.pk,
                "received_at": "2026-11-20T10:00",
            },
        )
    assert response.status_code in (200, 400)
    assert "its figures are final" in response.content.decode()
    assert not Lead.objects.filter(email="form@example.com").exists()


def test_a_csv_row_received_in_a_closed_month_is_refused_on_its_row(api_client, world):
    body = (
        "email,company_size,received_at\n"
        "dec@example.com,120,2026-12-03T15:00:00Z\n"
        f"nov@example.com,120,{NOVEMBER_LEAD}\n"
    ).encode()
    upload = io.BytesIO(body)
    upload.name = "leads.csv"
    with time_machine.travel(AFTER, tick=False):
        response = as_(api_client, world, "maria").post(
            f"/api/leads/import/?agreement={world.a.pk}&partial=1",
            {"file": upload},
            format="multipart",
        )
    assert response.status_code == 200, response.content[:300]
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (3, "received_at")
    assert "month_closed" in error["message"]
    assert list(Lead.objects.values_list("email", flat=True)) == ["dec@example.com"]


def test_the_commitments_page_refuses_a_closed_month_in_words(client, world):
    client.force_login(world.users["maria"])
    with time_machine.travel(AFTER, tick=False):
        response = client.post(
            f"/commitments/{world.a.pk}/2026-11/", {"quota": "0", "note": ""}, follow=True
        )
    assert response.status_code == 409
    assert "its commitment is final" in response.content.decode()
    assert not world.a.commitments.filter(month="2026-11").exists()
