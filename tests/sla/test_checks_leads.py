"""premature_abandon: a lead abandoned (by a manager's override) before the agreed attempts."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role
from sla.checks import premature_abandon
from sla.models import Flag
from tests.factories import AgreementFactory, LeadFactory, TouchFactory, UserFactory

pytestmark = pytest.mark.django_db

ABANDONED = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # Wed 11:00 EST


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def abandoned_lead(touches: int, *, at=ABANDONED, attempts: int = 6):
    agreement = AgreementFactory(attempts_before_abandon=attempts)
    manager = UserFactory(username="morgan", role=Role.SALES_MANAGER)
    lead = LeadFactory(
        agreement=agreement,
        owner=UserFactory(role=Role.SALES),
        abandoned_at=at,
        abandoned_by=manager,
        abandon_reason="gone quiet",
        closed_at=at,
    )
    for _ in range(touches):
        TouchFactory(lead=lead)
    return lead


def test_abandon_before_the_agreed_attempts_is_flagged_dated_when_it_happened():
    lead = abandoned_lead(2)

    [flag] = premature_abandon(at=ABANDONED + timedelta(minutes=1))

    assert flag.kind == Flag.Kind.PREMATURE_ABANDON
    assert (flag.lead, flag.owner, flag.raised_at) == (lead, lead.owner, ABANDONED)
    assert flag.month == "2026-12"
    assert flag.detail == (
        "abandoned Wed 2 Dec 11:00 EST by morgan after 2 of 6 required touches (reason: gone quiet)"
    )


def test_abandon_after_the_agreed_attempts_is_not_flagged():
    abandoned_lead(6)
    assert premature_abandon(at=ABANDONED + timedelta(minutes=1)) == []


def test_abandon_is_not_judged_before_it_happened():
    abandoned_lead(0)
    assert premature_abandon(at=ABANDONED - timedelta(microseconds=1)) == []


def test_a_premature_abandon_is_flagged_once():
    abandoned_lead(1)
    premature_abandon(at=ABANDONED)
    assert premature_abandon(at=ABANDONED + timedelta(days=1)) == []
    assert Flag.objects.count() == 1


def test_a_premature_abandon_notifies_the_owner_and_the_sales_managers():
    lead = abandoned_lead(1)
    manager = UserFactory(username="morgan")
    lead.team.members.add(manager)

    [flag] = premature_abandon(at=ABANDONED)

    recipients = set(flag.notifications.values_list("recipient__username", flat=True))
    assert recipients == {lead.owner.username, "morgan"}
