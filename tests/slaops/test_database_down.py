"""While the database is unreachable every page and API call answers a clean 503.

The connection is made to fail the way a stopped server fails: Django's OperationalError
when a cursor is asked for. JSON for the API, a short page for the browser, and a
Retry-After; /healthz names the database.
"""

import pytest
from django.db import OperationalError, connection
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    return UserFactory(username="rita", role="sales")


@pytest.fixture
def database_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1:5432 refused")

    def down():
        monkeypatch.setattr(connection, "ensure_connection", refuse)
        monkeypatch.setattr(connection, "cursor", refuse)

    return down


def test_a_page_answers_a_clean_503(client, rep, database_down):
    client.raise_request_exception = False  # answer as the server would, not re-raise
    client.force_login(rep)
    database_down()
    response = client.get("/inbox/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"cannot reach its database" in response.content
    assert b"Traceback" not in response.content


def test_the_api_answers_json_503(client, rep, database_down):
    client.raise_request_exception = False
    token = Token.objects.create(user=rep)
    database_down()
    response = client.get("/api/leads/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "slaops cannot reach its database just now. Nothing you sent was saved; "
        "try again in a minute."
    }


def test_healthz_names_the_database(client, database_down):
    database_down()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")


def test_any_other_error_is_still_a_plain_500(client, rep, monkeypatch):
    import slaops.views

    client.raise_request_exception = False
    client.force_login(rep)

    monkeypatch.setattr(slaops.views, "ROLE_HOME", None)  # home() now fails on .get
    response = client.get("/")
    assert response.status_code == 500
    assert b"Server error" in response.content
