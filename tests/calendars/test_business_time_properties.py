"""Property tests: the engine agrees with a naive minute-by-minute reference.

The reference walks whole UTC minutes and reads the wall clock at each one. It states
the daylight-saving rule of `calendars.engine` in wall-clock terms: a window opens the
first time the clock shows its start and closes the last time the clock shows its end.
So a minute is working when some window's start has already been shown (the highest
reading so far reached it) and its end has not yet been shown for the last time (the
reading is still below it, or a reading at or below it is still to come).
"""

import functools
import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from calendars.engine import (
    WorkCalendar,
    add_business_minutes,
    business_minutes_between,
    is_working,
)

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",  # +05:30, no daylight saving
    "Asia/Kathmandu",  # +05:45
    "Australia/Adelaide",  # +09:30 / +10:30
    "Australia/Lord_Howe",  # moves by half an hour
    "Pacific/Auckland",
]
MINUTE = timedelta(minutes=1)
HORIZON = 3 * 1440  # minutes the reference walks after the start
# Readings taken before and after the horizon, for "so far" and "still to come": enough
# to outlast a repeated hour before, and the longest window after.
MARGIN = 1440 + 180

REFERENCE_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@functools.cache
def transitions(zone_name: str) -> list[tuple[datetime, range]]:
    """Offset changes of the zone in 2024-2027: the instant, and the wall minutes the
    change skips or repeats widened by an hour each side, in quarter hours."""
    zone = ZoneInfo(zone_name)

    def offset(moment: datetime) -> timedelta:
        return moment.astimezone(zone).utcoffset()

    found = []
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    while moment < datetime(2028, 1, 1, tzinfo=UTC):
        after = moment + timedelta(hours=1)
        if offset(after) != offset(moment):
            change = after
            while offset(change - MINUTE) != offset(moment):
                change -= MINUTE
            # The clock reading at the change, on the old offset and on the new one.
            walls = ((change - MINUTE).astimezone(zone) + MINUTE, change.astimezone(zone))
            low, high = sorted(wall.hour * 60 + wall.minute for wall in walls)
            found.append((change, range(max(0, low - 60), min(1440, high + 60) + 1, 15)))
        moment = after
    return found


@st.composite
def weekly_windows(draw, hot: range, focus: int | None) -> tuple:
    """Seven days of windows: several a day, some touching, some to 24:00 or overnight.

    Boundaries fall often in `hot`, the wall minutes around a daylight-saving change.
    Weekday `focus`, the day of the change, opens with a window bounded in `hot`, so
    that the change moves its start, its end or both.
    """
    anywhere = st.one_of(st.integers(0, 1440), st.sampled_from(hot), st.just(1440))
    days = []
    for weekday in range(7):
        if weekday == focus:
            cuts = draw(st.lists(st.sampled_from(hot), min_size=2, max_size=2, unique=True))
            cuts = sorted(cuts) + sorted(draw(st.lists(anywhere, max_size=2)))
        else:
            cuts = sorted(draw(st.lists(anywhere, max_size=6)))
        pairs = zip(cuts[::2], cuts[1::2], strict=False)
        day = []
        for start, end in pairs:  # drop empty windows and any overlapping the one before
            if start < end and (not day or day[-1][1] <= start):
                day.append((start, end))
        days.append(day)
    for index, day in enumerate(days):
        following = days[(index + 1) % 7]
        if not day or not draw(st.booleans()):
            continue
        # Run the last window past midnight, stopping short of its own start and of the
        # next day's first window.
        start = day[-1][0]
        limit = min(start - 1, following[0][0] if following else 1439)
        if limit >= 1:
            ends = st.sampled_from(hot)
            if (index + 1) % 7 != focus:
                ends = st.integers(1, limit) | ends
            end = draw(ends)
            if 1 <= end <= limit:
                day[-1] = (start, 1440 + end)
    return tuple(tuple(day) for day in days)


@st.composite
def scenarios(draw, exact_minutes: bool = True) -> tuple[WorkCalendar, datetime]:
    """A calendar and a start, mostly within days of a daylight-saving change with the
    windows of its day bounded in the small hours around it. Starts are whole UTC
    minutes, or any microsecond when not `exact_minutes`."""
    zone_name = draw(st.sampled_from(ZONES))
    changes = transitions(zone_name)
    if changes and draw(st.integers(0, 3)):
        change, hot = draw(st.sampled_from(changes))
        focus = change.astimezone(ZoneInfo(zone_name)).weekday()
        start = change + MINUTE * draw(st.integers(-2 * 1440, 60))
    else:
        hot, focus = range(0, 300, 30), None
        start = datetime(2020, 1, 1, tzinfo=UTC) + MINUTE * draw(st.integers(0, 5_256_000))
    if not exact_minutes:
        start += timedelta(microseconds=draw(st.integers(0, 59_999_999)))
    local_day = start.astimezone(ZoneInfo(zone_name)).date()
    holidays = {
        local_day + timedelta(days=n) for n in draw(st.sets(st.integers(-3, 5), max_size=2))
    }
    return WorkCalendar(zone_name, draw(weekly_windows(hot, focus)), frozenset(holidays)), start


