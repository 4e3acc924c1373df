"""Beat misbehaving: two beats at once repeat nothing, and a beat outage loses nothing,
neither a breach nor an at-risk warning."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from sla.models import Clock, Flag, Notification
from tests.faults.conftest import clocks_bulk
from tests.faults.harness import wait_for

# Real PostgreSQL and Redis, the database shared with the processes the test starts.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def delivered_once(catcher, receiver) -> None:
    """Every queued message reached its receiver exactly once."""
    assert Notification.objects.exclude(state="sent").count() == 0
    expected = Counter(Notification.objects.values_list("key", flat=True))
    assert catcher.keys() + receiver.keys() == expected


def all_sent(count: int):
    def sent():
        states = Counter(Notification.objects.values_list("state", flat=True))
        sent.__doc__ = f"all {count} notifications sent (now {dict(states)})"
        return sum(states.values()) >= count and set(states) == {"sent"}

    return sent


def test_two_beats_and_two_workers_flag_and_notify_each_miss_once(
    procs, sales_world, catcher, receiver
):
    # Given clocks already past due, and clocks falling due while everything runs
    now = timezone.now()
    world = {"agreement": sales_world["agreement"], "owner": sales_world["rep"]}
    clocks_bulk(**world, count=60, due_at=lambda n: now - timedelta(minutes=10, seconds=n))
    clocks_bulk(**world, count=30, due_at=lambda n: now + timedelta(seconds=8 + n % 5))

    # When two beats and two workers run at once
    procs.worker("worker-a")
    procs.worker("worker-b")
    procs.beat("beat-a")
    procs.beat("beat-b")

    def flagged():
        """all 90 clocks are flagged"""
        return Flag.objects.filter(kind="first_touch_breached").count() >= 90

    wait_for(flagged, 60)
    wait_for(all_sent(3 * 90), 60)
    ticks = procs.started[-1].output().count("run_checks")
    wait_for(lambda: procs.started[-1].output().count("run_checks") >= ticks + 3, 20)

    # Then each miss is flagged once, dated at its due time, and each message sent once
    due = dict(Clock.objects.values_list("id", "due_at"))
    breaches = Flag.objects.filter(kind="first_touch_breached")
    assert breaches.count() == 90
    assert all(flag.raised_at == due[flag.clock_id] for flag in breaches)
    assert Notification.objects.count() == 3 * 90
    delivered_once(catcher, receiver)


def test_after_a_beat_outage_every_breach_and_every_warning_is_flagged_at_its_time(
    procs, sales_world, catcher, receiver
):
    from sla.clocks import clock_stop

    procs.worker()
    beat = procs.beat()
    # Given clocks whose at-risk time (and for some, the due time) fall in the outage
    start = timezone.now() + timedelta(seconds=6)
    world = {"agreement": sales_world["agreement"], "owner": sales_world["rep"]}
    breached = clocks_bulk(
        **world,
        count=20,
        at_risk_at=lambda n: start + timedelta(milliseconds=50 * n),
        due_at=lambda n: start + timedelta(seconds=3, milliseconds=50 * n),
    )
    warned = clocks_bulk(
        **world,
        count=20,
        at_risk_at=lambda n: start + timedelta(milliseconds=50 * n),
        due_at=lambda n: start + timedelta(hours=1),
    )
    touched = clocks_bulk(
        **world,
        count=10,
        at_risk_at=lambda n: start + timedelta(milliseconds=50 * n),
        due_at=lambda n: start + timedelta(hours=1),
    )

    # When beat is down while those times pass, the warned clocks touched meanwhile
    beat.stop()
    wait_for(lambda: timezone.now() > start + timedelta(seconds=5), 20)
    assert not Flag.objects.exists()
    for clock in touched:
        clock.refresh_from_db()
        assert clock_stop(clock=clock, at=timezone.now(), reason="touch")
    # ... and beat starts again
    procs.beat()

    def caught_up():
        """every breach and every warning is flagged"""
        return Flag.objects.filter(kind="first_touch_breached").count() >= 20 and (
            Flag.objects.filter(kind="first_touch_at_risk").count() >= 50
        )

    wait_for(caught_up, 60)
    wait_for(all_sent(3 * 20 + 2 * 20), 60)  # breaches: 2 mails and a post; warnings: 1 + 1

    # Then each is flagged once, dated when it happened, the touched ones resolved already
    times = {c.id: c for c in Clock.objects.all()}
    breaches = Flag.objects.filter(kind="first_touch_breached")
    assert sorted(f.clock_id for f in breaches) == sorted(c.id for c in breached)
    assert all(f.raised_at == times[f.clock_id].due_at for f in breaches)
    warnings = Flag.objects.filter(kind="first_touch_at_risk")
    assert sorted(f.clock_id for f in warnings) == sorted(
        c.id for c in [*breached, *warned, *touched]
    )
    assert all(f.raised_at == times[f.clock_id].at_risk_at for f in warnings)
    touched_ids = {c.id for c in touched}
    assert {f.clock_id for f in warnings.filter(state="resolved")} >= touched_ids
    assert set(warnings.filter(state="open").values_list("clock_id", flat=True)) == {
        c.id for c in warned
    }
    delivered_once(catcher, receiver)
