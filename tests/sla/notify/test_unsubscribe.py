"""One-click unsubscribe from the daily digest (RFC 8058): the signed link in every
digest turns the person's digest off, and a forged or changed link changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.test import Client

from accounts.forms import PersonSettingsForm
from accounts.models import NotificationPreference, Role
from sla.checks import first_touch_breached
from sla.models import Notification
from sla.notify import digest_queue
from sla.notify.digest import DIGEST_KIND, digest_is_off, unsubscribe_token
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
MORNING = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)  # Wed 09:30 EST


@pytest.fixture
def sam():
    rep = UserFactory(username="sam", role=Role.SALES)
    team = TeamFactory(members=[rep], calendar=CalendarFactory())
    lead = LeadFactory(agreement=AgreementFactory(sales_team=team), owner=rep, received_at=RECEIVED)
    ClockFactory(lead=lead)
    first_touch_breached(at=RECEIVED + timedelta(hours=4))
    Notification.objects.all().delete()
    return rep


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # as a mail client posts: no cookie, no token


def url_for(user) -> str:
    return f"/digest/unsubscribe/{unsubscribe_token(user.id)}/"


def test_the_link_shows_a_confirm_page_and_changes_nothing(client, sam):
    response = client.get(url_for(sam))

    assert response.status_code == 200
    assert b'data-testid="unsubscribe-confirm"' in response.content
    assert b"sam" in response.content
    assert response["Referrer-Policy"] == "no-referrer"
    assert not digest_is_off(user_id=sam.id)


def test_a_one_click_post_turns_the_digest_off(client, sam):
    response = client.post(url_for(sam), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert b'data-testid="unsubscribe-done"' in response.content
    assert digest_is_off(user_id=sam.id)
    assert digest_queue(at=MORNING) == 0  # the next morning brings no digest


def test_a_digest_queued_but_not_sent_is_skipped(client, sam):
    digest_queue(at=MORNING)

    client.post(url_for(sam))

    [row] = Notification.objects.filter(key__startswith="digest:")
    assert row.state == Notification.State.SKIPPED


def test_unsubscribing_again_says_so_and_changes_nothing(client, sam):
    client.post(url_for(sam))

    again = client.post(url_for(sam))
    page = client.get(url_for(sam))

    assert b'data-testid="unsubscribe-already"' in again.content
    assert b'data-testid="unsubscribe-already"' in page.content
    assert NotificationPreference.objects.filter(user=sam, kind=DIGEST_KIND).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_refused_and_changes_nothing(client, sam, method):
    token = unsubscribe_token(sam.id)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = getattr(client, method)(f"/digest/unsubscribe/{tampered}/")

    assert response.status_code == 400
    assert b'data-testid="unsubscribe-invalid"' in response.content
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        signing.dumps({"user": 1}, salt="another.purpose"),  # signed, but for something else
        signing.dumps({"user": "1"}, salt="slaops.digest.unsubscribe"),
        signing.dumps([1], salt="slaops.digest.unsubscribe"),
        "not-a-token",
    ],
)
def test_a_link_signed_for_something_else_is_refused(client, sam, token):
    assert client.post(f"/digest/unsubscribe/{token}/").status_code == 400
    assert not NotificationPreference.objects.exists()


def test_a_link_to_someone_else_cannot_be_made_from_ones_own(client, sam):
    other = UserFactory(username="raj", role=Role.SALES)
    mine = unsubscribe_token(sam.id)
    forged = mine.replace(
        signing.b64_encode(f'{{"user":{sam.id}}}'.encode()).decode(),
        signing.b64_encode(f'{{"user":{other.id}}}'.encode()).decode(),
    )

    assert client.post(f"/digest/unsubscribe/{forged}/").status_code == 400
    assert not digest_is_off(user_id=other.id)


def test_a_deactivated_persons_link_is_refused(client, sam):
    sam.is_active = False
    sam.save()
    assert client.post(url_for(sam)).status_code == 400


def test_other_methods_are_not_allowed(client, sam):
    assert client.put(url_for(sam)).status_code == 405


def test_e_mails_at_once_still_come_after_unsubscribing_from_the_digest(client, sam):
    client.post(url_for(sam))
    lead = LeadFactory(
        agreement=AgreementFactory(sales_team=sam.teams.get()), owner=sam, received_at=MORNING
    )
    ClockFactory(lead=lead)

    first_touch_breached(at=MORNING + timedelta(hours=5))

    assert Notification.objects.filter(recipient=sam, channel="email").exists()


def test_saving_the_settings_page_keeps_the_digest_off(client, sam):
    client.post(url_for(sam))
    data = {"time_zone": ""}
    form = PersonSettingsForm(user=sam)
    for row in form.rows():
        data[f"email_{row['kind']}"] = "at_once"
        data[f"chat_{row['kind']}"] = "on"
    form = PersonSettingsForm(data, user=sam)
    assert form.is_valid(), form.errors

    form.save()

    assert digest_is_off(user_id=sam.id)
