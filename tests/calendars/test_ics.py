"""Reading holidays from an iCalendar file: all-day events give dates, repeating ones are
expanded within a bounded window, everything else is ignored with its reason, and a file
that is not one is refused with a message, whatever its bytes."""

import codecs
import time
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendars.ics import IcsRefused, holidays_from_ics, read_upload

TODAY = date(2026, 12, 4)  # the window is 2026-01-01 .. 2028-12-31
MB = 1024 * 1024


def ics(*events: str, head: str = "") -> bytes:
    """A VCALENDAR around the given VEVENT bodies, with CRLF line ends as RFC 5545 says."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//slaops tests//EN"]
    lines += [line.strip() for line in head.strip().splitlines() if line.strip()]
    for number, body in enumerate(events):
        lines.append("BEGIN:VEVENT")
        if "UID:" not in body:
            lines.append(f"UID:event-{number}@tests")
        lines += [line.strip() for line in body.strip().splitlines() if line.strip()]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def read(data: bytes, **caps):
    caps = {"max_bytes": MB, "max_dates": 1000, **caps}
    return holidays_from_ics(data, today=TODAY, **caps)


def dates(data: bytes, **caps) -> list[str]:
    return [holiday.day.isoformat() for holiday in read(data, **caps).holidays]


def reasons(data: bytes) -> dict[str, str]:
    return {event.name: event.reason for event in read(data).ignored}


# --- all-day events ----------------------------------------------------------------------


def test_an_all_day_event_is_one_holiday_with_its_name():
    found = read(ics("SUMMARY:Christmas Day\nDTSTART;VALUE=DATE:20261225"))

    assert [(h.day, h.name) for h in found.holidays] == [(date(2026, 12, 25), "Christmas Day")]
    assert found.ignored == ()


def test_dtend_is_exclusive_so_a_three_day_event_gives_three_dates():
    data = ics("SUMMARY:Closure\nDTSTART;VALUE=DATE:20261228\nDTEND;VALUE=DATE:20261231")

    assert dates(data) == ["2026-12-28", "2026-12-29", "2026-12-30"]


def test_an_end_on_the_start_day_still_gives_that_day():
    data = ics("SUMMARY:Odd export\nDTSTART;VALUE=DATE:20261228\nDTEND;VALUE=DATE:20261228")

    assert dates(data) == ["2026-12-28"]


def test_duration_counts_whole_days_and_a_part_day_as_one():
    two_days = ics("SUMMARY:Two\nDTSTART;VALUE=DATE:20261228\nDURATION:P2D")
    part_day = ics("SUMMARY:Part\nDTSTART;VALUE=DATE:20261228\nDURATION:PT36H")

    assert dates(two_days) == ["2026-12-28", "2026-12-29"]
    assert dates(part_day) == ["2026-12-28", "2026-12-29"]


def test_a_one_off_event_counts_whatever_its_year():
    data = ics("SUMMARY:Old\nDTSTART;VALUE=DATE:20191225", "SUMMARY:Far\nDTSTART:20350101")

    assert dates(data) == ["2019-12-25", "2035-01-01"]


def test_outlook_midnight_to_midnight_all_day_events_count():
    data = ics(
        """SUMMARY:Boxing Day
        DTSTART;TZID=Europe/London:20261226T000000
        DTEND;TZID=Europe/London:20261228T000000
        X-MICROSOFT-CDO-ALLDAYEVENT:TRUE"""
    )

    assert dates(data) == ["2026-12-26", "2026-12-27"]


def test_the_same_date_twice_is_one_holiday_naming_both_events():
    data = ics(
        "SUMMARY:Christmas Day\nDTSTART;VALUE=DATE:20261225",
        "SUMMARY:Office closed\nDTSTART;VALUE=DATE:20261225",
        "SUMMARY:Christmas Day\nDTSTART;VALUE=DATE:20261225",
    )

    assert [(h.day.isoformat(), h.name) for h in read(data).holidays] == [
        ("2026-12-25", "Christmas Day / Office closed")
    ]


def test_a_date_named_by_many_events_names_three_and_counts_the_rest():
    data = ics(*(f"SUMMARY:Event {n}\nDTSTART;VALUE=DATE:20261225" for n in range(5)))

    [holiday] = read(data).holidays
    assert holiday.name == "Event 0 / Event 1 / Event 2 / and 2 more"


def test_names_are_trimmed_and_an_untitled_event_is_named_so():
    data = ics(
        "SUMMARY:New\\n  Year\nDTSTART;VALUE=DATE:20270101",  # an escaped newline
        "DTSTART;VALUE=DATE:20270102",
        f"SUMMARY:{'x' * 500}\nDTSTART;VALUE=DATE:20270103",
    )

    names = [holiday.name for holiday in read(data).holidays]
    assert names == ["New Year", "(untitled)", "x" * 120]


def test_holidays_come_out_in_date_order():
    data = ics("DTSTART;VALUE=DATE:20270101", "DTSTART;VALUE=DATE:20261225")

    assert dates(data) == ["2026-12-25", "2027-01-01"]


# --- repeating events --------------------------------------------------------------------


def test_a_yearly_event_is_expanded_from_this_year_to_two_years_on():
    found = read(ics("SUMMARY:Christmas\nDTSTART;VALUE=DATE:20201225\nRRULE:FREQ=YEARLY"))

    assert [h.day.isoformat() for h in found.holidays] == [
        "2026-12-25",
        "2027-12-25",
        "2028-12-25",
    ]
    assert (found.repeats_from, found.repeats_to) == (date(2026, 1, 1), date(2028, 12, 31))


def test_numbered_weekdays_give_thanksgiving_and_memorial_day():
    data = ics(
        "SUMMARY:Thanksgiving\nDTSTART;VALUE=DATE:20221124\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        "SUMMARY:Memorial Day\nDTSTART;VALUE=DATE:20220530\nRRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO",
    )

    assert dates(data) == [
        "2026-05-25",
        "2026-11-26",
        "2027-05-31",
        "2027-11-25",
        "2028-05-29",
        "2028-11-23",
    ]


def test_count_is_counted_from_dtstart_even_before_the_window():
    data = ics("DTSTART;VALUE=DATE:20250704\nRRULE:FREQ=YEARLY;COUNT=3")

    assert dates(data) == ["2026-07-04", "2027-07-04"]  # 2025 is the first of the three


def test_until_ends_the_series():
    data = ics("DTSTART;VALUE=DATE:20260704\nRRULE:FREQ=YEARLY;UNTIL=20270704")

    assert dates(data) == ["2026-07-04", "2027-07-04"]


def test_exdate_removes_an_occurrence_and_rdate_adds_one():
    data = ics(
        """DTSTART;VALUE=DATE:20260101
        RRULE:FREQ=YEARLY
        EXDATE;VALUE=DATE:20270101
        RDATE;VALUE=DATE:20270102"""
    )

    assert dates(data) == ["2026-01-01", "2027-01-02", "2028-01-01"]


def test_an_override_moves_one_occurrence_and_a_cancelled_override_drops_one():
    master = "UID:office\nSUMMARY:Founders day\nDTSTART;VALUE=DATE:20260315\nRRULE:FREQ=YEARLY"
    moved = "UID:office\nRECURRENCE-ID;VALUE=DATE:20270315\nDTSTART;VALUE=DATE:20270316"
    cancelled = "UID:office\nRECURRENCE-ID;VALUE=DATE:20280315\nSTATUS:CANCELLED"
    data = ics(master, moved + "\nSUMMARY:Founders day (moved)", cancelled)

    found = read(data)
    assert [(h.day.isoformat(), h.name) for h in found.holidays] == [
        ("2026-03-15", "Founders day"),
        ("2027-03-16", "Founders day (moved)"),
    ]


def test_a_multi_day_repeating_event_gives_each_day_of_each_occurrence():
    data = ics("DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261226\nRRULE:FREQ=YEARLY")

    assert dates(data) == [
        "2026-12-24",
        "2026-12-25",
        "2027-12-24",
        "2027-12-25",
        "2028-12-24",
        "2028-12-25",
    ]


def test_daily_weekly_and_monthly_rules():
    data = ics(
        "SUMMARY:Closure\nDTSTART;VALUE=DATE:20261228\nRRULE:FREQ=DAILY;COUNT=3",
        "SUMMARY:Fridays\nDTSTART;VALUE=DATE:20270101\nRRULE:FREQ=WEEKLY;COUNT=2",
        "SUMMARY:Two a week\nDTSTART;VALUE=DATE:20270201\n"
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4",
        "SUMMARY:Month end\nDTSTART;VALUE=DATE:20270131\n"
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20270331",
        "SUMMARY:First weekday\nDTSTART;VALUE=DATE:20270503\n"
        "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1;COUNT=2",
    )

    assert dates(data) == [
        "2026-12-28",
        "2026-12-29",
        "2026-12-30",
        "2027-01-01",
        "2027-01-08",
        "2027-01-31",
        "2027-02-01",
        "2027-02-03",
        "2027-02-15",
        "2027-02-17",
        "2027-02-28",
        "2027-03-31",
        "2027-05-03",
        "2027-06-01",
    ]


def test_a_repeating_event_with_nothing_in_the_window_is_ignored_saying_so():
    data = ics("SUMMARY:Long gone\nDTSTART;VALUE=DATE:20100101\nRRULE:FREQ=YEARLY;COUNT=2")

    assert reasons(data) == {"Long gone": "it repeats, but not between 2026-01-01 and 2028-12-31"}


def test_a_rule_that_never_matches_is_ignored_and_cheap():
    events = [
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31",
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=WEEKLY;BYSETPOS=9",
        "DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    ]
    data = ics(*(f"SUMMARY:Never {i}\n{body}" for i, body in enumerate(events)))

    began = time.perf_counter()
    found = read(data)
    elapsed = time.perf_counter() - began

    # DTSTART (1 January 2026) is the first occurrence, whatever the rule.
    assert [h.day.isoformat() for h in found.holidays] == ["2026-01-01"]
    assert elapsed < 2  # dateutil alone walks each of these to the year 9999


def test_a_rule_from_long_ago_is_ignored_rather_than_walked_to_today():
    data = ics("SUMMARY:Ancient\nDTSTART;VALUE=DATE:00010101\nRRULE:FREQ=DAILY;COUNT=1000000")

    assert "needs more than 5,000 periods expanded" in reasons(data)["Ancient"]


def test_without_count_a_rule_from_long_ago_starts_at_the_window():
    data = ics("DTSTART;VALUE=DATE:00010101\nRRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20260111")

    assert dates(data) == ["2026-01-04", "2026-01-11"]  # DTSTART is outside the window


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=HOURLY", "it repeats within a day"),
        ("FREQ=DAILY;BYHOUR=9", "it repeats within a day"),
        ("FREQ=YEARLY;RSCALE=CHINESE", "uses RSCALE"),
        ("FREQ=WEEKLY;BYDAY=2MO", "a numbered BYDAY"),
        ("FREQ=MONTHLY;BYYEARDAY=100", "BYYEARDAY belong to yearly rules"),
        ("FREQ=YEARLY;BYMONTH=5L", "names no month"),
        ("FREQ=YEARLY;INTERVAL=5000", "INTERVAL=5000 is out of range"),
        ("FREQ=YEARLY;COUNT=2;UNTIL=20281231", "both COUNT and UNTIL"),
        ("FREQ=YEARLY;BYDAY=XX", "cannot be read"),
    ],
)
def test_rules_an_all_day_holiday_cannot_follow_are_ignored_with_the_reason(rule, reason):
    data = ics(f"SUMMARY:Odd\nDTSTART;VALUE=DATE:20260101\nRRULE:{rule}")

    assert reason in reasons(data)["Odd"]
    assert dates(data) == []


# --- what is ignored ---------------------------------------------------------------------


def test_timed_events_are_ignored_with_the_reason_and_their_start():
    found = read(
        ics(
            "SUMMARY:Team lunch\nDTSTART:20261203T120000Z\nDTEND:20261203T130000Z",
            "SUMMARY:Holiday\nDTSTART;VALUE=DATE:20261225",
        )
    )

    assert [h.name for h in found.holidays] == ["Holiday"]
    [lunch] = found.ignored
    assert (lunch.name, lunch.start) == ("Team lunch", "2026-12-03T12:00:00+00:00")
    assert lunch.reason == "it is a timed event (at 12:00), not an all-day one"


def test_cancelled_events_are_ignored():
    data = ics("SUMMARY:Called off\nSTATUS:CANCELLED\nDTSTART;VALUE=DATE:20261224")

    assert reasons(data) == {"Called off": "it is cancelled (STATUS:CANCELLED)"}
    assert dates(data) == []


def test_events_without_a_readable_start_are_ignored():
    data = ics("SUMMARY:No start", "SUMMARY:Bad start\nDTSTART;VALUE=DATE:2026XX25")

    found = reasons(data)
    assert found["No start"] == "it has no start (DTSTART)"
    assert found["Bad start"].startswith("its DTSTART cannot be read")


def test_to_dos_are_listed_as_ignored_and_time_zones_skipped():
    head = """BEGIN:VTODO
    UID:todo-1
    SUMMARY:Send the card
    DUE;VALUE=DATE:20261220
    END:VTODO"""
    found = read(ics("SUMMARY:Holiday\nDTSTART;VALUE=DATE:20261225", head=head))

    assert [(e.name, e.reason) for e in found.ignored] == [
        ("Send the card", "a to-do (VTODO), not an event")
    ]


# --- real-world exports ------------------------------------------------------------------

GOOGLE_EXPORT = """BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Holidays in United States
X-WR-TIMEZONE:America/New_York
X-WR-CALDESC:Holidays and Observances in United States
BEGIN:VTIMEZONE
TZID:America/New_York
X-LIC-LOCATION:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261225
DTEND;VALUE=DATE:20261226
DTSTAMP:20261201T120000Z
UID:20261225_1d6s5ol6k8fvrq0b1m2q0d9c3c@google.com
CLASS:PUBLIC
CREATED:20240101T000000Z
DESCRIPTION:Public holiday
LAST-MODIFIED:20240101T000000Z
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Christmas Day
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20270101
DTEND;VALUE=DATE:20270102
DTSTAMP:20261201T120000Z
UID:20270101_60o30dr46oo30c1g60o30dr4ck@google.com
CLASS:PUBLIC
DESCRIPTION:Public holiday
STATUS:CONFIRMED
SUMMARY:New Year's Day
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=America/New_York:20261224T170000
DTEND;TZID=America/New_York:20261224T190000
DTSTAMP:20261201T120000Z
UID:party-2026@google.com
SUMMARY:Office party
STATUS:CONFIRMED
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261231
DTEND;VALUE=DATE:20270101
DTSTAMP:20261201T120000Z
UID:20261231_60o30dr46oo30c1g60o30dr4ck@google.com
DESCRIPTION:Observance\\nTo hide observances\\, go to Google Calendar Settings
SUMMARY:New Year's Eve
TRANSP:TRANSPARENT
END:VEVENT
END:VCALENDAR
"""

OUTLOOK_EXPORT = """BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
VERSION:2.0
METHOD:PUBLISH
X-MS-OLK-FORCEINSPECTOROPEN:TRUE
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
CLASS:PUBLIC
CREATED:20260110T101500Z
DTEND;VALUE=DATE:20261004
DTSTAMP:20260110T101500Z
DTSTART;VALUE=DATE:20261003
LAST-MODIFIED:20260110T101500Z
PRIORITY:5
SEQUENCE:0
SUMMARY;LANGUAGE=de-de:Tag der Deutschen Einheit
TRANSP:TRANSPARENT
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE
X-MICROSOFT-CDO-BUSYSTATUS:FREE
END:VEVENT
BEGIN:VEVENT
CLASS:PUBLIC
DTEND;TZID="W. Europe Standard Time":20261227T000000
DTSTART;TZID="W. Europe Standard Time":20261226T000000
RRULE:FREQ=YEARLY;BYMONTHDAY=26;BYMONTH=12
SUMMARY;LANGUAGE=de-de:Zweiter Weihnachtsfeiertag
UID:040000008200E00074C5B7101A82E00800000000B1C2D3E4F5A6
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE
END:VEVENT
BEGIN:VEVENT
DTEND;TZID="W. Europe Standard Time":20261208T103000
DTSTART;TZID="W. Europe Standard Time":20261208T093000
SUMMARY:Jahresplanung
UID:040000008200E00074C5B7101A82E00800000000C2D3E4F5A6B7
BEGIN:VALARM
TRIGGER:-PT15M
ACTION:DISPLAY
DESCRIPTION:Reminder
END:VALARM
END:VEVENT
END:VCALENDAR
"""


def test_a_google_calendar_export_gives_its_holidays_and_ignores_the_party():
    found = read(GOOGLE_EXPORT.replace("\n", "\r\n").encode())

    assert [(h.day.isoformat(), h.name) for h in found.holidays] == [
        ("2026-12-25", "Christmas Day"),
        ("2026-12-31", "New Year's Eve"),
        ("2027-01-01", "New Year's Day"),
    ]
    assert [(e.name, e.start) for e in found.ignored] == [
        ("Office party", "2026-12-24T17:00:00-05:00")
    ]


def test_an_outlook_export_with_a_windows_zone_gives_its_holidays():
    found = read(OUTLOOK_EXPORT.replace("\n", "\r\n").encode("utf-8-sig"))  # with a BOM

    assert [(h.day.isoformat(), h.name) for h in found.holidays] == [
        ("2026-10-03", "Tag der Deutschen Einheit"),
        ("2026-12-26", "Zweiter Weihnachtsfeiertag"),
        ("2027-12-26", "Zweiter Weihnachtsfeiertag"),
        ("2028-12-26", "Zweiter Weihnachtsfeiertag"),
    ]
    assert [e.name for e in found.ignored] == ["Jahresplanung"]


def test_a_file_in_utf16_with_its_byte_order_mark_is_read():
    data = codecs.BOM_UTF16_LE + ics("SUMMARY:Fête\nDTSTART:20260714").decode().encode("utf-16-le")

    assert [h.name for h in read(data).holidays] == ["Fête"]


def test_lf_line_ends_are_read_too():
    data = ics("SUMMARY:Christmas\nDTSTART;VALUE=DATE:20261225").replace(b"\r\n", b"\n")

    assert dates(data) == ["2026-12-25"]


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"  \r\n ", "The file is empty."),
        (b"hello, world\nthis is a CSV,file\n", "is not an iCalendar (.ics) file"),
        (b"BEGIN:VEVENT\r\nDTSTART:20261225\r\nEND:VEVENT\r\n", "holds no calendar"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "holds no calendar"),
        (b"BEGIN:VCALENDAR\x00\r\nEND:VCALENDAR\r\n", "holds NUL bytes"),
        (bytes(range(256)) * 8, "is not UTF-8 text"),
        ("BEGIN:VCALENDAR\r\nSUMMARY:Fête\r\n".encode("latin-1"), "byte 27 is not"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "byte 1 is not"),
        (b"\x00\x01\x02\x03" * 100, "holds NUL bytes"),
    ],
)
def test_what_is_not_an_icalendar_file_is_refused_saying_why(data, message):
    with pytest.raises(IcsRefused) as refused:
        read(data)

    assert message in refused.value.message


def test_a_file_over_the_cap_is_refused():
    data = ics("DTSTART;VALUE=DATE:20261225")

    with pytest.raises(IcsRefused, match="larger than 100 bytes"):
        read(data, max_bytes=100)


def test_an_upload_over_the_cap_is_refused_before_it_is_read():
    class Upload:
        size = 2 * MB

        def read(self, *args):
            raise AssertionError("read a file it had already refused")

    with pytest.raises(IcsRefused, match="larger than 1 MB"):
        read_upload(Upload(), max_bytes=MB)


def test_more_dates_than_one_import_adds_are_refused():
    data = ics(*(f"DTSTART;VALUE=DATE:2027{m:02d}{d:02d}" for m in (1, 2) for d in range(1, 7)))

    with pytest.raises(IcsRefused, match="more than 10 holiday dates"):
        read(data, max_dates=10)


def test_an_event_lasting_a_century_is_refused_without_listing_its_days():
    data = ics("DTSTART;VALUE=DATE:19000101\nDTEND;VALUE=DATE:29990101")

    began = time.perf_counter()
    with pytest.raises(IcsRefused, match="more than 1,000 holiday dates"):
        read(data)
    assert time.perf_counter() - began < 1


def test_the_same_dates_over_and_over_are_refused_too():
    data = ics(*["DTSTART;VALUE=DATE:20270101\nDTEND;VALUE=DATE:20270111"] * 30)

    with pytest.raises(IcsRefused, match="more than 10 holiday dates"):
        read(data, max_dates=10)  # ten distinct dates, given three hundred times


def test_repeating_events_needing_too_much_work_refuse_the_file():
    data = ics(*["DTSTART;VALUE=DATE:20260101\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"] * 3)

    with pytest.raises(IcsRefused, match="more than 2,000 periods expanded"):
        read(data, max_periods=2000)


VALID = ics(
    "SUMMARY:Christmas\nDTSTART;VALUE=DATE:20201225\nRRULE:FREQ=YEARLY;BYMONTH=12",
    "SUMMARY:Closure\nDTSTART;VALUE=DATE:20261228\nDTEND;VALUE=DATE:20261231",
    "SUMMARY:Lunch\nDTSTART:20261203T120000Z",
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=600),
        st.tuples(st.integers(0, len(VALID)), st.binary(max_size=40)).map(
            lambda cut: VALID[: cut[0]] + cut[1] + VALID[cut[0] :]
        ),
        st.tuples(st.integers(0, len(VALID)), st.integers(0, len(VALID))).map(
            lambda cut: VALID[: min(cut)] + VALID[max(cut) :]
        ),
        st.text(alphabet="BEGIN:VCALENDAREVTDSRUL=;0123456789\r\n -", max_size=400).map(str.encode),
    )
)
def test_any_bytes_give_holidays_or_a_refusal_and_nothing_else(data):
    try:
        found = read(data)
    except IcsRefused as refused:
        assert refused.message
    else:
        assert all(isinstance(holiday.day, date) for holiday in found.holidays)
