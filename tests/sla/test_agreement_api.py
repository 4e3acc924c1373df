"""`/api/agreements/`: nested terms, versions on every edit, and monthly commitments."""

import pytest
import time_machine

from sla.models import Agreement, MonthlyCommitment
from tests.sla.lead_world import build_world, iso, utc

pytestmark = pytest.mark.django_db

NOW = utc(2026, 12, 2, 15, 0)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def admin(api_client, world):
    api_client.force_authenticate(user=world.ada)
    return api_client


def body(world, **overrides) -> dict:
    data = {
        "name": "Inbound 2027",
        "marketing_team": world.a.marketing_team_id,
        "sales_team": world.a.sales_team_id,
        "calendar": world.calendar.pk,
        "definition": world.a.definition_id,
        "effective_from": "2027-01-01",
        "effective_to": None,
        "sales": {
            "first_touch_minutes": 120,
            "at_risk_percent": 50,
            "next_touch_minutes": 960,
            "attempts_before_abandon": 5,
        },
        "marketing": {
            "monthly_quota": 250,
            "min_acceptance_percent": 70,
            "pacing_tolerance_percent": 15,
        },
    }
    data.update(overrides)
    return data


def post(client, data):
    with time_machine.travel(NOW, tick=False):
        return client.post("/api/agreements/", data, format="json")


def test_creating_an_agreement_answers_its_terms_and_first_version(admin, world):
    response = post(admin, body(world))
    created = response.json()
    assert response.status_code == 201
    # No tiers and the model's callback limits, unless the body gives them.
    defaults = {"tiers": [], "max_callback_business_days": 10, "max_callbacks": 3}
    assert created["sales"] == {**body(world)["sales"], **defaults}
    assert created["marketing"] == {
        **body(world)["marketing"],
        "close_grace_business_days": 3,
        "duplicate_window_days": 30,
        "dispute_window_business_days": 5,
    }
    assert created["version"] == 1
    assert created["versions"] == [{"version": 1, "created_at": iso(NOW), "created_by": "ada"}]
    stored = Agreement.objects.get(pk=created["id"])
    assert (stored.first_touch_minutes, stored.monthly_quota) == (120, 250)


def test_terms_left_out_take_the_defaults(admin, world):
    data = body(world)
    del data["sales"], data["marketing"]
    created = post(admin, data).json()
    assert created["sales"]["first_touch_minutes"] == 240
    assert created["marketing"]["monthly_quota"] == 200


@pytest.mark.parametrize("field", ["marketing_team", "sales_team", "calendar", "definition"])
def test_an_unknown_related_id_is_400_naming_the_field(admin, world, field):
    response = post(admin, body(world, **{field: 999999}))
    assert response.status_code == 400
    assert field in response.json()
    assert not Agreement.objects.filter(name="Inbound 2027").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"marketing_team": "SALES"}, "marketing_team"),
        ({"effective_to": "2026-01-01"}, "effective_to"),
        ({"name": "A"}, "name"),
        ({"sales": {"at_risk_percent": 101}}, "sales"),
        ({"marketing": {"monthly_quota": -1}}, "marketing"),
        ({"effective_from": "soon"}, "effective_from"),
    ],
)
def test_bad_terms_are_400_naming_the_field(admin, world, overrides, field):
    if overrides.get("marketing_team") == "SALES":
        overrides = {"marketing_team": world.a.sales_team_id}
    response = post(admin, body(world, **overrides))
    assert response.status_code == 400
    assert field in response.json()


def test_editing_creates_a_new_version_and_keeps_the_old(admin, world):
    with time_machine.travel(NOW, tick=False):
        response = admin.patch(
            f"/api/agreements/{world.a.pk}/",
            {"sales": {"first_touch_minutes": 60}},
            format="json",
        )
        versions = admin.get(f"/api/agreements/{world.a.pk}/versions/").json()["results"]
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.json()["sales"]["first_touch_minutes"] == 60
    assert response.json()["sales"]["next_touch_minutes"] == 1440  # untouched
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["terms"]["first_touch_minutes"] == 60
    assert versions[1]["terms"]["first_touch_minutes"] == 240


