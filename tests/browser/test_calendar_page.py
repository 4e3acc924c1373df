"""A calendar page in a real browser: log in, open a calendar, use the deadline calculator."""

import pytest

from tests.factories import CalendarFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sales_rep_computes_a_due_time_across_a_holiday_and_a_weekend(page, make_user):
    make_user("sam", "sales", password="pw-Secret-123")
    hours = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    hours["wed"] = [["09:00", "17:00"], ["22:00", "02:00"]]  # a night shift into Thursday
    CalendarFactory(name="New York office", working_hours=hours, holidays=["2026-12-25"])
    page.goto("/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")

    page.get_by_role("link", name="Calendars").first.click()
    page.get_by_role("link", name="New York office").click()
    page.get_by_label("Start (America/New_York)").fill("2026-12-24T16:00")
    page.get_by_label("Business minutes").fill("120")
    page.get_by_role("button", name="Compute due time").click()

    due = page.get_by_test_id("due-local")
    due.wait_for()
    assert due.inner_text() == "Mon 28 Dec 2026, 10:00 EST"
    assert page.get_by_test_id("due-utc").inner_text() == "Mon 28 Dec 2026, 15:00 UTC"
    assert "?" not in page.url  # htmx swapped the answer in; the page did not reload
    page.screenshot(path="/tmp/calendar.png", full_page=True)
