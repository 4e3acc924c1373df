"""The calendar pages: anyone signed in reads every calendar; the deadline calculator
answers in the calendar's zone and in UTC, by htmx or as a plain form; the admin
refuses what the API refuses."""

import html
import re
from datetime import UTC, datetime

import pytest
import time_machine

from calendars.models import BusinessCalendar
from tests.factories import CalendarFactory

pytestmark = pytest.mark.django_db


ROLES = ["marketing", "sales", "sales_manager", "executive", "admin"]
HTMX = {"HTTP_HX_REQUEST": "true"}
# Friday 4 December 2026, 15:00 in New York (20:00 UTC): open.
FRIDAY_AFTERNOON = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
# Saturday 5 December 2026, 12:00 in New York: closed.
SATURDAY_NOON = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)


@pytest.fixture
def signed_in(client, make_user):
    def sign_in(role: str = "sales"):
        client.force_login(make_user(f"a_{role}", role))
        return client

    return sign_in


def text(response) -> str:
    """The page's visible text, whitespace collapsed, for asserting what a person reads."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(body))


# --- the list --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_calendar_list(signed_in, role):
    CalendarFactory(name="New York office", holidays=["2026-11-26", "2026-12-25"])

    response = signed_in(role).get("/calendars/")

    assert response.status_code == 200
    page = text(response)
    assert "New York office" in page
    assert "America/New_York" in page
    assert "Mon–Fri 09:00–17:00" in page


def test_list_counts_each_calendars_holidays(signed_in):
    CalendarFactory(name="NY", holidays=["2026-11-26", "2026-12-25", "2027-01-01"])

    response = signed_in().get("/calendars/")

    assert re.search(r"Mon–Fri 09:00–17:00 3 ", text(response))


def test_list_summarises_several_windows_and_overnight_ones(signed_in):
    hours = {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "tue": [["08:00", "12:00"], ["13:00", "17:00"]],
        "sat": [["22:00", "06:00"]],
    }
    CalendarFactory(name="Mixed", timezone="Europe/Paris", working_hours=hours)

    page = text(signed_in().get("/calendars/"))

    assert "Mon–Tue 08:00–12:00, 13:00–17:00 · Sat 22:00–06:00 (next day)" in page


@time_machine.travel(FRIDAY_AFTERNOON, tick=False)
def test_list_says_which_calendars_are_open_right_now_in_their_zone(signed_in):
    CalendarFactory(name="New York")  # Friday 15:00 there
    CalendarFactory(name="Tokyo", timezone="Asia/Tokyo")  # Saturday 05:00 there

    page = text(signed_in().get("/calendars/"))

    assert "New York America/New_York Mon–Fri 09:00–17:00 0 Open Fri 15:00 EST" in page
    assert "Tokyo Asia/Tokyo Mon–Fri 09:00–17:00 0 Closed Sat 05:00 JST" in page


def test_list_shows_a_broken_calendar_instead_of_failing(signed_in):
    BusinessCalendar.objects.create(name="Broken", timezone="Mars/Base")  # skips clean()

    response = signed_in().get("/calendars/")

    assert response.status_code == 200
    assert "unknown time zone 'Mars/Base'" in text(response)


def test_calendar_pages_need_a_login(client):
    calendar = CalendarFactory(name="NY")

    for url in ("/calendars/", f"/calendars/{calendar.id}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_calendars_appear_in_the_navigation(signed_in):
    assert 'href="/calendars/"' in signed_in("executive").get("/", follow=True).content.decode()


# --- one calendar ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@time_machine.travel(FRIDAY_AFTERNOON, tick=False)
def test_every_role_sees_a_calendar_with_its_zone_and_local_time(signed_in, role):
    calendar = CalendarFactory(name="New York office")

    response = signed_in(role).get(f"/calendars/{calendar.id}/")

    assert response.status_code == 200
    page = text(response)
    assert "Zone America/New_York" in page
    assert "local time now Fri 4 Dec 2026, 15:00 EST" in page
    assert "Open now until 17:00" in page


@pytest.mark.parametrize("role", ["marketing", "sales", "sales_manager", "executive"])
def test_only_admins_see_the_edit_link(signed_in, role):
    calendar = CalendarFactory(name="NY")

    assert "Edit in admin" not in text(signed_in(role).get(f"/calendars/{calendar.id}/"))


def test_admin_sees_an_edit_link_to_the_admin(signed_in):
    calendar = CalendarFactory(name="NY")

    response = signed_in("admin").get(f"/calendars/{calendar.id}/")

    assert (
        f'href="/admin/calendars/businesscalendar/{calendar.id}/change/"'
        in response.content.decode()
    )


def test_unknown_calendar_page_answers_404(signed_in):
    assert signed_in().get("/calendars/999999/").status_code == 404


def test_weekly_table_lists_each_day_with_several_windows_and_overnight_ones(signed_in):
    hours = {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "fri": [["22:00", "06:00"]]}
    calendar = CalendarFactory(name="Shifts", working_hours=hours)

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))

    assert "Mon 08:00–12:00 13:00–17:00 Tue closed" in page
    assert "Thu closed Fri 22:00–06:00 → next day Sat closed Sun closed" in page


@time_machine.travel(datetime(2026, 12, 5, 4, 0, tzinfo=UTC), tick=False)
def test_an_overnight_window_is_open_until_its_end_the_next_day(signed_in):
    calendar = CalendarFactory(name="Nights", working_hours={"fri": [["22:00", "02:00"]]})

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))  # Friday 23:00 in New York

    assert "Open now until Sat 02:00" in page


@time_machine.travel(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), tick=False)
def test_windows_that_meet_at_midnight_are_open_until_the_last_one_ends(signed_in):
    hours = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = CalendarFactory(name="Weekdays round the clock", working_hours=hours)

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))  # Monday noon in New York

    assert "Open now until Fri 24:00" in page


@time_machine.travel(SATURDAY_NOON, tick=False)
def test_a_closed_calendar_shows_its_next_opening_in_its_zone(signed_in):
    calendar = CalendarFactory(name="NY")

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))

    assert "Closed now" in page
    assert "Next opening Mon 7 Dec 2026, 09:00 EST" in page


@time_machine.travel(SATURDAY_NOON, tick=False)
def test_a_calendar_that_never_opens_says_so(signed_in):
    calendar = CalendarFactory(name="Shut", working_hours={})

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))

    assert "Next opening never" in page


@time_machine.travel(FRIDAY_AFTERNOON, tick=False)
def test_page_counts_business_days_this_month_and_those_elapsed(signed_in):
    # December 2026 has 23 weekdays; Christmas is one of them.
    calendar = CalendarFactory(name="NY", holidays=["2026-12-25"])

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))

    assert "December 2026" in page
    assert "Business days this month 22" in page
    # Tue 1 to Thu 3 are done, and Friday's 09:00–17:00 is 6/8 worked at 15:00.
    assert "Elapsed so far 3.8 of 22" in page


@time_machine.travel(FRIDAY_AFTERNOON, tick=False)
def test_page_lists_upcoming_holidays_only(signed_in):
    calendar = CalendarFactory(name="NY", holidays=["2026-11-26", "2026-12-25", "2027-01-01"])

    page = text(signed_in().get(f"/calendars/{calendar.id}/"))

    assert "Upcoming holidays Fri 25 Dec 2026 Fri 1 Jan 2027" in page
    assert "Thu 26 Nov 2026" not in page
    assert "1 past holiday kept for the record" in page


def test_a_broken_calendar_page_explains_instead_of_failing(signed_in):
    calendar = BusinessCalendar.objects.create(name="Broken", working_hours={"mon": "all day"})

    response = signed_in().get(f"/calendars/{calendar.id}/")

    assert response.status_code == 200
    assert "This calendar cannot be used: working_hours" in text(response)


# --- the deadline calculator -----------------------------------------------------------


def _calculate(client, calendar, start, minutes, **headers):
    return client.get(
        f"/calendars/{calendar.id}/deadline/", {"start": start, "minutes": minutes}, **headers
    )


def test_calculator_skips_the_weekend(signed_in):
    calendar = CalendarFactory(name="NY")

    response = _calculate(signed_in(), calendar, "2026-12-04T16:00", 120, **HTMX)

    assert response.status_code == 200
    page = text(response)
    assert "Due Mon 7 Dec 2026, 10:00 EST (America/New_York)" in page
    assert "which is Mon 7 Dec 2026, 15:00 UTC" in page


def test_calculator_skips_a_holiday_and_the_weekend(signed_in):
    calendar = CalendarFactory(name="NY", holidays=["2026-12-25"])  # a Friday

    page = text(_calculate(signed_in(), calendar, "2026-12-24T16:00", 120, **HTMX))

    assert "120 business minutes from Thu 24 Dec 2026, 16:00 EST" in page
    assert "Due Mon 28 Dec 2026, 10:00 EST" in page
    assert "which is Mon 28 Dec 2026, 15:00 UTC" in page


def test_calculator_reads_the_start_on_the_calendars_wall_clock(signed_in):
    calendar = CalendarFactory(name="Tokyo", timezone="Asia/Tokyo")

    page = text(_calculate(signed_in(), calendar, "2026-12-07T09:00", 60, **HTMX))

    assert "Due Mon 7 Dec 2026, 10:00 JST" in page
    assert "which is Mon 7 Dec 2026, 01:00 UTC" in page


def test_calculator_partial_is_only_the_fragment(signed_in):
    calendar = CalendarFactory(name="NY")

    body = _calculate(signed_in(), calendar, "2026-12-04T16:00", 60, **HTMX).content.decode()

    assert "<html" not in body
    assert 'data-testid="deadline-result"' in body


def test_calculator_works_without_javascript_on_the_calendar_page(signed_in):
    calendar = CalendarFactory(name="NY", holidays=["2026-12-25"])

    response = signed_in().get(
        f"/calendars/{calendar.id}/", {"start": "2026-12-24T16:00", "minutes": 120}
    )

    assert response.status_code == 200
    page = text(response)
    assert "Deadline calculator" in page
    assert "Due Mon 28 Dec 2026, 10:00 EST" in page
    assert 'value="2026-12-24T16:00"' in response.content.decode()


def test_calculator_partial_without_htmx_sends_the_browser_to_the_page(signed_in):
    calendar = CalendarFactory(name="NY")

    response = _calculate(signed_in(), calendar, "2026-12-24T16:00", 120)

    assert response.status_code == 302
    assert response["Location"] == (
        f"/calendars/{calendar.id}/?start=2026-12-24T16%3A00&minutes=120"
    )


@pytest.mark.parametrize(
    ("start", "minutes", "message"),
    [
        ("2026-12-24T16:00", "-5", "Business minutes: Ensure this value is greater than"),
        ("2026-12-24T16:00", "", "Business minutes: This field is required."),
        ("", "60", "Start (local time): This field is required."),
        ("yesterday", "60", "Start (local time): Enter a valid date/time."),
        ("2026-03-08T02:30", "60", "Start (local time): 2026-03-08 02:30:00 couldn’t be"),
    ],
    ids=["negative minutes", "no minutes", "no start", "not a date", "skipped by the clock"],
)
def test_calculator_explains_bad_input(signed_in, start, minutes, message):
    calendar = CalendarFactory(name="NY")

    response = _calculate(signed_in(), calendar, start, minutes, **HTMX)

    assert response.status_code == 200  # htmx swaps only 2xx answers into the page
    assert message in text(response)
    assert "Due " not in text(response)


def test_calculator_on_a_calendar_that_never_opens_explains(signed_in):
    calendar = CalendarFactory(name="Shut", working_hours={})

    page = text(_calculate(signed_in(), calendar, "2026-12-24T16:00", 60, **HTMX))

    assert "No due time: the calendar has no working windows" in page


def test_calculator_partial_after_the_session_expired_reloads_to_login(client):
    calendar = CalendarFactory(name="NY")

    response = _calculate(
        client,
        calendar,
        "2026-12-24T16:00",
        60,
        HTTP_HX_CURRENT_URL=f"http://testserver/calendars/{calendar.id}/",
        **HTMX,
    )

    assert response["HX-Redirect"] == f"/login/?next=/calendars/{calendar.id}/"


# --- the admin -------------------------------------------------------------------------


def _admin_form(**overrides):
    form = {
        "name": "NY",
        "timezone": "America/New_York",
        "working_hours": '{"mon": [["09:00", "17:00"]]}',
        "holidays": '["2026-12-25"]',
    }
    form.update(overrides)
    return form


def test_admin_refuses_overlapping_windows_like_the_api(signed_in):
    hours = '{"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}'

    response = signed_in("admin").post(
        "/admin/calendars/businesscalendar/add/", _admin_form(working_hours=hours)
    )

    assert response.status_code == 200
    assert "overlaps" in text(response)
    assert not BusinessCalendar.objects.exists()


def test_admin_refuses_an_unknown_zone_like_the_api(signed_in):
    response = signed_in("admin").post(
        "/admin/calendars/businesscalendar/add/", _admin_form(timezone="Mars/Base")
    )

    assert "unknown time zone" in text(response)
    assert not BusinessCalendar.objects.exists()


def test_admin_stores_the_calendar_normalised(signed_in):
    hours = '{"mon": [["13:00", "17:00"], ["08:00", "12:00"]]}'

    response = signed_in("admin").post(
        "/admin/calendars/businesscalendar/add/",
        _admin_form(working_hours=hours, holidays='["2026-12-25", "2026-01-01"]'),
    )

    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(name="NY")
    assert calendar.working_hours == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}
    assert calendar.holidays == ["2026-01-01", "2026-12-25"]


def test_admin_lists_and_searches_calendars(signed_in):
    CalendarFactory(name="New York office")
    CalendarFactory(name="Paris office", timezone="Europe/Paris")

    page = text(signed_in("admin").get("/admin/calendars/businesscalendar/", {"q": "Paris"}))

    assert "Paris office" in page
    assert "New York office" not in page
