"""/api/teams/: the admin configures teams; everyone signed in reads them."""

import pytest

from accounts.models import Team
from tests.factories import AgreementFactory, CalendarFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/teams/"


@pytest.fixture
def admin_client(api_client, make_user):
    api_client.force_authenticate(make_user("ada", "admin"))
    return api_client


def test_admin_creates_a_sales_team_with_calendar_and_members(admin_client):
    calendar = CalendarFactory(name="NY")
    UserFactory(username="sam")
    UserFactory(username="sofia")
    body = {"name": "East", "kind": "sales", "calendar": calendar.pk, "members": ["sam", "sofia"]}
    response = admin_client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    team = Team.objects.get(name="East")
    assert (team.kind, team.calendar, sorted(team.members.values_list("username", flat=True))) == (
        "sales",
        calendar,
        ["sam", "sofia"],
    )
    assert response.json()["members"] == ["sam", "sofia"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "kind": "support"}, "kind"),
        ({"name": "X", "kind": "sales", "calendar": 999999}, "calendar"),
        ({"name": "X", "kind": "sales", "members": ["nobody"]}, "members"),
        ({"kind": "sales"}, "name"),
        ({"name": "X", "kind": "sales", "chat_webhook_url": "not a url"}, "chat_webhook_url"),
    ],
    ids=["kind", "calendar", "members", "name", "webhook"],
)
def test_bad_team_is_refused_naming_the_field(admin_client, body, field):
    response = admin_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Team.objects.filter(name="X").exists()


@pytest.mark.parametrize("role", ["marketing", "sales", "sales_manager", "executive"])
def test_only_the_admin_role_changes_teams(api_client, make_user, role):
    api_client.force_authenticate(make_user("someone", role))
    assert api_client.get(URL).status_code == 200
    assert api_client.post(URL, {"name": "X", "kind": "sales"}, format="json").status_code == 403


def test_anonymous_gets_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_a_team_used_by_an_agreement_cannot_be_deleted_or_change_kind(admin_client):
    agreement = AgreementFactory()
    team = agreement.sales_team
    assert admin_client.delete(f"{URL}{team.pk}/").status_code == 409
    response = admin_client.patch(f"{URL}{team.pk}/", {"kind": "marketing"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()
    assert Team.objects.get(pk=team.pk).kind == "sales"


@pytest.mark.parametrize("role", ["sales", "sales_manager", "marketing", "executive", "admin"])
def test_the_chat_webhook_url_is_a_secret_written_and_never_read_back(api_client, make_user, role):
    team = Team.objects.create(
        name="Closers", kind="sales", chat_webhook_url="https://hooks.example.com/T/B/secret"
    )
    api_client.force_authenticate(make_user(f"who-{role}", role))
    body = api_client.get(f"/api/teams/{team.pk}/").json()
    assert "chat_webhook_url" not in body
    assert body["has_chat_webhook"] is True
    assert "secret" not in api_client.get("/api/teams/").content.decode()


def test_an_admin_sets_the_chat_webhook_without_it_being_echoed(api_client, make_user):
    api_client.force_authenticate(make_user("ada", "admin"))
    created = api_client.post(
        "/api/teams/",
        {"name": "Hooked", "kind": "sales", "chat_webhook_url": "https://hooks.example.com/x"},
        format="json",
    )
    assert created.status_code == 201
    assert "chat_webhook_url" not in created.json() and created.json()["has_chat_webhook"]
    assert Team.objects.get(name="Hooked").chat_webhook_url == "https://hooks.example.com/x"
