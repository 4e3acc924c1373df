"""The checks and the lead services together: deliver, miss the due time, touch late."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role
from sla.actions import lead_deliver, lead_touch
from sla.checks import first_touch_at_risk, first_touch_breached
from sla.models import Flag
from tests.factories import AgreementFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 10:00 EST: due 14:00 EST
DUE = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def delivered():
    rep = UserFactory(username="sam", role=Role.SALES)
    agreement = AgreementFactory(sales_team=TeamFactory(members=[rep]))
    data = {"email": "lee@example.com", "company_size": 500, "received_at": RECEIVED}
    lead, _ = lead_deliver(by=None, data=data, agreement=agreement, now=RECEIVED)
    return lead


def test_a_late_touch_resolves_the_breach_the_check_raised(delivered):
    [flag] = first_touch_breached(at=DUE + timedelta(minutes=1))
    touched = DUE + timedelta(minutes=30)

    lead_touch(lead=delivered, by=delivered.owner, kind="call", outcome="no_answer", now=touched)

    flag.refresh_from_db()
    assert (flag.state, flag.resolved_at) == (Flag.State.RESOLVED, touched)
    assert flag.resolution_note == "touched late at Tue 1 Dec 14:30 EST (30 business minutes late)"


def test_a_late_touch_no_check_saw_is_flagged_once_and_resolved(delivered):
    touched = DUE + timedelta(minutes=30)

    lead_touch(lead=delivered, by=delivered.owner, kind="call", outcome="no_answer", now=touched)
    first_touch_breached(at=DUE + timedelta(hours=1))

    [flag] = Flag.objects.filter(kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    assert (flag.raised_at, flag.state, flag.resolved_at) == (DUE, Flag.State.RESOLVED, touched)


def test_a_touch_in_time_leaves_nothing_to_flag(delivered):
    lead_touch(lead=delivered, by=delivered.owner, kind="call", outcome="no_answer", now=DUE)
    assert first_touch_breached(at=DUE + timedelta(hours=1)) == []


def test_an_in_time_touch_settles_the_open_at_risk_warning_at_once(delivered):
    # 75 % of the 4-hour window: at risk from 13:00 EST.
    [warning] = first_touch_at_risk(at=DUE - timedelta(minutes=30))
    touched = DUE - timedelta(minutes=10)

    lead_touch(lead=delivered, by=delivered.owner, kind="call", outcome="no_answer", now=touched)

    # No check has run since the touch: the stop itself settled the warning.
    warning.refresh_from_db()
    assert (warning.state, warning.resolved_at) == (Flag.State.RESOLVED, touched)
    assert "before the due time" in warning.resolution_note
