"""The Content-Security-Policy header: sent on pages, API answers and error pages, with
DEBUG off as in production, and strict for scripts (the browser proof that the pages
keep it is tests/browser/test_csp.py)."""

import pytest

from accounts.models import Role

pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return settings


def test_the_login_page_carries_the_policy_with_debug_off(client, production):
    response = client.get("/login/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


def test_no_directive_allows_inline_script_or_eval(client, production):
    header = client.get("/login/")["Content-Security-Policy"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header


def test_error_pages_and_the_api_carry_it_too(client, production, make_user):
    assert "Content-Security-Policy" in client.get("/no-such-page/")
    assert "Content-Security-Policy" in client.get("/api/me/")  # a 401
    client.force_login(make_user("ada", Role.ADMIN))
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and "Content-Security-Policy" in docs
    assert "<script>" not in docs.content.decode()  # its settings come from ?script


def test_the_api_docs_settings_script_is_a_file_of_its_own(client, make_user):
    client.force_login(make_user("ada", Role.ADMIN))
    html = client.get("/api/docs/").content.decode()
    assert 'src="/api/docs/?script=' in html
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
