"""Absences and caps: the rules (accounts.absences) and /api/absences/, /api/teams/ members.

World (tests.sla.lead_world): Inside Sales has reps sam and sofia and manager morgan;
Enterprise has rep olga and manager otto.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.absences import absence_create, capacity_set
from accounts.models import Absence
from tests.sla.lead_world import build_world, iso, utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 12, 2, 15, 0)
URL = "/api/absences/"


@pytest.fixture
def world():
    return build_world()


def away(world, who="sam", start=(2026, 12, 7), end=(2026, 12, 11), by="morgan", reason=""):
    return absence_create(
        user=world.users[who],
        starts_at=utc(*start),
        ends_at=utc(*end),
        reason=reason,
        by=world.users[by] if by else None,
        at=NOW,
    )


def client_as(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def body(user="sam", starts="2026-12-07T09:00:00-05:00", ends="2026-12-11T17:00:00-05:00"):
    return {"user": user, "starts_at": starts, "ends_at": ends, "reason": "Holiday"}


# --- the rules ---------------------------------------------------------------------------------


def test_an_absence_is_recorded_with_who_recorded_it_and_when(world):
    absence = away(world, reason=" Holiday ")
    assert (absence.user, absence.reason, absence.created_by, absence.created_at) == (
        world.sam,
        "Holiday",
        world.morgan,
        NOW,
    )
    assert absence.history.count() == 1


def test_an_absence_must_end_after_it_starts(world):
    with pytest.raises(ValidationError) as refused:
        away(world, start=(2026, 12, 7), end=(2026, 12, 7))
    assert "ends_at" in refused.value.message_dict
    assert not Absence.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ((2026, 12, 6), (2026, 12, 8)),  # runs into it
        ((2026, 12, 10), (2026, 12, 14)),  # starts inside it
        ((2026, 12, 8), (2026, 12, 9)),  # inside it
        ((2026, 12, 1), (2026, 12, 31)),  # around it
    ],
    ids=["before", "after", "inside", "around"],
)
def test_absences_of_one_person_may_not_overlap(world, start, end):
    away(world)
    with pytest.raises(ValidationError) as refused:
        away(world, start=start, end=end)
    assert "overlaps" in refused.value.message_dict["starts_at"][0]
    assert Absence.objects.count() == 1


def test_an_absence_may_start_the_instant_the_last_one_ends(world):
    away(world, start=(2026, 12, 7), end=(2026, 12, 11))
    away(world, start=(2026, 12, 11), end=(2026, 12, 12))
    assert Absence.objects.count() == 2


def test_two_people_may_be_away_at_the_same_time(world):
    away(world, who="sam")
    away(world, who="sofia")
    assert Absence.objects.count() == 2


@pytest.mark.parametrize("who", ["maria", "erin"])
def test_only_sales_people_have_absences(world, who):
    with pytest.raises(ValidationError) as refused:
        away(world, who=who, by="ada")
    assert "user" in refused.value.message_dict


def test_a_cap_below_zero_is_refused_and_nothing_written(world):
    with pytest.raises(ValidationError) as refused:
        capacity_set(member=world.sam, max_open_leads=-1, by=world.morgan)
    assert "max_open_leads" in refused.value.message_dict
    world.sam.refresh_from_db()
    assert world.sam.max_open_leads is None


# --- the API -------------------------------------------------------------------------------


def test_a_manager_records_an_absence_of_their_rep(world, api_client):
    with time_machine.travel(NOW, tick=False):
        response = client_as(api_client, world.morgan).post(URL, body(), format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert (answer["user"], answer["reason"], answer["created_by"]) == ("sam", "Holiday", "morgan")
    assert answer["starts_at"] == iso(utc(2026, 12, 7, 14, 0))
    assert Absence.objects.get().ends_at == utc(2026, 12, 11, 22, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2026-12-07T09:00:00-05:00"}, "ends_at"),
        ({"starts_at": "2026-12-10T09:00:00-05:00"}, "starts_at"),  # overlaps the first
        ({"starts_at": "next week"}, "starts_at"),
        ({"user": "nobody"}, "user"),
        ({"user": "maria"}, "user"),
        ({"reason": "x" * 201}, "reason"),
    ],
    ids=["order", "overlap", "not-an-instant", "unknown", "not-sales", "long-reason"],
)
def test_bad_absences_answer_400_naming_the_field_and_write_nothing(
    world, api_client, change, field
):
    api = client_as(api_client, world.ada)
    assert api.post(URL, body(), format="json").status_code == 201
    response = api.post(URL, {**body(), **change}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Absence.objects.count() == 1


def test_a_manager_may_not_record_an_absence_outside_their_teams(world, api_client):
    response = client_as(api_client, world.morgan).post(URL, body(user="olga"), format="json")
    assert response.status_code == 403
    assert not Absence.objects.exists()


@pytest.mark.parametrize("who", ["sam", "maria", "erin"])
def test_only_sales_managers_and_admins_record_absences(world, api_client, who):
    response = client_as(api_client, world.users[who]).post(URL, body(), format="json")
    assert response.status_code == 403
    assert not Absence.objects.exists()


def test_an_admin_records_anyones_absence(world, api_client):
    response = client_as(api_client, world.ada).post(URL, body(user="olga"), format="json")
    assert response.status_code == 201


def test_a_rep_reads_only_their_own_absences(world, api_client):
    away(world, who="sam")
    away(world, who="sofia")
    answer = client_as(api_client, world.sam).get(URL).json()
    assert [row["user"] for row in answer["results"]] == ["sam"]


def test_a_manager_reads_their_teams_absences_only(world, api_client):
    away(world, who="sam")
    away(world, who="olga", by="otto")
    answer = client_as(api_client, world.morgan).get(URL).json()
    assert [row["user"] for row in answer["results"]] == ["sam"]


def test_the_list_filters_by_person_team_and_instant(world, api_client):
    away(world, who="sam", start=(2026, 12, 1), end=(2026, 12, 3))
    away(world, who="sofia", start=(2026, 12, 7), end=(2026, 12, 9))
    away(world, who="olga", start=(2026, 12, 1), end=(2026, 12, 9), by="otto")
    api = client_as(api_client, world.ada)

    def users(query):
        response = api.get(URL + query)
        assert response.status_code == 200, response.json()
        return sorted(row["user"] for row in response.json()["results"])

    assert users("?user=sofia") == ["sofia"]
    team = world.a.sales_team.pk
    assert users(f"?team={team}") == ["sam", "sofia"]
    assert users("?at=2026-12-02T12:00:00Z") == ["olga", "sam"]
    with time_machine.travel(utc(2026, 12, 8), tick=False):
        assert users("?current=1") == ["olga", "sofia"]
        assert users("?upcoming=1") == ["olga", "sofia"]
    assert api.get(URL + "?at=tomorrow").status_code == 400
    assert api.get(URL + "?current=maybe").status_code == 400
    assert users("?current=0") == ["olga", "sam", "sofia"]


def test_a_manager_deletes_an_absence_and_a_rep_may_not(world, api_client):
    absence = away(world)
    assert client_as(api_client, world.sam).delete(f"{URL}{absence.pk}/").status_code == 403
    assert client_as(api_client, world.otto).delete(f"{URL}{absence.pk}/").status_code == 404
    assert client_as(api_client, world.morgan).delete(f"{URL}{absence.pk}/").status_code == 204
    assert not Absence.objects.exists()


# --- caps on /api/teams/ -----------------------------------------------------------------------


def member_url(world, username, team=None):
    return f"/api/teams/{(team or world.a.sales_team).pk}/members/{username}/"


def test_the_team_shows_each_members_cap(world, api_client):
    capacity_set(member=world.sam, max_open_leads=3, by=None)
    answer = client_as(api_client, world.erin).get(f"/api/teams/{world.a.sales_team.pk}/").json()
    assert answer["members"] == ["morgan", "sam", "sofia"]  # unchanged
    caps = {row["username"]: row["max_open_leads"] for row in answer["member_details"]}
    assert caps == {"morgan": None, "sam": 3, "sofia": None}


def test_a_manager_sets_and_clears_a_reps_cap(world, api_client):
    api = client_as(api_client, world.morgan)
    response = api.patch(member_url(world, "sam"), {"max_open_leads": 5}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"username": "sam", "role": "sales", "max_open_leads": 5}
    assert (
        api.patch(member_url(world, "sam"), {"max_open_leads": None}, format="json").json()[
            "max_open_leads"
        ]
        is None
    )
    world.sam.refresh_from_db()
    assert world.sam.max_open_leads is None


@pytest.mark.parametrize("value", [-1, 2.5, "many", True])
def test_a_bad_cap_answers_400_naming_max_open_leads(world, api_client, value):
    api = client_as(api_client, world.morgan)
    response = api.patch(member_url(world, "sam"), {"max_open_leads": value}, format="json")
    assert response.status_code == 400
    assert "max_open_leads" in response.json()
    world.sam.refresh_from_db()
    assert world.sam.max_open_leads is None


def test_who_may_set_a_cap(world, api_client):
    cap = {"max_open_leads": 2}
    assert (
        client_as(api_client, world.sam)
        .patch(member_url(world, "sam"), cap, format="json")
        .status_code
        == 403
    )
    # otto manages Enterprise, not Inside Sales
    assert (
        client_as(api_client, world.otto)
        .patch(member_url(world, "sam"), cap, format="json")
        .status_code
        == 403
    )
    assert (
        client_as(api_client, world.ada)
        .patch(member_url(world, "nobody"), cap, format="json")
        .status_code
        == 404
    )
    assert (
        client_as(api_client, world.ada)
        .patch(member_url(world, "sam"), cap, format="json")
        .status_code
        == 200
    )


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_overlapping_absences_record_exactly_one():
    world = build_world()
    start = threading.Barrier(6)

    def worker(n):
        try:
            start.wait()
            away(world, start=(2026, 12, 7, n), end=(2026, 12, 11, n))
            return "created"
        except ValidationError:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(worker, range(6)))
    assert outcomes == ["created"] + ["refused"] * 5
    assert Absence.objects.count() == 1
