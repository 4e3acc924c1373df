"""Edge cases of the business-time engine, one table per rule.

Wall times without an offset are read in the case's zone; daylight-saving cases give
the offset (or Z) so the instant is never in doubt.
"""

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendars.engine import (
    CalendarSpecError,
    WorkCalendar,
    add_business_minutes,
    business_minutes_between,
    business_seconds_between,
    is_working,
    next_opening,
)
from calendars.months import business_days_elapsed, business_days_in_month, month_bounds, month_of
from calendars.spec import DAY_KEYS

NEW_YORK = "America/New_York"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
NINE_TO_FIVE = {day: [["09:00", "17:00"]] for day in WEEKDAYS}
WITH_LUNCH = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in WEEKDAYS}
NIGHTS = {day: [["22:00", "06:00"]] for day in WEEKDAYS}
LATE_SATURDAY = {"sat": [["20:00", "24:00"]], "sun": [["00:00", "04:00"]]}


def every_day(start: str, end: str) -> dict:
    return {day: [[start, end]] for day in DAY_KEYS}


def calendar(hours: dict, zone: str = NEW_YORK, holidays: tuple = ()) -> WorkCalendar:
    return WorkCalendar.from_spec(zone, hours, holidays)


def instant(text: str, zone: str = NEW_YORK) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


