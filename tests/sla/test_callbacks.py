"""The rules of sla/callbacks.py, called directly, as of exact instants.

New York 09:00–17:00 on weekdays; first touch within 240 business minutes (at risk at
75 %), next touch within 1440 (three working days); at most 10 business days ahead and 3
callbacks per lead unless a sales manager sets them. 2026-12-04 is a Friday.
"""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from core.errors import RuleRefused
from leads.models import Lead
from sla.actions import lead_abandon, lead_deliver, lead_touch
from sla.callbacks import CallbackRefused, callback_latest, callback_limits, lead_callback
from sla.checks import run_all_checks
from sla.models import Callback, Clock, Flag
from sla.selectors import lead_sla
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_4PM = ny(2026, 12, 4, 16, 0)
MONDAY_10AM = ny(2026, 12, 7, 10, 0)
MONDAY_11AM = ny(2026, 12, 7, 11, 0)
TUESDAY_2PM = ny(2026, 12, 8, 14, 0)


@pytest.fixture
def world():
    return build_world()


def deliver(world, *, at=FRIDAY_4PM, **overrides) -> Lead:
    data = {**lead_body(**overrides), "received_at": at}
    lead, created = lead_deliver(by=world.maria, data=data, agreement=world.a, now=at)
    assert created
    return lead


def touch(lead, world, at, outcome="no_answer"):
    return lead_touch(lead=lead, by=world.sam, kind="call", outcome=outcome, at=at, now=at)


@pytest.fixture
def touched(world) -> Lead:
    """Touched Monday 10:00: its next-touch clock is due Thursday 10:00."""
    lead = deliver(world)
    touch(lead, world, MONDAY_10AM)
    return lead


def clock_of(lead, kind=Clock.Kind.NEXT_TOUCH) -> Clock:
    return Clock.objects.get(lead=lead, kind=kind, state=Clock.State.RUNNING)


