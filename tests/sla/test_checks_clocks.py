"""The clock checks: at-risk warnings and breaches, each flagged once, dated when it happened.

The calendar is Mon–Fri 09:00–17:00 in New York. Tue 1 Dec 2026 10:00 EST (15:00 UTC) a
lead arrives: its first touch is due 240 business minutes later, 14:00 EST (19:00 UTC),
and it is at risk from 75% of that, 13:00 EST (18:00 UTC).
"""

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from calendars.models import BusinessCalendar
from sla.checks import (
    first_touch_at_risk,
    first_touch_breached,
    next_touch_breached,
    run_all_checks,
)
from sla.flags import flags_settle_for_clock
from sla.models import Clock, Flag
from tests.factories import AgreementFactory, ClockFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
AT_RISK = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
JUST = timedelta(microseconds=1)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def clock_for(agreement=None, *, owner=None, **fields) -> Clock:
    agreement = agreement or AgreementFactory()
    owner = owner or UserFactory(role=Role.SALES)
    lead = LeadFactory(
        agreement=agreement, owner=owner, received_at=fields.pop("received", RECEIVED)
    )
    return ClockFactory(lead=lead, **fields)


def stop(clock: Clock, at: datetime, reason: str = "touch") -> Clock:
    Clock.objects.filter(pk=clock.pk).update(
        state=Clock.State.STOPPED, stopped_at=at, stop_reason=reason
    )
    clock.refresh_from_db()
    return clock


def test_first_touch_is_not_breached_just_before_its_due_time():
    clock_for()
    assert first_touch_breached(at=DUE - JUST) == []
    assert not Flag.objects.exists()


def test_first_touch_is_breached_at_its_due_time_and_dated_then():
    rep = UserFactory(username="sam", role=Role.SALES)
    clock = clock_for(owner=rep)

    [flag] = first_touch_breached(at=DUE + timedelta(minutes=3))

    assert flag.kind == Flag.Kind.FIRST_TOUCH_BREACHED
    assert flag.raised_at == DUE
    assert flag.due_at == DUE
    assert flag.noticed_at == DUE + timedelta(minutes=3)
    assert (flag.lead_id, flag.clock_id, flag.owner) == (clock.lead_id, clock.id, rep)
    assert flag.team_id == clock.lead.team_id
    assert flag.month == "2026-12"
    assert flag.state == Flag.State.OPEN
    assert flag.detail == (
        "first touch due Tue 1 Dec 14:00 EST (240 business minutes) passed untouched"
    )
    clock.refresh_from_db()
    assert clock.breached_at == DUE


def test_running_the_check_again_raises_nothing_new():
    clock_for()
    first_touch_breached(at=DUE)

    assert first_touch_breached(at=DUE + timedelta(hours=5)) == []
    assert Flag.objects.count() == 1


def test_at_risk_is_not_raised_just_before_the_at_risk_time():
    clock_for()
    assert first_touch_at_risk(at=AT_RISK - JUST) == []


def test_at_risk_is_raised_at_the_at_risk_time_and_dated_then():
    clock_for()

    [flag] = first_touch_at_risk(at=AT_RISK)

    assert flag.kind == Flag.Kind.FIRST_TOUCH_AT_RISK
    assert flag.raised_at == AT_RISK
    assert flag.due_at == DUE
    assert "untouched at risk since Tue 1 Dec 13:00 EST" in flag.detail
    assert first_touch_at_risk(at=AT_RISK + timedelta(minutes=5)) == []


def test_at_risk_is_not_raised_for_a_clock_touched_before_the_at_risk_time():
    clock = clock_for()
    stop(clock, AT_RISK - timedelta(minutes=10))
    assert first_touch_at_risk(at=AT_RISK) == []


def test_at_risk_warning_is_settled_once_the_clock_stops_in_time():
    clock = clock_for()
    [flag] = first_touch_at_risk(at=AT_RISK)
    stop(clock, AT_RISK + timedelta(minutes=20))

    first_touch_at_risk(at=AT_RISK + timedelta(minutes=21))

    flag.refresh_from_db()
    assert flag.state == Flag.State.RESOLVED
    assert flag.resolved_at == AT_RISK + timedelta(minutes=20)


def test_next_touch_is_not_breached_just_before_its_due_time():
    clock_for(kind=Clock.Kind.NEXT_TOUCH, at_risk_at=None, business_minutes=1440)
    assert next_touch_breached(at=DUE - JUST) == []


def test_next_touch_is_breached_at_its_due_time():
    clock_for(kind=Clock.Kind.NEXT_TOUCH, at_risk_at=None, business_minutes=1440)

    [flag] = next_touch_breached(at=DUE)

    assert flag.kind == Flag.Kind.NEXT_TOUCH_BREACHED
    assert flag.raised_at == DUE
    assert "(1440 business minutes after the last touch) passed untouched" in flag.detail
    assert first_touch_breached(at=DUE) == []


def test_touch_after_due_time_still_counts_as_breached_when_no_check_saw_it():
    # Given the checks were down while the due time passed and the lead was touched late
    stop(clock_for(), DUE + timedelta(minutes=70))

    # When the checks come back
    [flag] = first_touch_breached(at=DUE + timedelta(hours=3))

    # Then the miss is flagged, dated at the due time, and already resolved by the touch
    assert flag.raised_at == DUE
    assert flag.state == Flag.State.RESOLVED
    assert flag.resolved_at == DUE + timedelta(minutes=70)
    assert flag.resolution_note == "touched late at Tue 1 Dec 15:10 EST (70 business minutes late)"
    assert "; touched late at Tue 1 Dec 15:10 EST" in flag.detail
    assert first_touch_breached(at=DUE + timedelta(hours=4)) == []


