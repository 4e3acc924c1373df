"""GET /api/flags/ scoped by role, its filters, and POST /api/flags/<id>/resolve/."""

from datetime import UTC, datetime

import pytest

from accounts.models import Role, Team
from sla.models import Flag
from tests.factories import AgreementFactory, FlagFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    """Two agreements, each between its own marketing and sales team, with flags."""
    people = {}
    flags = {}
    for side in ("a", "b"):
        marketer = UserFactory(username=f"maria_{side}", role=Role.MARKETING)
        reps = [UserFactory(username=f"rep{n}_{side}", role=Role.SALES) for n in (1, 2)]
        manager = UserFactory(username=f"morgan_{side}", role=Role.SALES_MANAGER)
        agreement = AgreementFactory(
            marketing_team=TeamFactory(kind=Team.Kind.MARKETING, members=[marketer]),
            sales_team=TeamFactory(kind=Team.Kind.SALES, members=[*reps, manager]),
        )
        for n, rep in enumerate(reps, start=1):
            lead = LeadFactory(agreement=agreement, owner=rep)
            flags[f"breach{n}_{side}"] = FlagFactory(agreement=agreement, lead=lead)
        flags[f"quota_{side}"] = FlagFactory(
            agreement=agreement,
            lead=None,
            kind=Flag.Kind.QUOTA_SHORTFALL,
            raised_at=datetime(2027, 1, 1, 5, 0, tzinfo=UTC),
            month="2026-12",
        )
        people.update({u.username: u for u in (marketer, *reps, manager)})
    people["erin"] = UserFactory(username="erin", role=Role.EXECUTIVE)
    people["ada"] = UserFactory(username="ada", role=Role.ADMIN)
    return people, flags


def listed(api_client, user, query=""):
    api_client.force_authenticate(user)
    response = api_client.get(f"/api/flags/{query}")
    assert response.status_code == 200, response.content
    return response.json()


def names_of(body, flags):
    ids = {flag.id: name for name, flag in flags.items()}
    return {ids[row["id"]] for row in body["results"]}


@pytest.mark.parametrize(
    ("username", "sees"),
    [
        ("rep1_a", {"breach1_a"}),
        ("morgan_a", {"breach1_a", "breach2_a"}),
        ("maria_a", {"breach1_a", "breach2_a", "quota_a"}),
        ("erin", {"breach1_a", "breach2_a", "quota_a", "breach1_b", "breach2_b", "quota_b"}),
        ("ada", {"breach1_a", "breach2_a", "quota_a", "breach1_b", "breach2_b", "quota_b"}),
    ],
)
def test_each_role_sees_only_the_flags_it_answers_for(api_client, world, username, sees):
    people, flags = world
    assert names_of(listed(api_client, people[username]), flags) == sees


def test_a_flag_reads_as_the_contract_says(api_client, world):
    people, flags = world
    [row] = listed(api_client, people["rep1_a"])["results"]
    flag = flags["breach1_a"]
    assert row == {
        "id": flag.id,
        "kind": "first_touch_breached",
        "raised_at": "2026-12-01T19:00:00Z",
        "due_at": "2026-12-01T19:00:00Z",
        "lead": flag.lead_id,
        "agreement": flag.agreement_id,
        "month": "2026-12",
        "owner": "rep1_a",
        "state": "open",
        "detail": flag.detail,
        "team": flag.team_id,
        "clock": None,
        "noticed_at": "2026-12-01T19:00:00Z",
        "resolved_at": None,
        "resolved_by": None,
        "resolution_note": "",
        "superseded_by": None,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?kind=quota_shortfall", {"quota_a", "quota_b"}),
        ("?state=open&owner=rep2_b", {"breach2_b"}),
        ("?month=2026-11", set()),
        ("?month=2026-12&kind=first_touch_breached&owner=rep1_a", {"breach1_a"}),
    ],
)
def test_the_list_filters(api_client, world, query, expected):
    people, flags = world
    assert names_of(listed(api_client, people["erin"], query), flags) == expected


