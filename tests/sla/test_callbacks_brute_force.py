"""A callback's restart against a brute-force minute stepper, in several zones.

For each zone, callbacks at random instants around a daylight-saving change (or none,
for Kolkata) pause a first-touch clock, then a next-touch clock, through the real
action; the restarted due (and at-risk) time must be where stepping the calendar's
business minutes one by one from the callback instant lands.

The stepper reads the wall clock of every whole UTC minute: a minute works when its
local weekday and time fall in a window and its local date is no holiday. That is the
engine's rule whenever no window starts or ends inside an hour the clock skips or
repeats, which the calendars below respect, while their Sunday 00:00–24:00 windows
run straight through each change (23 or 25 real hours).
"""

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.actions import lead_deliver, lead_touch
from sla.callbacks import lead_callback
from sla.models import Clock
from tests.sla.lead_world import build_world, lead_body

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# zone -> (working hours, holidays, instants of offset changes to straddle)
CASES = {
    "Europe/Paris": (
        {
            **{day: [["08:00", "12:00"], ["13:30", "18:00"]] for day in WEEKDAY_KEYS[:5]},
            "sun": [["00:00", "24:00"]],
        },
        ["2027-03-30", "2027-11-01"],
        [datetime(2027, 3, 28, 1, 0, tzinfo=UTC), datetime(2027, 10, 31, 1, 0, tzinfo=UTC)],
    ),
    "America/New_York": (
        {
            **{day: [["09:00", "17:00"]] for day in WEEKDAY_KEYS[:5]},
            "fri": [["09:00", "24:00"]],
            "sun": [["00:00", "24:00"]],
        },
        ["2027-03-16"],
        [datetime(2027, 3, 14, 7, 0, tzinfo=UTC), datetime(2027, 11, 7, 6, 0, tzinfo=UTC)],
    ),
    "Asia/Kolkata": (  # +05:30 all year: half-hour offsets, no change
        {day: [["09:30", "13:00"], ["14:00", "18:30"]] for day in WEEKDAY_KEYS[:6]},
        ["2027-01-26"],
        [datetime(2027, 1, 25, 0, 0, tzinfo=UTC), datetime(2027, 8, 13, 0, 0, tzinfo=UTC)],
    ),
    "Pacific/Auckland": (
        {
            **{day: [["08:30", "17:00"]] for day in WEEKDAY_KEYS[:5]},
            "sun": [["00:00", "24:00"]],
        },
        ["2027-04-05"],
        [datetime(2027, 4, 3, 14, 0, tzinfo=UTC), datetime(2027, 9, 25, 14, 0, tzinfo=UTC)],
    ),
}
EXAMPLES_PER_CHANGE = 3


def stepper(zone: str, hours: dict, holidays: list[str], start: datetime, minutes: int):
    """The instant `minutes` business minutes after `start`, stepping whole minutes."""
    tz = ZoneInfo(zone)
    windows = {
        key: [(int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])) for a, b in spans]
        for key, spans in hours.items()
    }
    closed = set(holidays)

    def working(moment: datetime) -> bool:
        local = moment.astimezone(tz)
        if local.date().isoformat() in closed:
            return False
        minute = local.hour * 60 + local.minute
        spans = windows.get(WEEKDAY_KEYS[local.weekday()], [])
        return any(opens <= minute < closes for opens, closes in spans)

    moment, counted = start, 0
    while counted < minutes:
        counted += working(moment)
        moment += MINUTE
    return moment


def examples():
    for zone, (_, _, changes) in CASES.items():
        for n, change in enumerate(changes):
            yield pytest.param(zone, change, id=f"{zone}-{n}")


@pytest.mark.parametrize(("zone", "change"), list(examples()))
def test_a_callbacks_restart_lands_where_stepping_business_minutes_does(zone, change):
    hours, holidays, _ = CASES[zone]
    world = build_world()
    world.calendar.timezone, world.calendar.working_hours = zone, hours
    world.calendar.holidays = holidays
    world.calendar.save()
    rnd = random.Random(f"{zone}{change.isoformat()}")
    for n in range(EXAMPLES_PER_CHANGE):
        # Delivered up to two days before the change; the callbacks land within days of it
        received = change - MINUTE * rnd.randint(60, 2 * 1440)
        data = {**lead_body(email=f"p{n}@example.com"), "received_at": received}
        lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=received)
        first = Clock.objects.get(lead=lead, kind=Clock.Kind.FIRST_TOUCH)
        set_at = received + MINUTE * rnd.randint(0, 20)
        at = set_at + MINUTE * rnd.randint(1, 3 * 1440)

        lead_callback(lead=lead, by=world.morgan, at=at, now=set_at)

        first.refresh_from_db()
        assert first.started_at == at
        assert first.due_at == stepper(zone, hours, holidays, at, 240), (zone, at)
        assert first.at_risk_at == stepper(zone, hours, holidays, at, 180), (zone, at)

        touched = first.due_at - MINUTE * rnd.randint(1, 120)
        lead_touch(
            lead=lead, by=world.sam, kind="call", outcome="no_answer", at=touched, now=touched
        )
        later = touched + MINUTE * rnd.randint(1, 4 * 1440)

        callback = lead_callback(lead=lead, by=world.morgan, at=later, now=touched)

        following = Clock.objects.get(pk=callback.clock_id)
        assert following.kind == Clock.Kind.NEXT_TOUCH
        assert following.due_at == stepper(zone, hours, holidays, later, 1440), (zone, later)
        assert callback.due_at == following.due_at