def fresh(lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


# --- which clock, and its restart ---------------------------------------------------------


def test_a_callback_restarts_the_running_next_touch_clock_at_its_instant(world, touched):
    clock = clock_of(touched)
    assert clock.due_at == ny(2026, 12, 10, 10, 0)

    callback = lead_callback(
        lead=touched, by=world.sam, at=TUESDAY_2PM, note="In a meeting", now=MONDAY_11AM
    )

    moved = Clock.objects.get(pk=clock.pk)  # the same row, its window moved
    assert (moved.started_at, moved.due_at) == (TUESDAY_2PM, ny(2026, 12, 11, 14, 0))
    assert moved.state == Clock.State.RUNNING
    assert callback.clock_id == clock.pk
    assert callback.kind == Clock.Kind.NEXT_TOUCH
    assert (callback.at, callback.due_at) == (TUESDAY_2PM, ny(2026, 12, 11, 14, 0))
    assert callback.previous_started_at == MONDAY_10AM
    assert callback.previous_due_at == ny(2026, 12, 10, 10, 0)
    assert (callback.set_by, callback.set_at, callback.note) == (
        world.sam,
        MONDAY_11AM,
        "In a meeting",
    )
    assert callback.approved_by is None


def test_the_lead_summary_follows_the_restarted_clock(world, touched):
    lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    lead = fresh(touched)
    assert lead.sla_callback_at == TUESDAY_2PM
    assert lead.sla_next_touch_due_at == ny(2026, 12, 11, 14, 0)
    assert lead.sla_due_at == ny(2026, 12, 11, 14, 0)
    assert lead_sla(lead, now=MONDAY_11AM)["next_touch_due_at"] == ny(2026, 12, 11, 14, 0)


def test_before_the_first_touch_the_first_touch_clock_restarts_with_its_at_risk_time(world):
    lead = deliver(world)  # first touch due Monday 12:00, at risk at 11:00
    lead_callback(lead=lead, by=world.sam, at=TUESDAY_2PM, now=ny(2026, 12, 4, 16, 30))

    clock = clock_of(lead, Clock.Kind.FIRST_TOUCH)
    assert clock.started_at == TUESDAY_2PM
    assert clock.due_at == ny(2026, 12, 9, 10, 0)  # Tue 14–17, Wed 09–10
    assert clock.at_risk_at == ny(2026, 12, 8, 17, 0)  # 180 of the 240 minutes: Tue 14–17
    lead = fresh(lead)
    assert (lead.sla_first_due_at, lead.sla_first_at_risk_at) == (clock.due_at, clock.at_risk_at)
    assert lead.sla_due_at == clock.due_at
    # Paused: the lead is no longer at risk when the old window's at-risk time comes
    assert lead_sla(lead, now=ny(2026, 12, 7, 11, 30))["status"] == "pending"


def test_with_no_clock_running_a_callback_starts_a_next_touch_clock(world):
    lead = deliver(world)
    touch(lead, world, MONDAY_10AM, outcome="connected")  # no clock runs after a connection
    assert not Clock.objects.filter(lead=lead, state=Clock.State.RUNNING).exists()

    callback = lead_callback(lead=lead, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)

    clock = clock_of(lead)
    assert (clock.started_at, clock.due_at) == (TUESDAY_2PM, ny(2026, 12, 11, 14, 0))
    assert callback.clock_id == clock.pk
    assert (callback.previous_started_at, callback.previous_due_at) == (None, None)


def test_the_window_comes_from_the_leads_own_tier(world):
    version = world.a.current_version()
    version.terms["tiers"] = [
        {
            "name": "big",
            "when": [{"field": "company_size", "op": "gte", "value": 100}],
            "next_touch_minutes": 60,
        }
    ]
    version.save()
    lead = deliver(world)
    lead.terms.tier = "big"
    lead.terms.save()
    touch(lead, world, MONDAY_10AM)

    callback = lead_callback(lead=lead, by=world.sam, at=TUESDAY_2PM, now=ny(2026, 12, 7, 10, 30))

    assert callback.due_at == ny(2026, 12, 8, 15, 0)  # the tier's 60 minutes


# --- refusals: 400 for bad input, 409 for a rule; nothing written -----------------------


def nothing_written(lead, clock_before: Clock):
    clock = Clock.objects.get(pk=clock_before.pk)
    assert (clock.started_at, clock.due_at) == (clock_before.started_at, clock_before.due_at)
    assert not Callback.objects.filter(lead=lead).exists()
    assert fresh(lead).sla_callback_at is None


@pytest.mark.parametrize("at", [MONDAY_10AM, MONDAY_11AM], ids=["past", "now"])
def test_a_callback_that_is_not_later_than_now_is_refused_naming_at(world, touched, at):
    before = clock_of(touched)
    with pytest.raises(ValidationError) as refused:
        lead_callback(lead=touched, by=world.sam, at=at, now=MONDAY_11AM)
    assert "at" in refused.value.message_dict
    nothing_written(touched, before)


def test_a_callback_without_an_instant_is_refused_naming_at(world, touched):
    with pytest.raises(ValidationError) as refused:
        lead_callback(lead=touched, by=world.sam, at=None, now=MONDAY_11AM)
    assert "at" in refused.value.message_dict


def test_a_closed_lead_takes_no_callback(world, touched):
    lead_abandon(lead=touched, by=world.morgan, reason="Gone", override=True, now=MONDAY_10AM)
    with pytest.raises(CallbackRefused) as refused:
        lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    assert refused.value.rule == "lead_closed"
    assert not Callback.objects.exists()


def test_closing_a_lead_clears_its_pending_callback_from_the_inbox(world, touched):
    lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    assert fresh(touched).sla_callback_at == TUESDAY_2PM
    lead_abandon(lead=touched, by=world.morgan, reason="Gone", override=True, now=MONDAY_11AM)
    assert fresh(touched).sla_callback_at is None
    assert Callback.objects.count() == 1  # the history stays


def test_a_lead_that_does_not_qualify_has_no_clock_to_pause(world):
    lead = deliver(world, company_size=5)
    assert lead.qualifies is False
    with pytest.raises(CallbackRefused) as refused:
        lead_callback(lead=lead, by=world.morgan, at=TUESDAY_2PM, now=MONDAY_11AM)
    assert refused.value.rule == "lead_not_qualified"


def test_a_clock_already_past_due_cannot_be_paused_the_miss_stands(world):
    lead = deliver(world)  # first touch due Monday 12:00
    before = clock_of(lead, Clock.Kind.FIRST_TOUCH)
    with pytest.raises(CallbackRefused) as refused:
        lead_callback(lead=lead, by=world.morgan, at=TUESDAY_2PM, now=ny(2026, 12, 7, 12, 0))
    assert refused.value.rule == "clock_breached"
    assert str(refused.value).startswith("clock_breached: the first touch clock ran out")
    nothing_written(lead, before)


# --- the limits ---------------------------------------------------------------------------


def test_ten_business_days_ahead_ends_with_the_tenth_business_day_after_today():
    calendar = build_world().calendar.as_work_calendar()
    # Monday 7 December: the tenth business day after it is Monday 21 December
    assert callback_latest(calendar, now=MONDAY_10AM, business_days=10) == ny(2026, 12, 22, 0, 0)
    assert callback_latest(calendar, now=MONDAY_10AM, business_days=0) == ny(2026, 12, 8, 0, 0)
    # From Saturday, Monday is the first business day after today
    saturday = ny(2026, 12, 5, 12, 0)
    assert callback_latest(calendar, now=saturday, business_days=1) == ny(2026, 12, 8, 0, 0)


def test_a_holiday_is_not_a_business_day_of_the_limit(world):
    world.calendar.holidays = ["2026-12-15"]
    world.calendar.save()
    calendar = world.calendar.as_work_calendar()
    assert callback_latest(calendar, now=MONDAY_10AM, business_days=10) == ny(2026, 12, 23, 0, 0)


def test_a_rep_may_set_a_callback_on_the_last_business_day_of_the_limit(world, touched):
    callback = lead_callback(
        lead=touched, by=world.sam, at=ny(2026, 12, 21, 16, 0), now=MONDAY_11AM
    )
    assert callback.approved_by is None


def test_a_rep_is_refused_a_callback_beyond_the_business_days_limit(world, touched):
    before = clock_of(touched)
    with pytest.raises(CallbackRefused) as refused:
        lead_callback(lead=touched, by=world.sam, at=ny(2026, 12, 22, 9, 0), now=MONDAY_11AM)
    assert refused.value.rule == "max_callback_business_days"
    assert "at most 10 business days ahead" in str(refused.value)
    nothing_written(touched, before)


def test_a_sales_manager_may_go_beyond_the_limit_and_is_recorded_as_approving(world, touched):
    callback = lead_callback(
        lead=touched, by=world.morgan, at=ny(2026, 12, 22, 9, 0), now=MONDAY_11AM
    )
    assert callback.approved_by == world.morgan
    assert clock_of(touched).started_at == ny(2026, 12, 22, 9, 0)


def callbacks_at_days(lead, by, days, now=MONDAY_11AM):
    for day in days:
        lead_callback(lead=lead, by=by, at=ny(2026, 12, day, 10, 0), now=now)


def test_a_rep_is_refused_a_fourth_callback(world, touched):
    callbacks_at_days(touched, world.sam, [8, 9, 10])
    before = clock_of(touched)
    with pytest.raises(CallbackRefused) as refused:
        lead_callback(lead=touched, by=world.sam, at=ny(2026, 12, 11, 10, 0), now=MONDAY_11AM)
    assert refused.value.rule == "max_callbacks"
    assert "already has 3 callbacks" in str(refused.value)
    assert Callback.objects.filter(lead=touched).count() == 3
    assert Clock.objects.get(pk=before.pk).started_at == ny(2026, 12, 10, 10, 0)


def test_a_sales_manager_may_approve_a_fourth_callback(world, touched):
    callbacks_at_days(touched, world.sam, [8, 9, 10])
    callback = lead_callback(
        lead=touched, by=world.morgan, at=ny(2026, 12, 11, 10, 0), now=MONDAY_11AM
    )
    assert callback.approved_by == world.morgan
    assert Callback.objects.filter(lead=touched).count() == 4


def test_an_admin_may_approve_beyond_the_limits_too(world, touched):
    callbacks_at_days(touched, world.sam, [8, 9, 10])
    callback = lead_callback(lead=touched, by=world.ada, at=ny(2027, 1, 29, 10, 0), now=MONDAY_11AM)
    assert callback.approved_by == world.ada


def test_the_limits_are_read_from_the_leads_agreement_version(world, touched):
    version = touched.terms.agreement_version
    version.terms["max_callbacks"] = 1
    version.save()
    world.a.max_callbacks = 5  # the agreement's own field: not what the lead was delivered under
    world.a.save()
    lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    with pytest.raises(CallbackRefused) as refused:
        lead_callback(lead=touched, by=world.sam, at=ny(2026, 12, 9, 10, 0), now=MONDAY_11AM)
    assert refused.value.rule == "max_callbacks"


def test_a_version_older_than_the_limits_gets_the_default_limits(world, touched):
    version = touched.terms.agreement_version
    version.terms.pop("max_callbacks", None)
    version.terms.pop("max_callback_business_days", None)
    version.save()
    assert callback_limits(version.terms).max_callbacks == 3
    assert callback_limits(version.terms).max_business_days == 10
    callbacks_at_days(touched, world.sam, [8, 9, 10])
    with pytest.raises(CallbackRefused):
        lead_callback(lead=touched, by=world.sam, at=ny(2026, 12, 11, 10, 0), now=MONDAY_11AM)


def test_a_refusal_is_a_rule_refused_the_pages_and_the_api_know(world, touched):
    callbacks_at_days(touched, world.sam, [8, 9, 10])
    with pytest.raises(RuleRefused):
        lead_callback(lead=touched, by=world.sam, at=ny(2026, 12, 11, 10, 0), now=MONDAY_11AM)


# --- flags: the at-risk warning, and a callback that is not kept -------------------------


def test_an_open_at_risk_warning_is_resolved_by_the_pause_and_not_raised_again(world):
    lead = deliver(world)
    run_all_checks(at=ny(2026, 12, 7, 11, 30))  # past the at-risk time, before the due time
    warning = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_AT_RISK)
    flagged_at = clock_of(lead, Clock.Kind.FIRST_TOUCH).at_risk_flagged_at
    assert flagged_at is not None

    lead_callback(lead=lead, by=world.sam, at=TUESDAY_2PM, now=ny(2026, 12, 7, 11, 40))

    warning.refresh_from_db()
    assert warning.state == Flag.State.RESOLVED
    assert warning.resolved_at == ny(2026, 12, 7, 11, 40)
    assert warning.resolution_note.startswith("paused by a callback")
    assert clock_of(lead, Clock.Kind.FIRST_TOUCH).at_risk_flagged_at == flagged_at
    # Past the restarted window's at-risk time: one warning per clock, none again
    run_all_checks(at=ny(2026, 12, 8, 17, 30))
    assert Flag.objects.filter(lead=lead, kind=Flag.Kind.FIRST_TOUCH_AT_RISK).count() == 1


