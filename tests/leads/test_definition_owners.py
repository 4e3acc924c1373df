"""A definition belongs to its marketing team: its managers and the admins edit it, no one else."""

import pytest

from accounts.models import Team
from leads.models import LeadDefinition
from tests.factories import AgreementFactory, DefinitionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/definitions/"


def signed_in(api_client, role, *teams):
    user = UserFactory(role=role, password="!")
    for team in teams:
        team.members.add(user)
    api_client.force_authenticate(user)
    api_client.user = user
    return api_client


@pytest.fixture
def north():
    return TeamFactory(name="North marketing", kind=Team.Kind.MARKETING)


@pytest.fixture
def south():
    return TeamFactory(name="South marketing", kind=Team.Kind.MARKETING)


def test_a_new_definition_belongs_to_its_creators_marketing_team(api_client, north):
    client = signed_in(api_client, "marketing", north)
    body = client.post(URL, {"name": "North leads", "qualify_at": 0}, format="json").json()
    assert body["team"] == north.pk
    assert LeadDefinition.objects.get(pk=body["id"]).team == north


def test_a_manager_of_two_teams_names_the_owner_or_gets_400(api_client, north, south):
    client = signed_in(api_client, "marketing", north, south)
    response = client.post(URL, {"name": "Both", "qualify_at": 0}, format="json")
    assert response.status_code == 400
    assert "team" in response.json()
    assert not LeadDefinition.objects.filter(name="Both").exists()
    named = client.post(URL, {"name": "Both", "qualify_at": 0, "team": south.pk}, format="json")
    assert named.status_code == 201 and named.json()["team"] == south.pk


def test_a_manager_may_not_give_a_definition_to_a_team_they_are_not_in(api_client, north, south):
    client = signed_in(api_client, "marketing", north)
    response = client.post(
        URL, {"name": "Theirs", "qualify_at": 0, "team": south.pk}, format="json"
    )
    assert response.status_code == 400 and "team" in response.json()
    sales = TeamFactory(name="Sales floor", kind=Team.Kind.SALES)
    response = client.post(
        URL, {"name": "Sales'", "qualify_at": 0, "team": sales.pk}, format="json"
    )
    assert response.status_code == 400 and "marketing team" in str(response.json()["team"])
    assert not LeadDefinition.objects.filter(name__in=["Theirs", "Sales'"]).exists()


def test_another_teams_manager_may_not_edit_and_nothing_changes(api_client, north, south):
    definition = DefinitionFactory(name="North leads", team=north)
    client = signed_in(api_client, "marketing", south)
    response = client.patch(f"{URL}{definition.pk}/", {"qualify_at": 1}, format="json")
    assert response.status_code == 403
    assert "owns this definition" in response.json()["detail"]
    definition.refresh_from_db()
    assert (definition.qualify_at, definition.version) == (50, 1)
    assert client.put(f"{URL}{definition.pk}/", {"name": "Mine"}, format="json").status_code == 403


def test_the_owning_teams_manager_and_an_admin_edit(api_client, north):
    definition = DefinitionFactory(name="North leads", team=north)
    client = signed_in(api_client, "marketing", north)
    assert (
        client.patch(f"{URL}{definition.pk}/", {"qualify_at": 60}, format="json").status_code == 200
    )
    admin = signed_in(api_client, "admin")
    assert (
        admin.patch(f"{URL}{definition.pk}/", {"qualify_at": 40}, format="json").status_code == 200
    )
    definition.refresh_from_db()
    assert (definition.qualify_at, definition.version) == (40, 3)


def test_the_owner_is_not_moved_by_an_edit(api_client, north, south):
    definition = DefinitionFactory(name="North leads", team=north)
    client = signed_in(api_client, "marketing", north)
    same = client.patch(f"{URL}{definition.pk}/", {"team": north.pk}, format="json")
    assert same.status_code == 200
    moved = client.patch(f"{URL}{definition.pk}/", {"team": south.pk}, format="json")
    assert moved.status_code == 400 and "team" in moved.json()
    definition.refresh_from_db()
    assert definition.team == north


def test_without_a_team_the_agreements_marketing_teams_own_it(api_client, north, south):
    agreement = AgreementFactory(marketing_team=north)
    definition = agreement.definition
    assert definition.team is None
    outsider = signed_in(api_client, "marketing", south)
    response = outsider.patch(f"{URL}{definition.pk}/", {"qualify_at": 1}, format="json")
    assert response.status_code == 403
    insider = signed_in(api_client, "marketing", north)
    assert (
        insider.patch(f"{URL}{definition.pk}/", {"qualify_at": 55}, format="json").status_code
        == 200
    )


def test_the_page_offers_edit_only_to_those_who_may(client, north, south):
    definition = DefinitionFactory(name="North leads", team=north)
    outsider = UserFactory(role="marketing", password="!")
    south.members.add(outsider)
    client.force_login(outsider)
    page = client.get(f"/definitions/{definition.pk}/")
    assert page.status_code == 200
    assert f"/definitions/{definition.pk}/edit/" not in page.content.decode()
    assert "Owned by North marketing" in page.content.decode()
    assert client.get(f"/definitions/{definition.pk}/edit/").status_code == 403
    posted = client.post(f"/definitions/{definition.pk}/edit/", {"name": "Taken", "qualify_at": 1})
    assert posted.status_code == 403
    definition.refresh_from_db()
    assert definition.name == "North leads"
    insider = UserFactory(role="marketing", password="!")
    north.members.add(insider)
    client.force_login(insider)
    assert client.get(f"/definitions/{definition.pk}/edit/").status_code == 200
