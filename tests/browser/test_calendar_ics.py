"""An admin imports holidays from an .ics file in a real browser: a wrong file is refused
on its field, the right one is previewed, confirmed, and its dates join the holiday list."""

from datetime import date

import pytest
from django.utils import timezone

from calendars.models import BusinessCalendar
from tests.browser.test_accessibility import axe_violations
from tests.calendars.test_ics import ics
from tests.factories import CalendarFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = "docs/screenshots"


def test_admin_previews_and_imports_holidays_from_a_calendar_file(page, make_user, tmp_path):
    make_user("ada", "admin", password="pw-Secret-123")
    year = timezone.now().year + 1  # next year's dates are upcoming whenever this runs
    calendar = CalendarFactory(name="New York office", holidays=[f"{year}-12-25"])
    wrong = tmp_path / "holidays.csv"
    wrong.write_text("name,date\nChristmas,2026-12-25\n")
    right = tmp_path / "us-holidays.ics"
    right.write_bytes(
        ics(
            f"SUMMARY:New Year's Day\nDTSTART;VALUE=DATE:{year - 5}0101\nRRULE:FREQ=YEARLY",
            f"SUMMARY:Company retreat\nDTSTART;VALUE=DATE:{year}0701\nDTEND;VALUE=DATE:{year}0703",
            f"SUMMARY:Christmas Day\nDTSTART;VALUE=DATE:{year}1225",
            f"SUMMARY:Board meeting\nDTSTART:{year}0115T140000Z\nDTEND:{year}0115T160000Z",
            f"SUMMARY:Picnic (called off)\nSTATUS:CANCELLED\nDTSTART;VALUE=DATE:{year}0612",
        )
    )
    page.goto("/login/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    page.goto(f"/calendars/{calendar.pk}/")

    field = page.get_by_label("Calendar file (.ics)", exact=True)
    field.set_input_files(str(wrong))
    page.get_by_role("button", name="Preview the import").click()
    error = page.get_by_test_id("ics-error")
    error.wait_for()
    assert "is not an iCalendar (.ics) file" in error.inner_text()
    assert "ics-file-error" in field.get_attribute("aria-describedby")
    assert not axe_violations(page)
    page.locator("section", has=field).screenshot(path=f"{SCREENSHOTS}/calendar-ics-refused.png")

    page.get_by_label("Calendar file (.ics)", exact=True).set_input_files(str(right))
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("heading", name="Import holidays from us-holidays.ics").wait_for()
    added = page.get_by_test_id("ics-added").inner_text()
    assert "Company retreat" in added and date(year, 7, 1).strftime("%a 1 Jul %Y") in added
    assert "Christmas Day" in page.get_by_test_id("ics-already").inner_text()
    ignored = page.get_by_test_id("ics-ignored").inner_text()
    assert "Board meeting" in ignored and "Picnic (called off)" in ignored
    assert BusinessCalendar.objects.get(pk=calendar.pk).holidays == [f"{year}-12-25"]
    assert not axe_violations(page)
    page.screenshot(path=f"{SCREENSHOTS}/calendar-ics-import.png", full_page=True)

    # New Year's Day in each of the three years read, and the retreat's two days.
    page.get_by_role("button", name="Import 5 holidays").click()
    page.get_by_role("alert").filter(has_text="Imported 5 holidays").wait_for()
    holidays = page.get_by_test_id("holidays").inner_text()
    for day in (date(year, 7, 1), date(year, 7, 2)):
        assert day.strftime(f"%a {day.day} Jul %Y") in holidays
    assert date(year, 1, 1).strftime("%a 1 Jan %Y") in holidays  # from the yearly event
    stored = BusinessCalendar.objects.get(pk=calendar.pk).holidays
    assert f"{year}-07-01" in stored and f"{year}-12-25" in stored
    assert not axe_violations(page)
    page.screenshot(path=f"{SCREENSHOTS}/calendar-ics-imported.png", full_page=True)