def test_a_callback_not_kept_is_a_next_touch_breach_dated_at_its_restarted_due_time(world, touched):
    callback = lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    # The old due time passes: nothing, the clock is paused
    call_command("run_sla_checks", "--at", ny(2026, 12, 10, 10, 30).isoformat())
    assert not Flag.objects.filter(lead=touched, kind=Flag.Kind.NEXT_TOUCH_BREACHED).exists()

    call_command("run_sla_checks", "--at", ny(2026, 12, 11, 14, 1).isoformat())

    flag = Flag.objects.get(lead=touched, kind=Flag.Kind.NEXT_TOUCH_BREACHED)
    assert flag.raised_at == callback.due_at == ny(2026, 12, 11, 14, 0)
    assert flag.clock_id == callback.clock_id
    assert flag.owner == world.sam


def test_a_first_touch_callback_not_kept_is_a_first_touch_breach_at_its_due_time(world):
    lead = deliver(world)
    callback = lead_callback(lead=lead, by=world.sam, at=TUESDAY_2PM, now=FRIDAY_4PM)
    call_command("run_sla_checks", "--at", ny(2026, 12, 7, 12, 30).isoformat())
    assert not Flag.objects.filter(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED).exists()

    call_command("run_sla_checks", "--at", ny(2026, 12, 9, 11, 0).isoformat())

    flag = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    assert flag.raised_at == callback.due_at == ny(2026, 12, 9, 10, 0)