ADD_CASES = [
    # id, hours, zone, holidays, start, minutes, deadline
    ("weekend_is_skipped", NINE_TO_FIVE, NEW_YORK, (), "2026-06-05 16:00", 120,
     "2026-06-08 10:00"),
    ("holiday_is_skipped", NINE_TO_FIVE, NEW_YORK, ("2026-12-25",), "2026-12-24 16:00", 120,
     "2026-12-28 10:00"),
    ("start_before_opening_counts_from_opening", NINE_TO_FIVE, NEW_YORK, (),
     "2026-06-08 07:00", 30, "2026-06-08 09:30"),
    ("start_in_lunch_break_counts_from_afternoon", WITH_LUNCH, NEW_YORK, (),
     "2026-06-08 12:30", 60, "2026-06-08 14:00"),
    ("lunch_break_is_not_counted", WITH_LUNCH, NEW_YORK, (), "2026-06-08 11:00", 120,
     "2026-06-08 14:00"),
    ("deadline_at_window_end_stays_at_window_end", NINE_TO_FIVE, NEW_YORK, (),
     "2026-06-08 16:00", 60, "2026-06-08 17:00"),
    ("a_whole_day_of_work_ends_at_its_close", NINE_TO_FIVE, NEW_YORK, (), "2026-06-08 09:00",
     480, "2026-06-08 17:00"),
    ("a_whole_week_of_work_ends_at_its_close", NINE_TO_FIVE, NEW_YORK, (), "2026-06-05 16:00",
     60 + 2400, "2026-06-12 17:00"),
    ("one_minute_past_window_end_is_next_morning", NINE_TO_FIVE, NEW_YORK, (),
     "2026-06-08 16:00", 61, "2026-06-09 09:01"),
    ("zero_minutes_while_working_is_start", NINE_TO_FIVE, NEW_YORK, (), "2026-06-08 10:00", 0,
     "2026-06-08 10:00"),
    ("zero_minutes_at_window_end_is_next_opening", NINE_TO_FIVE, NEW_YORK, (),
     "2026-06-08 17:00", 0, "2026-06-09 09:00"),
    ("window_to_midnight_continues_next_day", LATE_SATURDAY, NEW_YORK, (), "2026-06-06 23:00",
     120, "2026-06-07 01:00"),
    ("deadline_at_2400_stays_at_midnight", LATE_SATURDAY, NEW_YORK, (), "2026-06-06 23:00", 60,
     "2026-06-07 00:00"),
    ("overnight_window_crosses_midnight", NIGHTS, NEW_YORK, (), "2026-06-08 23:00", 300,
     "2026-06-09 04:00"),
    ("friday_night_window_runs_into_saturday", NIGHTS, NEW_YORK, (), "2026-06-12 23:00", 360,
     "2026-06-13 05:00"),
    ("overnight_window_on_holiday_eve_runs_into_the_holiday", NIGHTS, NEW_YORK,
     ("2026-06-09",), "2026-06-08 22:00", 480, "2026-06-09 06:00"),
    ("holiday_cancels_the_overnight_window_starting_on_it", NIGHTS, NEW_YORK, ("2026-06-09",),
     "2026-06-08 22:00", 540, "2026-06-10 23:00"),
    ("ten_business_days_of_eight_hours", NINE_TO_FIVE, NEW_YORK, (), "2026-06-01 09:00", 4800,
     "2026-06-12 17:00"),
    ("ten_business_days_skip_a_holiday", NINE_TO_FIVE, NEW_YORK, ("2026-07-03",),
     "2026-06-29 09:00", 4800, "2026-07-13 17:00"),
    ("seconds_and_microseconds_are_kept", NINE_TO_FIVE, NEW_YORK, (),
     "2026-06-08 10:15:30.123456", 30, "2026-06-08 10:45:30.123456"),
    ("seconds_before_opening_are_not_counted", NINE_TO_FIVE, NEW_YORK, (),
     "2026-06-08 08:59:59.5", 1, "2026-06-08 09:01"),
    ("fractional_minutes_are_seconds", NINE_TO_FIVE, NEW_YORK, (), "2026-06-08 10:00", 0.5,
     "2026-06-08 10:00:30"),
    ("half_hour_offset_zone_opens_on_its_wall_clock", NINE_TO_FIVE, "Asia/Kolkata", (),
     "2026-06-08T03:00Z", 60, "2026-06-08T04:30Z"),
    # New York springs forward 02:00 -> 03:00 on 2026-03-08 and falls back 02:00 -> 01:00
    # on 2026-11-01.
    ("spring_forward_shortens_window_new_york", every_day("01:00", "04:00"), NEW_YORK, (),
     "2026-03-08T01:00-05:00", 120, "2026-03-08T04:00-04:00"),
    ("spring_forward_minute_after_window_is_next_day_new_york", every_day("01:00", "04:00"),
     NEW_YORK, (), "2026-03-08T01:00-05:00", 121, "2026-03-09T01:01-04:00"),
    ("window_start_in_the_gap_opens_at_the_jump_new_york", every_day("02:30", "05:00"),
     NEW_YORK, (), "2026-03-07 23:00", 0, "2026-03-08T03:00-04:00"),
    ("fall_back_lengthens_window_new_york", every_day("00:00", "03:00"), NEW_YORK, (),
     "2026-11-01T00:00-04:00", 240, "2026-11-01T03:00-05:00"),
    ("overnight_window_into_repeated_hour_counts_overlap_once_new_york",
     {"sat": [["22:00", "01:30"]], "sun": [["01:30", "03:00"]]}, NEW_YORK, (),
     "2026-10-31 22:00", 360, "2026-11-01T03:00-05:00"),
    # London: 01:00 GMT -> 02:00 BST on 2026-03-29, 02:00 BST -> 01:00 GMT on 2026-10-25.
    ("spring_forward_shortens_window_london", every_day("00:30", "03:00"), "Europe/London", (),
     "2026-03-29T00:30Z", 90, "2026-03-29T02:00Z"),
    ("window_in_repeated_hour_runs_first_start_to_last_end_london",
     every_day("01:30", "01:45"), "Europe/London", (), "2026-10-25T00:00Z", 75,
     "2026-10-25T01:45Z"),
    # Berlin: 02:00 CET -> 03:00 CEST on 2026-03-29, 03:00 CEST -> 02:00 CET on 2026-10-25.
    ("spring_forward_shortens_window_berlin", every_day("01:00", "04:00"), "Europe/Berlin", (),
     "2026-03-29T00:00Z", 120, "2026-03-29T02:00Z"),
    ("fall_back_lengthens_window_berlin", every_day("00:00", "04:00"), "Europe/Berlin", (),
     "2026-10-24T22:00Z", 300, "2026-10-25T03:00Z"),
    # Adelaide (+09:30 / +10:30): 03:00 -> 02:00 on 2026-04-05, 02:00 -> 03:00 on 2026-10-04.
    ("fall_back_lengthens_window_adelaide", every_day("00:00", "04:00"), "Australia/Adelaide",
     (), "2026-04-05T00:00+10:30", 300, "2026-04-05T04:00+09:30"),
    ("spring_forward_shortens_window_adelaide", every_day("00:00", "04:00"),
     "Australia/Adelaide", (), "2026-10-04T00:00+09:30", 180, "2026-10-04T04:00+10:30"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "zone", "holidays", "start", "minutes", "deadline"),
    [pytest.param(*case[1:], id=case[0]) for case in ADD_CASES],
)
def test_add_business_minutes(hours, zone, holidays, start, minutes, deadline):
    cal = calendar(hours, zone, holidays)

    due = add_business_minutes(cal, instant(start, zone), minutes)

    assert due == instant(deadline, zone)
    assert due.tzinfo is UTC