def test_an_edit_that_changes_nothing_adds_no_version(admin, world):
    response = admin.patch(f"/api/agreements/{world.a.pk}/", {"name": "A"}, format="json")
    assert response.json()["version"] == 1


def test_a_refused_edit_changes_nothing(admin, world):
    response = admin.patch(
        f"/api/agreements/{world.a.pk}/", {"effective_to": "2025-01-01"}, format="json"
    )
    assert response.status_code == 400
    world.a.refresh_from_db()
    assert (world.a.effective_to, world.a.version) == (None, 1)


def test_put_and_delete_are_not_offered_on_an_agreement(admin, world):
    assert (
        admin.put(f"/api/agreements/{world.a.pk}/", body(world), format="json").status_code == 405
    )
    assert admin.delete(f"/api/agreements/{world.a.pk}/").status_code == 405


# --- commitments -------------------------------------------------------------------------


def log(client, agreement, month, data):
    with time_machine.travel(NOW, tick=False):
        return client.put(
            f"/api/agreements/{agreement.pk}/commitments/{month}/", data, format="json"
        )


def test_marketing_logs_the_months_commitment(api_client, world):
    api_client.force_authenticate(user=world.maria)
    response = log(api_client, world.a, "2026-12", {"quota": 220, "note": "Webinar month"})
    assert response.status_code == 200
    assert response.json() == {
        "month": "2026-12",
        "quota": 220,
        "note": "Webinar month",
        "logged_by": "maria",
        "logged_at": iso(NOW),
        "status": response.json()["status"],
    }


def test_a_commitment_without_a_quota_takes_the_agreements(api_client, world):
    api_client.force_authenticate(user=world.maria)
    assert log(api_client, world.a, "2026-12", {}).json()["quota"] == 200


def test_logging_a_month_again_replaces_the_commitment(api_client, world):
    api_client.force_authenticate(user=world.maria)
    log(api_client, world.a, "2026-12", {"quota": 220})
    log(api_client, world.a, "2026-12", {"quota": 180})
    assert MonthlyCommitment.objects.get(agreement=world.a, month="2026-12").quota == 180


@pytest.mark.parametrize(
    ("month", "data", "field"),
    [
        ("2026-13", {}, "month"),
        ("december", {}, "month"),
        ("2026-12", {"quota": -5}, "quota"),
        ("2026-12", {"quota": "lots"}, "quota"),
    ],
)
def test_a_bad_commitment_is_400_naming_the_field(api_client, world, month, data, field):
    api_client.force_authenticate(user=world.maria)
    response = log(api_client, world.a, month, data)
    assert response.status_code == 400
    assert field in response.json()
    assert not MonthlyCommitment.objects.exists()


def test_the_commitments_are_listed_newest_month_first(api_client, world):
    api_client.force_authenticate(user=world.maria)
    log(api_client, world.a, "2026-11", {"quota": 190})
    log(api_client, world.a, "2026-12", {"quota": 220})
    api_client.force_authenticate(user=world.sam)
    listed = api_client.get(f"/api/agreements/{world.a.pk}/commitments/").json()["results"]
    assert [(c["month"], c["quota"]) for c in listed] == [("2026-12", 220), ("2026-11", 190)]


def test_a_commitment_shows_marketings_status_once_its_month_has_begun(api_client, world):
    api_client.force_authenticate(user=world.maria)
    log(api_client, world.a, "2026-12", {"quota": 220})
    log(api_client, world.a, "2027-01", {"quota": 220})
    with time_machine.travel(NOW, tick=False):
        listed = api_client.get(f"/api/agreements/{world.a.pk}/commitments/").json()["results"]
    # Nothing delivered a day and more into December: behind pace. January has not begun.
    assert [(c["month"], c["status"]) for c in listed] == [
        ("2027-01", "logged"),
        ("2026-12", "at_risk"),
    ]
