"""The daily digest: once a day per person, at the start of their working day, only when
something needs their action."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role
from sla.checks import first_touch_breached
from sla.models import Notification
from sla.notify import digest_queue
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 10:00 EST, due 14:00 EST
MORNING = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)  # Wed 09:30 EST


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team():
    rep = UserFactory(username="sam", role=Role.SALES)
    manager = UserFactory(username="morgan", role=Role.SALES_MANAGER)
    idle = UserFactory(username="raj", role=Role.SALES)
    return TeamFactory(members=[rep, manager, idle], calendar=CalendarFactory())


def breached_lead(team):
    lead = LeadFactory(
        agreement=AgreementFactory(sales_team=team),
        owner=team.members.get(username="sam"),
        received_at=RECEIVED,
    )
    ClockFactory(lead=lead)
    first_touch_breached(at=RECEIVED + timedelta(hours=4))
    Notification.objects.all().delete()  # the breach's own messages are not the digest
    return lead


def digests():
    return {n.recipient.username: n for n in Notification.objects.filter(key__startswith="digest:")}


def test_a_rep_gets_a_digest_of_open_flags_and_late_leads_when_the_day_begins(team):
    lead = breached_lead(team)

    digest_queue(at=MORNING)

    sam = digests()["sam"]
    assert sam.key == f"digest:{sam.recipient_id}:2026-12-02"
    assert sam.not_before == MORNING
    assert "First touch breached: first touch due Tue 1 Dec 14:00 EST" in sam.body
    assert f"- lead #{lead.id}: first touch due Tue 1 Dec 14:00 EST (breached)" in sam.body


def test_a_sales_manager_gets_the_open_breaches_of_the_team(team):
    breached_lead(team)
    digest_queue(at=MORNING)
    assert "First touch breached" in digests()["morgan"].body


def test_nobody_gets_a_digest_with_nothing_to_act_on(team):
    digest_queue(at=MORNING)
    assert digests() == {}


def test_the_digest_is_queued_once_a_day(team):
    breached_lead(team)
    digest_queue(at=MORNING)

    assert digest_queue(at=MORNING + timedelta(minutes=15)) == 0
    assert digest_queue(at=MORNING + timedelta(days=1)) == 2
    assert Notification.objects.filter(recipient__username="sam").count() == 2


def test_no_digest_before_the_working_day_begins(team):
    breached_lead(team)
    assert digest_queue(at=datetime(2026, 12, 2, 13, 59, tzinfo=UTC)) == 0  # 08:59 EST