BETWEEN_CASES = [
    # id, hours, zone, holidays, start, end, minutes
    ("weekend_is_not_counted", NINE_TO_FIVE, NEW_YORK, (), "2026-06-05 16:00",
     "2026-06-08 10:00", 120),
    ("lunch_break_is_not_counted", WITH_LUNCH, NEW_YORK, (), "2026-06-08 11:00",
     "2026-06-08 14:00", 120),
    ("end_before_start_is_zero", NINE_TO_FIVE, NEW_YORK, (), "2026-06-08 14:00",
     "2026-06-08 11:00", 0),
    ("seconds_count_as_fractions", NINE_TO_FIVE, NEW_YORK, (), "2026-06-08 09:00",
     "2026-06-08 09:00:30", 0.5),
    ("overnight_windows_and_a_holiday", NIGHTS, NEW_YORK, ("2026-06-09",), "2026-06-08 00:00",
     "2026-06-11 00:00", 480 + 120),
    ("spring_forward_day_new_york", every_day("01:00", "04:00"), NEW_YORK, (),
     "2026-03-08 00:00", "2026-03-09 00:00", 120),
    ("fall_back_day_new_york", every_day("00:00", "03:00"), NEW_YORK, (),
     "2026-11-01T00:00-04:00", "2026-11-02 00:00", 240),
    ("overnight_overlap_from_a_repeated_hour_counts_once_new_york",
     {"sat": [["22:00", "01:30"]], "sun": [["01:30", "03:00"]]}, NEW_YORK, (),
     "2026-10-31 12:00", "2026-11-01 12:00", 360),
    ("overlap_from_a_repeated_hour_counts_once_new_york",
     {day: [["00:00", "01:30"], ["01:30", "03:00"]] for day in DAY_KEYS}, NEW_YORK, (),
     "2026-11-01T00:00-04:00", "2026-11-02 00:00", 240),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "zone", "holidays", "start", "end", "minutes"),
    [pytest.param(*case[1:], id=case[0]) for case in BETWEEN_CASES],
)
def test_business_minutes_between(hours, zone, holidays, start, end, minutes):
    cal = calendar(hours, zone, holidays)

    assert business_minutes_between(cal, instant(start, zone), instant(end, zone)) == minutes


def test_business_seconds_between_counts_seconds():
    cal = calendar(NINE_TO_FIVE)

    seconds = business_seconds_between(cal, instant("2026-06-08 16:59:58.5"), instant("2026-06-09"))

    assert seconds == 1.5


WORKING_CASES = [
    # id, hours, holidays, instant, working
    ("window_start_is_working", NINE_TO_FIVE, (), "2026-06-08 09:00", True),
    ("window_end_is_not_working", NINE_TO_FIVE, (), "2026-06-08 17:00", False),
    ("last_microsecond_of_window_is_working", NINE_TO_FIVE, (), "2026-06-08 16:59:59.999999",
     True),
    ("lunch_break_is_not_working", WITH_LUNCH, (), "2026-06-08 12:30", False),
    ("saturday_is_not_working", NINE_TO_FIVE, (), "2026-06-06 12:00", False),
    ("holiday_is_not_working", NINE_TO_FIVE, ("2026-06-08",), "2026-06-08 12:00", False),
    ("overnight_window_works_after_midnight", NIGHTS, (), "2026-06-09 03:00", True),
    ("overnight_window_works_on_a_holiday_morning", NIGHTS, ("2026-06-09",),
     "2026-06-09 03:00", True),
    ("holiday_eve_cancels_nothing_after_midnight_of_its_own", NIGHTS, ("2026-06-08",),
     "2026-06-09 03:00", False),
    ("window_to_midnight_works_in_its_last_second", LATE_SATURDAY, (), "2026-06-06 23:59:59",
     True),
    ("window_from_midnight_works_at_midnight", LATE_SATURDAY, (), "2026-06-07 00:00", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "holidays", "moment", "working"),
    [pytest.param(*case[1:], id=case[0]) for case in WORKING_CASES],
)
def test_is_working(hours, holidays, moment, working):
    assert is_working(calendar(hours, holidays=holidays), instant(moment)) is working


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        pytest.param("2026-06-08 10:00:01", "2026-06-08 10:00:01", id="working_time_is_itself"),
        pytest.param("2026-06-08 12:00", "2026-06-08 13:00", id="lunch_break_waits_for_afternoon"),
        pytest.param("2026-06-05 18:00", "2026-06-08 09:00", id="friday_evening_waits_for_monday"),
    ],
)
def test_next_opening(moment, opening):
    assert next_opening(calendar(WITH_LUNCH), instant(moment)) == instant(opening)


