"""Nobody in by guessing: lockout by username and by address, on the login form and the token
endpoint alike, counted in the database (every web worker sees it); tokens that expire, end
with a password change, and can be revoked.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


@pytest.fixture
def sam(make_user):
    return make_user("sam", "sales", password=PASSWORD)


def form_login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def token_login(api_client, username, password, **extra):
    return api_client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", **extra
    )


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, sam):
    for _ in range(4):
        assert form_login(client, "sam", "wrong").status_code == 200  # the form again
    assert form_login(client, "sam", "wrong").status_code == 429  # the fifth locks
    locked = form_login(client, "sam", PASSWORD)
    assert locked.status_code == 429
    assert "Logging in is paused" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_account_stays_locked_from_another_address(client, sam):
    for _ in range(5):
        form_login(client, "sam", "wrong", REMOTE_ADDR="10.0.0.1")
    assert form_login(client, "sam", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 429


def test_an_address_guessing_many_accounts_is_locked(client, make_user):
    for name in ("ann", "bob", "cy", "dee", "eve", "fay"):
        make_user(name, "sales", password=PASSWORD)
    for name in ("ann", "bob", "cy", "dee", "eve"):
        form_login(client, name, "wrong", REMOTE_ADDR="10.0.0.9")
    assert form_login(client, "fay", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 429
    assert form_login(client, "fay", PASSWORD, REMOTE_ADDR="10.0.0.10").status_code == 302


def test_a_forged_forwarded_for_header_is_not_a_new_client(client, make_user):
    for name in ("ann", "bob", "cy", "dee", "eve", "fay"):
        make_user(name, "sales", password=PASSWORD)
    for i, name in enumerate(("ann", "bob", "cy", "dee", "eve")):
        form_login(client, name, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    forged = form_login(client, "fay", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert forged.status_code == 429


def test_the_token_endpoint_counts_with_the_form_and_locks_with_429(api_client, client, sam):
    for _ in range(3):
        form_login(client, "sam", "wrong")
    assert token_login(api_client, "sam", "wrong").status_code == 400
    assert token_login(api_client, "sam", "wrong").status_code == 429  # the fifth
    locked = token_login(api_client, "sam", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.json()["detail"]
    assert not Token.objects.filter(user=sam).exists()


def test_the_lockout_ends_after_its_cool_off(client, sam):
    for _ in range(5):
        form_login(client, "sam", "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert form_login(client, "sam", PASSWORD).status_code == 302


def test_a_right_password_resets_the_count(client, sam):
    for _ in range(4):
        form_login(client, "sam", "wrong")
    assert form_login(client, "sam", PASSWORD).status_code == 302
    client.post("/logout/")
    for _ in range(4):
        form_login(client, "sam", "wrong")
    assert form_login(client, "sam", PASSWORD).status_code == 302


# --- tokens ------------------------------------------------------------------------------


def test_a_token_expires_and_the_endpoint_then_issues_a_new_one(api_client, sam, settings):
    first = token_login(api_client, "sam", PASSWORD).json()["token"]
    assert token_login(api_client, "sam", PASSWORD).json()["token"] == first  # still good
    later = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS, minutes=1)
    with time_machine.travel(later):
        expired = api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {first}")
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
        leads = api_client.get("/api/leads/", HTTP_AUTHORIZATION=f"Token {first}")
        assert leads.status_code == 401  # the leads endpoints' one-query check too
        second = token_login(api_client, "sam", PASSWORD).json()["token"]
        assert second != first
        assert api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_a_new_password_ends_the_old_tokens(api_client, sam):
    key = token_login(api_client, "sam", PASSWORD).json()["token"]
    sam.set_password("another-Secret-456")
    sam.save()
    assert api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    sam.first_name = "Sam"
    sam.save()  # other edits keep a token
    fresh = token_login(api_client, "sam", "another-Secret-456").json()["token"]
    sam.save()
    assert api_client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {fresh}").status_code == 200


def test_revoking_ends_ones_own_tokens(api_client, sam):
    key = token_login(api_client, "sam", PASSWORD).json()["token"]
    headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
    assert api_client.post("/api/auth/token/revoke/", **headers).status_code == 204
    assert api_client.get("/api/me/", **headers).status_code == 401
    assert api_client.post("/api/auth/token/revoke/").status_code == 401
