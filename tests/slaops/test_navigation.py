"""The navigation and the views follow one rule: a role is shown a page exactly when the
page opens for it; logging in lands on the role's work; 403 and 404 are real pages."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from slaops.context_processors import NAVIGATION

pytestmark = pytest.mark.django_db

TRANSPARENCY = {"agreement-list", "definition-list", "stage-list", "calendar-list"}
LANDING = {
    Role.SALES: "/inbox/",
    Role.SALES_MANAGER: "/inbox/",
    Role.MARKETING: "/commitments/",
    Role.EXECUTIVE: "/compliance/",
    Role.ADMIN: "/compliance/",
}


@pytest.fixture
def person(client, make_user):
    def sign_in(role: str):
        team = {"marketing": "Demand Gen", "sales": "East", "sales_manager": "East"}.get(role)
        user = make_user(f"who-{role}", role, team=team)
        client.force_login(user)
        return user

    return sign_in


def shown(client) -> set[str]:
    html = client.get(reverse("person-settings")).content.decode()
    return set(re.findall(r'data-nav="([^"]+)"', html))


@pytest.mark.parametrize("role", Role.values)
def test_a_link_is_in_the_nav_exactly_when_its_page_opens(client, person, role):
    person(role)
    in_nav = shown(client)
    opens = {name for _, name, _ in NAVIGATION if client.get(reverse(name)).status_code == 200}
    assert in_nav == opens, (
        f"{role}: shown but refused {in_nav - opens}, open but hidden {opens - in_nav}"
    )


@pytest.mark.parametrize("role", Role.values)
def test_every_role_has_the_transparency_pages_in_its_nav(client, person, role):
    person(role)
    assert shown(client) >= TRANSPARENCY


def test_reps_see_leads_and_commitments_and_executives_commitments(client, person):
    person(Role.SALES)
    assert {"lead-list", "commitment-list", "lead-inbox"} <= shown(client)
    client.logout()
    person(Role.EXECUTIVE)
    assert {"commitment-list", "lead-list"} <= shown(client)
    assert "lead-inbox" not in shown(client)


@pytest.mark.parametrize(("role", "landing"), LANDING.items())
def test_logging_in_lands_on_the_roles_work(client, make_user, role, landing):
    make_user(f"who-{role}", role, password="pw-Secret-123")
    response = client.post(
        "/login/", {"username": f"who-{role}", "password": "pw-Secret-123"}, follow=True
    )
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


def test_an_explicit_next_wins_over_the_roles_work(client, make_user):
    make_user("sam", Role.SALES, password="pw-Secret-123")
    response = client.post(
        "/login/?next=/funnel/",
        {"username": "sam", "password": "pw-Secret-123", "next": "/funnel/"},
    )
    assert response["Location"] == "/funnel/"


def test_home_sends_a_signed_out_visitor_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]


def test_the_403_page_is_a_page_of_the_app_with_the_way_home(client, person, production):
    person(Role.EXECUTIVE)
    response = client.get("/inbox/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "<nav" in html and 'id="main"' in html  # extends base.html
    assert "This is not yours to do" in html
    assert 'href="/">Back to your work</a>' in html
    assert "Executive" in html


def test_the_404_page_is_a_page_of_the_app_with_the_way_home(client, person, production):
    person(Role.SALES)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<nav" in html and "There is nothing here" in html
    assert "/no-such-page/" in html
    assert 'href="/">Back to your work</a>' in html


def test_the_404_page_signed_out_offers_to_log_in(client, production):
    html = client.get("/no-such-page/").content.decode()
    assert "There is nothing here" in html and 'href="/login/">Log in</a>' in html


def test_the_seed_prints_one_table_of_every_demo_login(monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    from demo.management.commands import seed_demo
    from demo.seed import DEMO_LOGINS, DEMO_PASSWORD

    # The data itself is tested in tests/accounts/test_auth.py; here only what is printed.
    monkeypatch.setattr(seed_demo, "demo_seed", lambda now: DEMO_LOGINS)
    out = StringIO()
    call_command("seed_demo", stdout=out)
    lines = out.getvalue().splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split() == ["user", "role", "team", "password"]
    )
    body = lines[header + 2 :]
    assert len(body) == len(DEMO_LOGINS)
    for login, line in zip(DEMO_LOGINS, body, strict=True):
        assert line.startswith(login.username + " ")
        assert Role(login.role).label in line and line.endswith(DEMO_PASSWORD)
        assert (login.team or "—") in line