# --- a touch keeps the callback ------------------------------------------------------------


def test_a_touch_before_the_callback_keeps_it_and_restarts_the_next_touch_clock(world, touched):
    callback = lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    early = ny(2026, 12, 8, 9, 30)

    touch(touched, world, early)

    paused = Clock.objects.get(pk=callback.clock_id)
    assert (paused.state, paused.stopped_at, paused.stop_reason) == ("stopped", early, "touch")
    assert clock_of(touched).started_at == early
    assert fresh(touched).sla_callback_at is None
    run_all_checks(at=ny(2026, 12, 11, 14, 30))  # past the callback's due time
    assert not Flag.objects.filter(clock_id=callback.clock_id).exists()


def test_a_touch_before_a_second_callback_keeps_it_as_well(world, touched):
    lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    second = lead_callback(
        lead=touched, by=world.sam, at=ny(2026, 12, 9, 10, 0), now=ny(2026, 12, 7, 12, 0)
    )
    assert second.previous_started_at == TUESDAY_2PM
    early = ny(2026, 12, 7, 15, 0)  # before both callback instants

    touch(touched, world, early)

    paused = Clock.objects.get(pk=second.clock_id)
    assert (paused.state, paused.stopped_at) == ("stopped", early)
    assert clock_of(touched).started_at == early
    assert fresh(touched).sla_callback_at is None