NAIVE = datetime(2026, 6, 8, 10, 0)
AWARE = instant("2026-06-08 10:00")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda cal: add_business_minutes(cal, NAIVE, 10), id="add_business_minutes"),
        pytest.param(lambda cal: next_opening(cal, NAIVE), id="next_opening"),
        pytest.param(lambda cal: is_working(cal, NAIVE), id="is_working"),
        pytest.param(lambda cal: business_minutes_between(cal, NAIVE, AWARE), id="between_start"),
        pytest.param(lambda cal: business_minutes_between(cal, AWARE, NAIVE), id="between_end"),
        pytest.param(lambda cal: month_of(cal, NAIVE), id="month_of"),
        pytest.param(lambda cal: business_days_elapsed(cal, NAIVE), id="business_days_elapsed"),
    ],
)
def test_naive_instant_is_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(calendar(NINE_TO_FIVE))


@pytest.mark.parametrize("minutes", [-1, -0.5, math.nan, math.inf])
def test_negative_or_non_finite_minutes_are_rejected(minutes):
    with pytest.raises(ValueError, match="minutes"):
        add_business_minutes(calendar(NINE_TO_FIVE), AWARE, minutes)


def test_calendar_without_windows_never_reaches_a_deadline():
    closed = calendar({})

    with pytest.raises(ValueError, match="no working windows"):
        add_business_minutes(closed, AWARE, 1)
    with pytest.raises(ValueError, match="no working windows"):
        next_opening(closed, AWARE)
    assert business_minutes_between(closed, AWARE, AWARE + timedelta(days=30)) == 0


def test_calendar_closed_for_years_gives_up_instead_of_looping():
    start = datetime(2026, 1, 1).date()
    holidays = tuple(start + timedelta(days=n) for n in range(11 * 366))

    with pytest.raises(ValueError, match="no deadline within"):
        add_business_minutes(calendar(NINE_TO_FIVE, holidays=holidays), AWARE, 1)