def test_filtering_by_team(api_client, world):
    people, flags = world
    team = flags["breach1_b"].team_id
    assert names_of(listed(api_client, people["erin"], f"?team={team}"), flags) == {
        "breach1_b",
        "breach2_b",
    }


def test_owner_me_lists_the_callers_own_flags(api_client, world):
    people, flags = world
    assert names_of(listed(api_client, people["morgan_a"], "?owner=me"), flags) == set()
    assert names_of(listed(api_client, people["rep2_a"], "?owner=me"), flags) == {"breach2_a"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?kind=late", "kind"),
        ("?state=closed", "state"),
        ("?month=2026-13", "month"),
        ("?month=Dec", "month"),
        ("?team=999999", "team"),
        ("?team=abc", "team"),
        ("?agreement=abc", "agreement"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(api_client, world, query, field):
    people, _ = world
    api_client.force_authenticate(people["erin"])
    response = api_client.get(f"/api/flags/{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_anonymous_callers_get_401(api_client):
    assert api_client.get("/api/flags/").status_code == 401


def resolve(api_client, user, flag, note="Called the lead, all good."):
    api_client.force_authenticate(user)
    return api_client.post(f"/api/flags/{flag.id}/resolve/", {"note": note}, format="json")


def test_a_sales_manager_resolves_a_flag_of_the_team_with_a_note(api_client, world):
    people, flags = world

    response = resolve(api_client, people["morgan_a"], flags["breach2_a"])

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["resolved_by"]) == ("resolved", "morgan_a")
    assert body["resolution_note"] == "Called the lead, all good."
    assert body["resolved_at"] is not None


def test_an_admin_resolves_any_flag(api_client, world):
    people, flags = world
    assert resolve(api_client, people["ada"], flags["quota_b"]).status_code == 200


@pytest.mark.parametrize("username", ["rep1_a", "erin"])
def test_reps_and_executives_may_not_resolve(api_client, world, username):
    people, flags = world
    assert resolve(api_client, people[username], flags["breach1_a"]).status_code == 403
    assert Flag.objects.get(pk=flags["breach1_a"].pk).state == "open"


def test_a_flag_the_caller_cannot_see_answers_404(api_client, world):
    people, flags = world
    assert resolve(api_client, people["morgan_a"], flags["breach1_b"]).status_code == 404
    assert resolve(api_client, people["maria_a"], flags["quota_b"]).status_code == 404


def test_marketing_resolves_the_quota_flags_of_its_own_agreements(api_client, world):
    people, flags = world
    assert resolve(api_client, people["maria_a"], flags["quota_a"]).status_code == 200


def test_marketing_may_not_resolve_a_sales_breach(api_client, world):
    people, flags = world
    assert resolve(api_client, people["maria_a"], flags["breach1_a"]).status_code == 403


@pytest.mark.parametrize("note", ["", "   "])
def test_resolving_without_a_note_answers_400_naming_note(api_client, world, note):
    people, flags = world
    response = resolve(api_client, people["morgan_a"], flags["breach1_a"], note=note)
    assert response.status_code == 400
    assert "note" in response.json()
    assert Flag.objects.get(pk=flags["breach1_a"].pk).state == "open"


def test_resolving_without_a_body_answers_400_naming_note(api_client, world):
    people, flags = world
    api_client.force_authenticate(people["morgan_a"])
    response = api_client.post(f"/api/flags/{flags['breach1_a'].id}/resolve/")
    assert response.status_code == 400
    assert "note" in response.json()


def test_resolving_a_resolved_flag_answers_409_and_keeps_the_first_note(api_client, world):
    people, flags = world
    resolve(api_client, people["morgan_a"], flags["breach1_a"], note="first")

    response = resolve(api_client, people["ada"], flags["breach1_a"], note="second")

    assert response.status_code == 409
    assert "already resolved" in response.json()["detail"]
    assert Flag.objects.get(pk=flags["breach1_a"].pk).resolution_note == "first"