def test_a_touch_at_the_callback_instant_keeps_it(world, touched):
    callback = lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    touch(touched, world, TUESDAY_2PM)
    paused = Clock.objects.get(pk=callback.clock_id)
    assert (paused.state, paused.stopped_at) == ("stopped", TUESDAY_2PM)
    assert paused.stopped_at <= paused.due_at
    assert fresh(touched).sla_callback_at is None


def test_a_touch_before_a_paused_first_touch_is_the_first_touch_in_time(world):
    lead = deliver(world)
    callback = lead_callback(lead=lead, by=world.sam, at=TUESDAY_2PM, now=FRIDAY_4PM)

    touch(lead, world, MONDAY_10AM)

    first = Clock.objects.get(pk=callback.clock_id)
    assert (first.state, first.stopped_at, first.stop_reason) == ("stopped", MONDAY_10AM, "touch")
    sla = lead_sla(fresh(lead), now=MONDAY_10AM)
    assert sla["first_touched_at"] == MONDAY_10AM
    assert sla["status"] == "met"
    assert clock_of(lead).started_at == MONDAY_10AM  # the next-touch window from the touch
    run_all_checks(at=ny(2026, 12, 9, 11, 0))
    assert not Flag.objects.filter(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED).exists()


def test_a_touch_after_the_callback_instant_clears_it_and_stops_the_clock_as_usual(world, touched):
    callback = lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    later = ny(2026, 12, 9, 10, 0)
    touch(touched, world, later)
    paused = Clock.objects.get(pk=callback.clock_id)
    assert (paused.state, paused.stopped_at) == ("stopped", later)
    assert paused.touch_minutes == 240  # Tue 14–17, Wed 09–10
    assert fresh(touched).sla_callback_at is None


def test_a_touch_backdated_before_the_paused_window_began_is_history(world, touched):
    callback = lead_callback(lead=touched, by=world.sam, at=TUESDAY_2PM, now=MONDAY_11AM)
    lead_touch(
        lead=touched,
        by=world.sam,
        kind="email",
        outcome="no_answer",
        at=ny(2026, 12, 7, 9, 30),  # before the touch that started the paused window
        now=ny(2026, 12, 7, 12, 0),
    )
    paused = Clock.objects.get(pk=callback.clock_id)
    assert paused.state == Clock.State.RUNNING
    assert paused.started_at == TUESDAY_2PM
    assert fresh(touched).sla_callback_at == TUESDAY_2PM


# --- audit ---------------------------------------------------------------------------------


def test_the_callback_is_kept_in_the_audit_history(world, touched):
    callback = lead_callback(
        lead=touched, by=world.sam, at=TUESDAY_2PM, note="Call after lunch", now=MONDAY_11AM
    )
    [record] = callback.history.all()
    assert record.history_type == "+"
    assert (record.at, record.note, record.set_by_id) == (
        TUESDAY_2PM,
        "Call after lunch",
        world.sam.pk,
    )