SPEC_ERRORS = [
    # id, timezone, working_hours, holidays, field, message fragment
    ("unknown_zone", "Mars/Olympus_Mons", NINE_TO_FIVE, (), "timezone", "Mars/Olympus_Mons"),
    ("empty_zone", "", NINE_TO_FIVE, (), "timezone", "IANA"),
    ("zone_folder_is_not_a_zone", "America", NINE_TO_FIVE, (), "timezone", "America"),
    ("unknown_day", NEW_YORK, {"monday": [["09:00", "17:00"]]}, (), "working_hours",
     "unknown day 'monday'"),
    ("hours_not_a_mapping", NEW_YORK, [["09:00", "17:00"]], (), "working_hours", "keyed by day"),
    ("window_not_a_pair", NEW_YORK, {"mon": [["09:00"]]}, (), "working_hours",
     "mon: a window is a pair"),
    ("time_like_9am", NEW_YORK, {"mon": [["9am", "17:00"]]}, (), "working_hours",
     "mon: '9am' is not a time"),
    ("hour_25", NEW_YORK, {"tue": [["09:00", "25:00"]]}, (), "working_hours",
     "tue: '25:00' is not a time"),
    ("minute_60", NEW_YORK, {"wed": [["12:60", "17:00"]]}, (), "working_hours",
     "wed: '12:60' is not a time"),
    ("start_at_2400", NEW_YORK, {"thu": [["24:00", "06:00"]]}, (), "working_hours",
     "thu: a window cannot start at 24:00"),
    ("zero_length_window", NEW_YORK, {"fri": [["09:00", "09:00"]]}, (), "working_hours",
     "fri: window 09:00–09:00 is empty"),
    ("windows_overlap", NEW_YORK, {"tue": [["09:00", "12:30"], ["12:00", "17:00"]]}, (),
     "working_hours", "tue: window 12:00–17:00 overlaps 09:00–12:30"),
    ("overnight_window_overlaps_same_day", NEW_YORK, {"tue": [["20:00", "02:00"],
     ["21:00", "23:00"]]}, (), "working_hours", "tue: window 21:00–23:00 overlaps 20:00–02:00"),
    ("overnight_window_spills_into_next_day", NEW_YORK,
     {"mon": [["22:00", "06:00"]], "tue": [["05:00", "09:00"]]}, (), "working_hours",
     "mon: window 22:00–06:00 runs into tue's window 05:00–09:00"),
    ("sunday_night_spills_into_monday", NEW_YORK,
     {"sun": [["23:00", "01:00"]], "mon": [["00:30", "09:00"]]}, (), "working_hours",
     "sun: window 23:00–01:00 runs into mon's window 00:30–09:00"),
    ("impossible_date", NEW_YORK, NINE_TO_FIVE, ("2026-02-30",), "holidays",
     "'2026-02-30' is not a real date"),
    ("malformed_date", NEW_YORK, NINE_TO_FIVE, ("25/12/2026",), "holidays",
     "'25/12/2026' is not a date"),
    ("single_string_instead_of_list", NEW_YORK, NINE_TO_FIVE, "2026-12-25", "holidays",
     "list of dates"),
    ("datetime_is_not_a_date", NEW_YORK, NINE_TO_FIVE, (datetime(2026, 12, 25),), "holidays",
     "not a date"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("timezone", "working_hours", "holidays", "field", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in SPEC_ERRORS],
)
def test_from_spec_rejects_and_names_the_field(timezone, working_hours, holidays, field, message):
    with pytest.raises(CalendarSpecError) as caught:
        WorkCalendar.from_spec(timezone, working_hours, holidays)

    assert caught.value.field == field
    assert message in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_from_spec_accepts_touching_windows_and_round_the_clock_days():
    cal = WorkCalendar.from_spec(
        NEW_YORK,
        {"mon": [["12:00", "13:00"], ["09:00", "12:00"]], "sat": [["00:00", "24:00"]],
         "sun": [["00:00", "24:00"]]},
    )  # fmt: skip

    assert cal.windows[0] == ((540, 720), (720, 780))
    assert cal.windows[5] == ((0, 1440),)


def test_overnight_window_is_held_past_1440_on_its_start_day():
    cal = calendar({"fri": [["22:00", "06:00"]]})

    assert cal.windows[4] == ((1320, 1800),)


def test_to_spec_gives_back_the_rest_shape():
    cal = WorkCalendar.from_spec(
        NEW_YORK,
        {"mon": [["13:00", "18:00"], ["09:00", "12:00"]], "fri": [["22:00", "06:00"]],
         "sat": [["20:00", "24:00"]]},
        ["2026-12-25", "2026-01-01"],
    )  # fmt: skip

    assert cal.to_spec() == {
        "timezone": NEW_YORK,
        "working_hours": {
            "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
            "fri": [["22:00", "06:00"]],
            "sat": [["20:00", "24:00"]],
        },
        "holidays": ["2026-01-01", "2026-12-25"],
    }
    assert WorkCalendar.from_spec(**cal.to_spec()) == cal


def test_calendar_is_frozen_and_hashable_whatever_its_cache_holds():
    cal = calendar(NINE_TO_FIVE, holidays=("2026-12-25",))
    twin = calendar(NINE_TO_FIVE, holidays=("2026-12-25",))
    add_business_minutes(cal, AWARE, 4800)  # fills the cache of one of them only

    assert cal == twin
    assert hash(cal) == hash(twin)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.timezone = "UTC"


@pytest.mark.parametrize(
    ("zone", "year", "month", "start", "end"),
    [
        pytest.param("Pacific/Auckland", 2026, 1, "2025-12-31T11:00Z", "2026-01-31T11:00Z",
                     id="auckland_summer"),
        pytest.param("Pacific/Auckland", 2026, 4, "2026-03-31T11:00Z", "2026-04-30T12:00Z",
                     id="auckland_month_with_fall_back"),
        pytest.param("Pacific/Kiritimati", 2026, 1, "2025-12-31T10:00Z", "2026-01-31T10:00Z",
                     id="kiritimati_plus_14"),
        pytest.param("America/Los_Angeles", 2026, 3, "2026-03-01T08:00Z", "2026-04-01T07:00Z",
                     id="los_angeles_month_with_spring_forward"),
        pytest.param(NEW_YORK, 2026, 12, "2026-12-01T05:00Z", "2027-01-01T05:00Z",
                     id="december_ends_next_year"),
    ],
)  # fmt: skip
def test_month_bounds_are_local_midnights_in_utc(zone, year, month, start, end):
    bounds = month_bounds(calendar({}, zone), year, month)

    assert bounds == (instant(start), instant(end))
    assert all(bound.tzinfo is UTC for bound in bounds)


@pytest.mark.parametrize(
    ("zone", "moment", "month"),
    [
        pytest.param("Pacific/Auckland", "2026-01-31T12:00Z", (2026, 2), id="auckland_ahead"),
        pytest.param("America/Los_Angeles", "2026-01-31T12:00Z", (2026, 1), id="la_same"),
        pytest.param("America/Los_Angeles", "2026-03-01T07:59Z", (2026, 2), id="la_behind"),
    ],
)
def test_month_of_reads_the_calendar_wall_clock(zone, moment, month):
    assert month_of(calendar({}, zone), instant(moment)) == month


def test_month_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="month"):
        month_bounds(calendar({}), 2026, 13)