def reference_working(calendar: WorkCalendar, start: datetime) -> list[bool]:
    """Whether each of the HORIZON minutes from `start` is working, minute by minute.

    Wall-clock readings are counted in minutes since 0001-01-01 00:00 on that clock.
    """
    zone = ZoneInfo(calendar.timezone)
    first = start - MARGIN * MINUTE
    readings = []
    for n in range(MARGIN + HORIZON + MARGIN):
        local = (first + n * MINUTE).astimezone(zone)
        readings.append(local.toordinal() * 1440 + local.hour * 60 + local.minute)
    highest_so_far = list(itertools.accumulate(readings, max))
    lowest_from = list(itertools.accumulate(reversed(readings), min))[::-1]
    windows = {}  # local date ordinal -> its windows, as wall readings
    for ordinal in range(readings[0] // 1440 - 2, readings[-1] // 1440 + 1):
        day = date.fromordinal(ordinal)
        holiday = day in calendar.holidays
        windows[ordinal] = [
            (ordinal * 1440 + opens, ordinal * 1440 + closes)
            for opens, closes in ([] if holiday else calendar.windows[day.weekday()])
        ]
    working = []
    for n in range(MARGIN, MARGIN + HORIZON):
        # Windows of the two days before may still run; later ones cannot have opened.
        candidates = range(readings[n] // 1440 - 2, highest_so_far[n] // 1440 + 1)
        working.append(
            any(
                highest_so_far[n] >= opens
                and (readings[n] < closes or lowest_from[n + 1] <= closes)
                for ordinal in candidates
                for opens, closes in windows[ordinal]
            )
        )
    return working


@REFERENCE_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_engine_agrees_with_minute_by_minute_reference(scenario, data):
    calendar, start = scenario
    working = reference_working(calendar, start)
    elapsed = list(itertools.accumulate(working))  # working minutes in [start, start + n + 1)

    # is_working, at every minute of the horizon
    engine = [is_working(calendar, start + n * MINUTE) for n in range(HORIZON)]
    assert engine == working

    # business_minutes_between, from the start to a few ends
    for end in data.draw(st.lists(st.integers(0, HORIZON), min_size=1, max_size=5), "ends"):
        expected = elapsed[end - 1] if end else 0
        assert business_minutes_between(calendar, start, start + end * MINUTE) == expected

    # add_business_minutes, for a few counts the horizon can answer
    if not any(working):
        return
    limit = min(elapsed[-1], 3 * 1440)
    for minutes in data.draw(st.lists(st.integers(0, limit), min_size=1, max_size=5), "minutes"):
        if minutes == 0:  # the next opening
            expected = start + working.index(True) * MINUTE
        else:  # the end of the minute in which the count is reached
            expected = start + (elapsed.index(minutes) + 1) * MINUTE
        assert add_business_minutes(calendar, start, minutes) == expected


def weekly_minutes(calendar: WorkCalendar) -> int:
    return sum(end - start for day in calendar.windows for start, end in day)


@settings(max_examples=150, deadline=None, database=None)
@given(scenario=scenarios(exact_minutes=False), data=st.data())
def test_minutes_between_start_and_deadline_are_the_minutes_added(scenario, data):
    calendar, start = scenario
    assume(weekly_minutes(calendar) > 0)
    # No more than about a year of this calendar's work, so the engine never gives up.
    minutes = data.draw(st.integers(0, min(20_000, 50 * weekly_minutes(calendar))), "minutes")

    due = add_business_minutes(calendar, start, minutes)

    assert business_minutes_between(calendar, start, due) == minutes
    assert due >= start
    if minutes:
        assert is_working(calendar, due - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None, database=None)
@given(scenario=scenarios(exact_minutes=False), data=st.data())
def test_adding_in_two_steps_reaches_the_same_deadline(scenario, data):
    calendar, start = scenario
    assume(weekly_minutes(calendar) > 0)
    cap = min(5_000, 20 * weekly_minutes(calendar))
    first = data.draw(st.integers(1, cap), "first")
    second = data.draw(st.integers(1, cap), "second")

    in_two_steps = add_business_minutes(
        calendar, add_business_minutes(calendar, start, first), second
    )

    assert in_two_steps == add_business_minutes(calendar, start, first + second)
