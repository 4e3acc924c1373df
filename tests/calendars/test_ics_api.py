"""POST /api/calendars/<id>/holidays/import/: an admin adds the all-day events of an .ics
file to a calendar's holidays as one new version; a preview writes nothing; a file that is
not one, too large, missing, or too full is a 400 on `file` and writes nothing."""

from datetime import UTC, datetime

import pytest
import time_machine
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from calendars.models import BusinessCalendar
from tests.calendars.test_ics import ics
from tests.factories import CalendarFactory

pytestmark = pytest.mark.django_db

NON_ADMIN_ROLES = ["marketing", "sales", "sales_manager", "executive"]
NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
HOLIDAYS = ics(
    "SUMMARY:Christmas Day\nDTSTART;VALUE=DATE:20261225",
    "SUMMARY:New Year's Day\nDTSTART;VALUE=DATE:20250101\nRRULE:FREQ=YEARLY",
    "SUMMARY:Team lunch\nDTSTART:20261203T120000Z",
)


def url(calendar, preview: bool = False) -> str:
    return f"/api/calendars/{calendar.pk}/holidays/import/" + ("?preview=1" if preview else "")


def upload(data: bytes = HOLIDAYS, name: str = "us-holidays.ics") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/calendar")


@pytest.fixture
def admin_client(api_client, make_user):
    api_client.force_authenticate(make_user("ada", "admin"))
    return api_client


@pytest.fixture
def calendar():
    return CalendarFactory(name="New York", holidays=["2026-11-26", "2027-01-01"])


def state(calendar) -> tuple:
    """What a refused or previewed request must leave exactly as it was."""
    calendar = BusinessCalendar.objects.get(pk=calendar.pk)
    return calendar.holidays, calendar.updated_at, calendar.history.count()


@time_machine.travel(NOW, tick=False)
def test_admin_imports_the_files_all_day_events_as_holidays(admin_client, calendar):
    response = admin_client.post(url(calendar), {"file": upload()}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert body["preview"] is False
    assert body["file"] == "us-holidays.ics"
    assert body["added"] == [
        {"date": "2026-01-01", "name": "New Year's Day"},
        {"date": "2026-12-25", "name": "Christmas Day"},
        {"date": "2028-01-01", "name": "New Year's Day"},
    ]
    assert body["already"] == [{"date": "2027-01-01", "name": "New Year's Day"}]
    assert body["ignored"] == [
        {
            "name": "Team lunch",
            "start": "2026-12-03T12:00:00+00:00",
            "reason": "it is a timed event (at 12:00), not an all-day one",
        }
    ]
    expected = ["2026-01-01", "2026-11-26", "2026-12-25", "2027-01-01", "2028-01-01"]
    assert body["holidays"] == expected
    assert (body["repeats_from"], body["repeats_to"]) == ("2026-01-01", "2028-12-31")
    assert BusinessCalendar.objects.get(pk=calendar.pk).holidays == expected


@time_machine.travel(NOW, tick=False)
def test_an_import_is_exactly_one_new_version_naming_the_file_and_who(admin_client, calendar):
    versions = calendar.history.count()

    response = admin_client.post(url(calendar), {"file": upload()}, format="multipart")

    assert calendar.history.count() == versions + 1
    record = calendar.history.latest("history_id")
    assert record.history_change_reason == "Holidays imported from 'us-holidays.ics' (3 added)"
    assert record.history_user.username == "ada"
    assert response.json()["version"] == versions + 1


@time_machine.travel(NOW, tick=False)
def test_preview_answers_what_would_be_added_and_writes_nothing(admin_client, calendar):
    before = state(calendar)

    response = admin_client.post(url(calendar, preview=True), {"file": upload()})

    assert response.status_code == 200
    body = response.json()
    assert body["preview"] is True
    assert [item["date"] for item in body["added"]] == ["2026-01-01", "2026-12-25", "2028-01-01"]
    assert body["holidays"][-1] == "2028-01-01"  # as the calendar would be
    assert body["version"] is None
    assert state(calendar) == before


@time_machine.travel(NOW, tick=False)
def test_a_file_of_nothing_new_writes_nothing(admin_client, calendar):
    data = ics("SUMMARY:Thanksgiving\nDTSTART;VALUE=DATE:20261126")
    before = state(calendar)

    response = admin_client.post(url(calendar), {"file": upload(data)})

    assert response.status_code == 200
    assert response.json()["added"] == []
    assert response.json()["already"] == [{"date": "2026-11-26", "name": "Thanksgiving"}]
    assert response.json()["version"] is None
    assert state(calendar) == before


@time_machine.travel(NOW, tick=False)
def test_the_folder_a_browser_sends_with_the_name_is_dropped(admin_client, calendar):
    response = admin_client.post(url(calendar), {"file": upload(name="C:\\Users\\ada\\h.ics")})

    assert response.json()["file"] == "h.ics"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,date\nChristmas,2026-12-25\n", "is not an iCalendar (.ics) file"),
        (b"BEGIN:VEVENT\r\nDTSTART:20261225\r\nEND:VEVENT\r\n", "holds no calendar"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text"),
        (b"BEGIN:VCALENDAR\r\n\x00\x00\r\nEND:VCALENDAR\r\n", "holds NUL bytes"),
        (b" \r\n", "The file is empty."),
    ],
)
def test_a_file_that_is_not_an_icalendar_one_is_refused_on_file(
    admin_client, calendar, data, message
):
    before = state(calendar)

    response = admin_client.post(url(calendar), {"file": upload(data)})

    assert response.status_code == 400
    assert set(response.json()) == {"file"}
    assert message in response.json()["file"][0]
    assert state(calendar) == before