def test_clock_stopped_before_its_due_time_is_not_breached():
    stop(clock_for(), DUE - timedelta(minutes=1))
    assert first_touch_breached(at=DUE + timedelta(hours=1)) == []


def test_catch_up_after_an_outage_flags_every_clock_with_its_own_due_time():
    # Given five clocks fell due during a three-hour outage
    agreement = AgreementFactory()
    dues = [DUE + timedelta(minutes=m) for m in (0, 25, 50, 100, 170)]
    for due in dues:
        clock_for(agreement, due_at=due)

    # When the checks run again after it
    flags = first_touch_breached(at=DUE + timedelta(hours=3))

    # Then each is flagged once, dated when its own promise broke
    assert sorted(flag.raised_at for flag in flags) == dues
    assert sorted(Flag.objects.values_list("raised_at", flat=True)) == dues


def test_a_poisoned_row_is_logged_and_skipped_and_the_others_are_flagged(caplog):
    # Given one agreement whose calendar names a zone that does not exist
    broken = AgreementFactory()
    BusinessCalendar.objects.filter(pk=broken.calendar_id).update(timezone="Mars/Olympus_Mons")
    poisoned = clock_for(broken)
    healthy = clock_for()

    # When the check runs
    with caplog.at_level(logging.ERROR, logger="sla.checks.clocks"):
        flags = first_touch_breached(at=DUE)

    # Then the healthy clock is flagged, and the poisoned one is logged and left for later
    assert [flag.clock_id for flag in flags] == [healthy.id]
    assert str(poisoned.id) in caplog.text
    poisoned.refresh_from_db()
    assert poisoned.breached_at is None


def test_a_clock_whose_lead_has_no_agreement_does_not_stop_the_others(caplog):
    orphan = ClockFactory(lead=LeadFactory(received_at=RECEIVED))
    healthy = clock_for()

    with caplog.at_level(logging.ERROR, logger="sla.checks.clocks"):
        flags = first_touch_breached(at=DUE)

    assert [flag.clock_id for flag in flags] == [healthy.id]
    assert "delivered under no agreement" in caplog.text
    orphan.refresh_from_db()
    assert orphan.breached_at is None


def queries_of_a_pass(clocks: int, at: datetime) -> int:
    agreement = AgreementFactory(effective_from=date(2026, 12, 1))  # no month closed yet
    manager = UserFactory(role=Role.SALES_MANAGER)
    agreement.sales_team.members.add(manager)
    for _ in range(clocks):
        clock_for(agreement)
    with CaptureQueriesContext(connection) as queries:
        flags = run_all_checks(at=at)
    assert flags["first_touch_breached"] == clocks
    return [q["sql"][:60] for q in queries.captured_queries]


def test_queries_of_a_pass_do_not_grow_with_the_number_of_flags(django_assert_max_num_queries):
    few = queries_of_a_pass(2, DUE)
    Flag.objects.all().delete()
    Clock.objects.all().delete()
    # 30 flags, 60 notifications: within one INSERT even on SQLite (999 parameters).
    many = queries_of_a_pass(30, DUE)
    assert len(many) == len(few), "\n".join(many)
    clock_for(AgreementFactory(effective_from=date(2026, 12, 1)))
    with django_assert_max_num_queries(len(few)):
        run_all_checks(at=DUE + timedelta(minutes=1))


def test_a_late_stop_resolves_the_open_breach_with_how_late_it_came():
    clock = clock_for()
    [flag] = first_touch_breached(at=DUE)
    clock = stop(clock, DUE + timedelta(minutes=70))

    flags_settle_for_clock(clock=clock, at=DUE + timedelta(minutes=70))

    flag.refresh_from_db()
    assert flag.state == Flag.State.RESOLVED
    assert flag.resolved_at == DUE + timedelta(minutes=70)
    assert flag.resolution_note == "touched late at Tue 1 Dec 15:10 EST (70 business minutes late)"


def test_a_late_stop_no_check_saw_is_flagged_at_once_and_resolved():
    clock = stop(clock_for(), DUE + timedelta(hours=2), reason="rejected")

    settled = flags_settle_for_clock(clock=clock, at=DUE + timedelta(hours=2))

    # Its at-risk warning, missed too, is raised with it, superseded by the breach.
    [warning] = [f for f in settled if f.kind == Flag.Kind.FIRST_TOUCH_AT_RISK]
    [flag] = [f for f in settled if f.kind == Flag.Kind.FIRST_TOUCH_BREACHED]
    warning.refresh_from_db()
    assert (warning.raised_at, warning.superseded_by_id) == (AT_RISK, flag.id)
    assert (flag.raised_at, flag.state) == (DUE, Flag.State.RESOLVED)
    assert (
        flag.resolution_note == "rejected late at Tue 1 Dec 16:00 EST (120 business minutes late)"
    )
    assert first_touch_breached(at=DUE + timedelta(hours=3)) == []


def test_business_minutes_late_skip_the_night():
    # Due 14:00 EST Tuesday, touched 10:00 EST Wednesday: 3 h Tuesday + 1 h Wednesday.
    clock = stop(clock_for(), datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    [flag] = first_touch_breached(at=datetime(2026, 12, 2, 16, 0, tzinfo=UTC))
    assert flag.resolution_note.endswith("(240 business minutes late)")
    assert clock.id == flag.clock_id
