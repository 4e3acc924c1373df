"""Login for the browser (session) and for API clients (token)."""

import pytest
from django.core.management import call_command

from tests.accounts.login import log_in

pytestmark = pytest.mark.django_db


def test_token_endpoint_returns_a_token_that_authenticates(make_user, api_client):
    make_user("sam", "sales", password="pw-Secret-123")
    response = api_client.post(
        "/api/auth/token/", {"username": "sam", "password": "pw-Secret-123"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/schema/").status_code == 200


def test_token_endpoint_rejects_a_wrong_password_with_400(make_user, api_client):
    make_user("sam", "sales", password="pw-Secret-123")
    response = api_client.post(
        "/api/auth/token/", {"username": "sam", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_token_endpoint_names_missing_fields(api_client):
    response = api_client.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_pages_redirect_anonymous_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_then_logout(client, make_user):
    make_user("erin", "executive", password="pw-Secret-123")
    response = client.post("/login/", {"username": "erin", "password": "pw-Secret-123"})
    assert response.status_code == 302
    assert "Executive" in client.get("/", follow=True).content.decode()
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_admin_link_is_shown_only_to_the_admin_role(client, make_user):
    make_user("ada", "admin", password="pw-Secret-123")
    make_user("sam", "sales", password="pw-Secret-123")
    assert log_in(client, "ada", "pw-Secret-123")
    assert 'href="/admin/"' in client.get("/", follow=True).content.decode()
    assert log_in(client, "sam", "pw-Secret-123")
    assert 'href="/admin/"' not in client.get("/", follow=True).content.decode()
    assert client.get("/admin/").status_code == 302


def test_api_docs_are_served_from_local_static_files(client):
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert client.get("/api/schema/").status_code == 200


def test_seed_demo_is_idempotent_and_gives_one_login_per_role(client):
    from accounts.models import Role, User

    call_command("seed_demo")
    call_command("seed_demo")
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.filter(username="maria").count() == 1
    assert log_in(client, "maria", "slaops-demo")
    from sla.models import Flag, Notification

    assert Flag.objects.exists()  # a realistic month has misses
    assert not Notification.objects.filter(state="pending").exists()  # history is not mailed


def test_api_without_credentials_answers_401(api_client):
    response = api_client.get("/api/me/")
    assert response.status_code == 401


def test_api_me_names_the_caller_role_and_teams(api_client, make_user):
    user = make_user("sam", "sales", team="East")
    api_client.force_authenticate(user)
    assert api_client.get("/api/me/").json() == {
        "username": "sam",
        "full_name": "",
        "role": "sales",
        "teams": ["East"],
    }


@pytest.mark.parametrize(
    ("role", "start"),
    [
        ("sales", "/inbox/"),
        ("sales_manager", "/inbox/"),
        ("marketing", "/commitments/"),
        ("executive", "/compliance/"),
    ],
)
def test_logging_in_lands_on_the_roles_work(client, make_user, role, start):
    make_user("pat", role, password="pw-Secret-123")
    client.post("/login/", {"username": "pat", "password": "pw-Secret-123"})
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, start)


def test_a_refused_page_is_a_styled_page_that_leads_back(client, make_user):
    make_user("sam", "sales", password="pw-Secret-123")
    assert log_in(client, "sam", "pw-Secret-123")
    response = client.get("/imports/")
    assert response.status_code == 403
    assert "Back to your work" in response.content.decode()