def test_an_empty_upload_is_refused_on_file(admin_client, calendar):
    before = state(calendar)

    response = admin_client.post(url(calendar), {"file": upload(b"")})

    assert response.status_code == 400
    assert set(response.json()) == {"file"}
    assert state(calendar) == before


def test_a_file_larger_than_the_cap_is_refused(admin_client, calendar, settings):
    settings.CALENDAR_ICS_MAX_BYTES = 200
    before = state(calendar)

    response = admin_client.post(url(calendar), {"file": upload(HOLIDAYS + b" " * 200)})

    assert response.status_code == 400
    assert response.json() == {
        "file": ["The file is larger than 200 bytes, the most one import reads."]
    }
    assert state(calendar) == before


def test_a_file_with_more_dates_than_the_cap_is_refused(admin_client, calendar, settings):
    settings.CALENDAR_ICS_MAX_DATES = 2
    before = state(calendar)

    response = admin_client.post(url(calendar), {"file": upload()})

    assert response.status_code == 400
    assert "more than 2 holiday dates" in response.json()["file"][0]
    assert state(calendar) == before


def test_no_file_is_refused_on_file(admin_client, calendar):
    before = state(calendar)

    response = admin_client.post(url(calendar), {"other": "x"})

    assert response.status_code == 400
    assert set(response.json()) == {"file"}
    assert state(calendar) == before


def test_a_preview_flag_that_is_not_a_boolean_is_refused_on_preview(admin_client, calendar):
    response = admin_client.post(
        f"/api/calendars/{calendar.pk}/holidays/import/?preview=perhaps", {"file": upload()}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"preview"}


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_the_admin_role_imports_holidays(api_client, make_user, calendar, role):
    api_client.force_authenticate(make_user("someone", role))
    before = state(calendar)

    response = api_client.post(url(calendar), {"file": upload()})
    previewed = api_client.post(url(calendar, preview=True), {"file": upload()})

    assert (response.status_code, previewed.status_code) == (403, 403)
    assert state(calendar) == before


def test_without_credentials_the_import_answers_401(api_client, calendar):
    assert api_client.post(url(calendar), {"file": upload()}).status_code == 401


def test_an_unknown_calendar_answers_404(admin_client):
    response = admin_client.post("/api/calendars/999999/holidays/import/", {"file": upload()})

    assert response.status_code == 404


def test_a_calendar_stored_with_a_broken_zone_answers_409(admin_client):
    broken = CalendarFactory(name="Broken")
    BusinessCalendar.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")
    before = state(broken)

    response = admin_client.post(url(broken), {"file": upload()})

    assert response.status_code == 409
    assert "no usable time zone" in response.json()["detail"]
    assert state(broken) == before


@time_machine.travel(NOW, tick=False)
def test_the_country_holidays_offer_still_merges_after_an_import(admin_client, calendar):
    admin_client.post(url(calendar), {"file": upload()})

    response = admin_client.patch(
        f"/api/calendars/{calendar.pk}/",
        {"holiday_country": "US", "holiday_years": [2026]},
        format="json",
    )

    assert response.status_code == 200
    holidays = response.json()["holidays"]
    assert {"2026-07-03", "2026-12-25", "2028-01-01"} <= set(holidays)  # both sources


def test_the_schema_documents_the_import(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    operation = yaml.safe_load(out.read_text())["paths"]["/api/calendars/{id}/holidays/import/"][
        "post"
    ]

    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["preview"]
