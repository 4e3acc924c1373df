"""The rules of sla/actions.py, called directly, as of exact instants.

New York 09:00–17:00 on weekdays; first touch within 240 business minutes (at risk at
75 %), next touch within 1440. 2026-12-04 is a Friday.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from core.errors import RuleRefused
from leads.models import Lead
from sla.actions import (
    lead_abandon,
    lead_acknowledge,
    lead_deliver,
    lead_move_stage,
    lead_touch,
)
from sla.clocks import SlaStatus
from sla.models import Clock
from sla.selectors import lead_sla
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_4PM = ny(2026, 12, 4, 16, 0)


@pytest.fixture
def world():
    return build_world()


def deliver(world, *, at=FRIDAY_4PM, agreement=None, **overrides) -> Lead:
    data = {**lead_body(**overrides), "received_at": at}
    lead, created = lead_deliver(by=world.maria, data=data, agreement=agreement or world.a, now=at)
    assert created
    return lead


def status(lead: Lead, now) -> dict:
    return lead_sla(Lead.objects.get(pk=lead.pk), now=now)


def touch(lead, world, at, outcome="no_answer", now=None):
    return lead_touch(lead=lead, by=world.sam, kind="call", outcome=outcome, at=at, now=now or at)


# --- due times ----------------------------------------------------------------------------


def test_first_touch_is_due_after_240_business_minutes_across_the_weekend(world):
    lead = deliver(world)
    assert status(lead, FRIDAY_4PM)["first_touch_due_at"] == ny(2026, 12, 7, 12, 0)


def test_a_holiday_is_skipped_when_the_due_time_is_computed(world):
    world.calendar.holidays = ["2026-12-07"]
    world.calendar.save()
    lead = deliver(world)
    assert status(lead, FRIDAY_4PM)["first_touch_due_at"] == ny(2026, 12, 8, 12, 0)


def test_the_lead_is_at_risk_once_75_percent_of_the_window_has_passed(world):
    lead = deliver(world)
    assert status(lead, FRIDAY_4PM)["first_touch_at_risk_at"] == ny(2026, 12, 7, 11, 0)
    assert status(lead, ny(2026, 12, 7, 10, 59))["status"] == SlaStatus.PENDING
    assert status(lead, ny(2026, 12, 7, 11, 0))["status"] == SlaStatus.AT_RISK


def test_an_untouched_lead_is_breached_at_its_due_time(world):
    lead = deliver(world)
    assert status(lead, ny(2026, 12, 7, 12, 0))["status"] == SlaStatus.BREACHED


def test_a_lead_received_out_of_hours_counts_from_the_next_opening(world):
    lead = deliver(world, at=ny(2026, 12, 5, 11, 0))  # Saturday
    assert status(lead, ny(2026, 12, 5, 11, 0))["first_touch_due_at"] == ny(2026, 12, 7, 13, 0)


# --- touches ------------------------------------------------------------------------------


def test_a_touch_before_the_lead_was_received_is_refused_naming_at(world):
    lead = deliver(world)
    with pytest.raises(ValidationError) as error:
        touch(lead, world, ny(2026, 12, 4, 15, 59), now=ny(2026, 12, 7, 10, 0))
    assert "at" in error.value.message_dict
    assert not lead.touches.exists()


def test_a_touch_in_the_future_is_refused_naming_at(world):
    lead = deliver(world)
    with pytest.raises(ValidationError) as error:
        touch(lead, world, ny(2026, 12, 7, 10, 1), now=ny(2026, 12, 7, 10, 0))
    assert "at" in error.value.message_dict


def test_each_touch_restarts_the_next_touch_clock_from_its_own_time(world):
    lead = deliver(world)
    touch(lead, world, ny(2026, 12, 7, 10, 0))
    touch(lead, world, ny(2026, 12, 8, 15, 0))
    sla = status(lead, ny(2026, 12, 8, 15, 0))
    assert sla["next_touch_due_at"] == ny(2026, 12, 11, 15, 0)
    assert sla["first_touched_at"] == ny(2026, 12, 7, 10, 0)
    assert lead.clocks.filter(kind=Clock.Kind.NEXT_TOUCH, state=Clock.State.RUNNING).count() == 1


def test_a_connected_touch_stops_the_next_touch_clock(world):
    lead = deliver(world)
    touch(lead, world, ny(2026, 12, 7, 10, 0))
    touch(lead, world, ny(2026, 12, 7, 14, 0), outcome="connected")
    sla = status(lead, ny(2026, 12, 21, 9, 0))  # long after any window
    assert sla["next_touch_due_at"] is None
    assert sla["status"] == SlaStatus.MET


def test_a_late_first_touch_still_counts_as_breached(world):
    lead = deliver(world)
    touch(lead, world, ny(2026, 12, 7, 12, 1))
    sla = status(lead, ny(2026, 12, 7, 12, 1))
    assert sla["first_touched_at"] == ny(2026, 12, 7, 12, 1)
    assert sla["status"] == SlaStatus.BREACHED


def test_an_overdue_next_touch_is_breached(world):
    lead = deliver(world)
    touch(lead, world, ny(2026, 12, 7, 10, 0))
    assert status(lead, ny(2026, 12, 10, 9, 59))["status"] == SlaStatus.MET
    assert status(lead, ny(2026, 12, 10, 10, 0))["status"] == SlaStatus.BREACHED


def test_a_touch_logged_out_of_order_leaves_the_newer_next_touch_clock(world):
    lead = deliver(world)
    touch(lead, world, ny(2026, 12, 8, 10, 0))
    touch(lead, world, ny(2026, 12, 7, 10, 0), now=ny(2026, 12, 8, 11, 0))
    sla = status(lead, ny(2026, 12, 8, 11, 0))
    assert sla["next_touch_due_at"] == ny(2026, 12, 11, 10, 0)
    assert sla["attempts"] == 2


def test_touching_a_lead_that_does_not_qualify_starts_no_clock(world):
    lead = deliver(world, attributes={"student": True})
    touch(lead, world, ny(2026, 12, 7, 10, 0))
    assert not lead.clocks.exists()
    assert status(lead, ny(2026, 12, 7, 10, 0))["status"] == SlaStatus.NOT_STARTED


# --- closing ------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["customer", "disqualified"])
def test_a_won_or_lost_stage_closes_the_clocks(world, slug):
    lead = deliver(world)
    touch(lead, world, ny(2026, 12, 7, 10, 0))
    lead_move_stage(lead=lead, by=world.sam, stage=slug, now=ny(2026, 12, 7, 11, 0))
    sla = status(lead, ny(2026, 12, 21, 9, 0))
    assert sla["status"] == SlaStatus.CLOSED
    assert sla["next_touch_due_at"] is None
    assert not lead.clocks.filter(state=Clock.State.RUNNING).exists()


def test_an_open_stage_keeps_the_clocks_running(world):
    lead = deliver(world)
    lead_move_stage(lead=lead, by=world.sam, stage="engaged", now=ny(2026, 12, 7, 9, 30))
    assert status(lead, ny(2026, 12, 7, 9, 30))["status"] == SlaStatus.PENDING


def test_acknowledging_a_closed_lead_is_a_conflict(world):
    lead = deliver(world)
    lead_move_stage(lead=lead, by=world.sam, stage="customer", now=ny(2026, 12, 7, 9, 30))
    with pytest.raises(RuleRefused):
        lead_acknowledge(lead=lead, by=world.sam, now=ny(2026, 12, 7, 9, 31))


def test_abandon_needs_a_reason(world):
    lead = deliver(world)
    with pytest.raises(ValidationError) as error:
        lead_abandon(lead=lead, by=world.morgan, reason=" ", override=True, now=FRIDAY_4PM)
    assert "reason" in error.value.message_dict


# --- calendar edits ----------------------------------------------------------------------


def test_editing_the_calendar_moves_no_running_due_time_but_new_leads_use_it(world):
    before = deliver(world)
    world.calendar.working_hours = {
        day: [["09:00", "13:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
    }
    world.calendar.save()
    after = deliver(world, email="bob@example.com")
    # Before: Friday 16–17 then Monday 09–12. After: Friday has closed; Monday 09–13.
    assert status(before, FRIDAY_4PM)["first_touch_due_at"] == ny(2026, 12, 7, 12, 0)
    assert status(after, FRIDAY_4PM)["first_touch_due_at"] == ny(2026, 12, 7, 13, 0)


def test_a_lead_keeps_the_next_touch_window_of_the_version_it_was_delivered_under(world):
    from sla.agreements import agreement_update

    lead = deliver(world)
    agreement_update(agreement=world.a, by=world.ada, now=FRIDAY_4PM, next_touch_minutes=60)
    touch(lead, world, ny(2026, 12, 7, 10, 0))
    assert status(lead, ny(2026, 12, 7, 10, 0))["next_touch_due_at"] == ny(2026, 12, 10, 10, 0)


def test_time_in_stage_is_measured_in_business_minutes():
    """Delivered Friday 16:00 New York, moved Monday 10:00: 60 + 60 business minutes."""
    from sla.actions import lead_deliver, lead_move_stage
    from sla.selectors import stage_history
    from tests.factories import AgreementFactory, UserFactory

    agreement = AgreementFactory(name="Stage timing")
    rep = UserFactory(username="stage-rep", role="sales")
    agreement.sales_team.members.add(rep)
    friday = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
    monday = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    lead, _ = lead_deliver(
        by=None, data={"email": "t@acme.test", "company_size": 100}, agreement=agreement, now=friday
    )
    lead_move_stage(lead=lead, by=rep, stage="engaged", now=monday)
    rows = stage_history(lead, now=monday + timedelta(hours=2))
    assert [r["change"].to_stage.slug for r in rows] == ["interacting", "engaged"]
    assert [r["business_minutes_in_stage"] for r in rows] == [120, 120]
