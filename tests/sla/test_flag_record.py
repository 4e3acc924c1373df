"""A full record of flags: the at-risk warning resolves when its breach is raised (linked to
it), a breach already resolved when it is noticed is recorded but not announced, and a
warning the checks missed while they were down is raised all the same, dated at its
at-risk time and resolved already.

Runs on whichever database the suite uses: the set-based statements on PostgreSQL, the
portable path on SQLite; both must say the same.

The calendar is Mon–Fri 09:00–17:00 in New York. Tue 1 Dec 2026 10:00 EST (15:00 UTC) a
lead arrives: first touch due 14:00 EST (19:00 UTC), at risk from 13:00 EST (18:00 UTC).
"""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role
from sla.checks import run_all_checks
from sla.clocks import clock_stop
from sla.flags import SUPERSEDED_NOTE
from sla.models import Clock, Flag, Notification
from tests.factories import AgreementFactory, ClockFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
AT_RISK = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def a_clock(**fields) -> Clock:
    owner = UserFactory(role=Role.SALES, email="rep@example.com")
    team = TeamFactory(kind="sales", members=[owner])
    agreement = AgreementFactory(sales_team=team, close_grace_business_days=3000)
    lead = LeadFactory(agreement=agreement, owner=owner, team=team, received_at=RECEIVED)
    return ClockFactory(lead=lead, **fields)


def flags_of(clock: Clock) -> dict[str, Flag]:
    return {flag.kind: flag for flag in Flag.objects.filter(clock=clock)}


def test_the_at_risk_warning_resolves_when_its_breach_is_raised():
    clock = a_clock()
    run_all_checks(at=AT_RISK + timedelta(minutes=1))
    warning = flags_of(clock)["first_touch_at_risk"]
    assert warning.state == Flag.State.OPEN

    run_all_checks(at=DUE + timedelta(minutes=1))

    flags = flags_of(clock)
    breach, warning = flags["first_touch_breached"], flags["first_touch_at_risk"]
    assert breach.state == Flag.State.OPEN
    assert warning.state == Flag.State.RESOLVED
    assert warning.superseded_by_id == breach.id
    assert warning.resolved_at == DUE  # when the breach broke, not when a check noticed
    assert warning.resolution_note == SUPERSEDED_NOTE


def test_a_warning_resolved_by_hand_before_the_due_time_is_not_superseded():
    clock = a_clock()
    run_all_checks(at=AT_RISK + timedelta(minutes=1))
    Flag.objects.filter(clock=clock).update(
        state=Flag.State.RESOLVED, resolved_at=AT_RISK + timedelta(minutes=5)
    )
    run_all_checks(at=DUE + timedelta(minutes=1))
    warning = flags_of(clock)["first_touch_at_risk"]
    assert warning.superseded_by_id is None
    assert warning.resolved_at == AT_RISK + timedelta(minutes=5)


def test_a_breach_already_resolved_when_it_is_noticed_is_recorded_not_announced():
    clock = a_clock()  # the checks are down all afternoon
    touched = DUE + timedelta(minutes=30)
    clock_stop(clock=clock, at=touched, reason="touch")

    flags = flags_of(clock)
    breach = flags["first_touch_breached"]
    assert (breach.state, breach.raised_at, breach.resolved_at) == (
        Flag.State.RESOLVED,
        DUE,
        touched,
    )
    assert not Notification.objects.filter(flag=breach).exists()
    # The checks coming back later announce nothing either.
    run_all_checks(at=touched + timedelta(hours=1))
    assert not Notification.objects.exists()


def test_a_warning_missed_while_the_checks_were_down_is_raised_resolved_at_its_time():
    clock = a_clock()  # no check runs between the at-risk time and the touch
    touched = AT_RISK + timedelta(minutes=20)  # in time, but past the at-risk time
    clock_stop(clock=clock, at=touched, reason="touch")

    flags = flags_of(clock)
    assert set(flags) == {"first_touch_at_risk"}
    warning = flags["first_touch_at_risk"]
    assert warning.raised_at == AT_RISK
    assert (warning.state, warning.resolved_at) == (Flag.State.RESOLVED, touched)
    assert "before the due time" in warning.resolution_note
    assert not Notification.objects.exists()
    # Once: the checks coming back raise no second warning.
    run_all_checks(at=DUE + timedelta(hours=1))
    assert Flag.objects.filter(clock=clock).count() == 1


def test_a_late_touch_after_an_outage_raises_the_warning_superseded_by_its_breach():
    clock = a_clock()
    touched = DUE + timedelta(minutes=10)
    clock_stop(clock=clock, at=touched, reason="touch")

    flags = flags_of(clock)
    breach, warning = flags["first_touch_breached"], flags["first_touch_at_risk"]
    assert warning.raised_at == AT_RISK and breach.raised_at == DUE
    assert warning.state == breach.state == Flag.State.RESOLVED
    assert warning.superseded_by_id == breach.id
    assert warning.resolved_at == DUE
    assert not Notification.objects.exists()


def test_a_clock_stopped_unseen_past_its_at_risk_time_is_caught_up_by_the_checks():
    # Stopped without flags_settle_for_clock (a raw update): the checks' backstop.
    clock = a_clock()
    touched = AT_RISK + timedelta(minutes=5)
    Clock.objects.filter(pk=clock.pk).update(
        state=Clock.State.STOPPED, stopped_at=touched, stop_reason="touch"
    )
    counts = run_all_checks(at=DUE + timedelta(hours=1))
    assert counts["first_touch_at_risk"] == 1
    warning = flags_of(clock)["first_touch_at_risk"]
    assert (warning.raised_at, warning.state, warning.resolved_at) == (
        AT_RISK,
        Flag.State.RESOLVED,
        touched,
    )
    assert not Notification.objects.exists()
    assert run_all_checks(at=DUE + timedelta(hours=2))["first_touch_at_risk"] == 0


def test_a_clock_touched_before_its_at_risk_time_raises_nothing():
    clock = a_clock()
    clock_stop(clock=clock, at=AT_RISK - timedelta(minutes=1), reason="touch")
    run_all_checks(at=DUE + timedelta(hours=1))
    assert not Flag.objects.filter(clock=clock).exists()