@pytest.mark.parametrize(
    ("hours", "holidays", "year", "month", "days"),
    [
        pytest.param(NINE_TO_FIVE, (), 2026, 2, 20, id="february_weekdays"),
        pytest.param(NINE_TO_FIVE, (), 2026, 12, 23, id="december_weekdays"),
        pytest.param(NINE_TO_FIVE, ("2026-12-24", "2026-12-25"), 2026, 12, 21,
                     id="weekday_holidays_are_removed"),
        pytest.param(NINE_TO_FIVE, ("2026-12-26",), 2026, 12, 23,
                     id="saturday_holiday_changes_nothing"),
        pytest.param(NIGHTS, ("2026-12-31",), 2026, 12, 22, id="night_windows_count_start_day"),
    ],
)  # fmt: skip
def test_business_days_in_month(hours, holidays, year, month, days):
    assert business_days_in_month(calendar(hours, holidays=holidays), year, month) == days


DECEMBER = calendar(NINE_TO_FIVE, holidays=("2026-12-24", "2026-12-25"))


@pytest.mark.parametrize(
    ("moment", "elapsed"),
    [
        pytest.param("2026-12-01 00:00", 0.0, id="month_start"),
        pytest.param("2026-12-01 09:00", 0.0, id="first_opening"),
        pytest.param("2026-12-01 13:00", 0.5, id="half_the_first_day"),
        pytest.param("2026-12-02 13:00", 1.5, id="half_the_second_day"),
        pytest.param("2026-12-05 12:00", 4.0, id="saturday_counts_the_week"),
        pytest.param("2026-12-24 12:00", 17.0, id="holiday_adds_nothing"),
        pytest.param("2026-12-31 17:00", 21.0, id="last_window_closed"),
        pytest.param("2026-12-31 23:59:59.999999", 21.0, id="month_end"),
    ],
)
def test_business_days_elapsed(moment, elapsed):
    assert business_days_elapsed(DECEMBER, instant(moment)) == elapsed


def test_business_days_elapsed_reaches_the_month_count_at_its_end():
    _, end = month_bounds(DECEMBER, 2026, 12)

    last_instant = end - timedelta(microseconds=1)

    assert business_days_elapsed(DECEMBER, last_instant) == business_days_in_month(
        DECEMBER, 2026, 12
    )
    assert business_days_elapsed(DECEMBER, end) == 0.0
