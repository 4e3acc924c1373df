"""The calendar page's import of holidays from an .ics file: upload, preview (nothing
written), confirm (one new version); refusals show on the file field and write nothing."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from calendars.models import BusinessCalendar
from tests.calendars.test_calendar_pages import text
from tests.calendars.test_ics import ics
from tests.factories import CalendarFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
FILE = ics(
    "SUMMARY:Christmas Eve\nDTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261226",
    "SUMMARY:Thanksgiving\nDTSTART;VALUE=DATE:20261126",
    "SUMMARY:Team lunch\nDTSTART:20261203T120000Z",
)


@pytest.fixture
def calendar():
    return CalendarFactory(name="New York office", holidays=["2026-11-26"])


@pytest.fixture
def admin(client, make_user):
    client.force_login(make_user("ada", "admin"))
    return client


def import_url(calendar) -> str:
    return f"/calendars/{calendar.pk}/holidays/import/"


def upload(data: bytes = FILE, name: str = "office.ics") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/calendar")


def state(calendar) -> tuple:
    calendar = BusinessCalendar.objects.get(pk=calendar.pk)
    return calendar.holidays, calendar.updated_at, calendar.history.count()


def confirm_token(response) -> str:
    return re.search(r'name="confirm" value="([^"]+)"', response.content.decode())[1]


def test_the_admin_sees_the_import_form_with_a_labelled_file_field(admin, calendar):
    page = admin.get(f"/calendars/{calendar.pk}/").content.decode()

    assert "Import holidays from a calendar file (.ics)" in page
    assert '<label for="ics-file" class="form-label">Calendar file (.ics)</label>' in page
    assert 'enctype="multipart/form-data"' in page


@pytest.mark.parametrize("role", ["marketing", "sales", "sales_manager", "executive"])
def test_other_roles_see_no_import_form_and_may_not_post(client, make_user, calendar, role):
    client.force_login(make_user("someone", role))
    before = state(calendar)

    page = client.get(f"/calendars/{calendar.pk}/").content.decode()
    response = client.post(import_url(calendar), {"file": upload()})

    assert "ics-file" not in page
    assert response.status_code == 403
    assert state(calendar) == before


@time_machine.travel(NOW, tick=False)
def test_upload_previews_what_would_be_added_and_writes_nothing(admin, calendar):
    before = state(calendar)

    response = admin.post(import_url(calendar), {"file": upload()})

    assert response.status_code == 200
    page = text(response)
    assert "Import holidays from office.ics" in page
    assert "2 dates to add, 1 already a holiday, 1 event ignored." in page
    assert "Thu 24 Dec 2026 Christmas Eve" in page
    assert "Fri 25 Dec 2026 Christmas Eve" in page
    assert "Thu 26 Nov 2026 Thanksgiving" in page
    assert "Team lunch 2026-12-03T12:00:00+00:00 It is a timed event" in page
    assert "Import 2 holidays" in page
    assert state(calendar) == before


@time_machine.travel(NOW, tick=False)
def test_confirming_the_preview_imports_it_as_one_new_version(admin, calendar):
    versions = calendar.history.count()
    preview = admin.post(import_url(calendar), {"file": upload()})

    response = admin.post(import_url(calendar), {"confirm": confirm_token(preview)}, follow=True)

    assert response.redirect_chain[-1][0] == f"/calendars/{calendar.pk}/#holidays-title"
    page = text(response)
    assert (
        f"Imported 2 holidays from 'office.ics' as version {versions + 1} of the calendar."
        " 1 was already a holiday." in page
    )
    assert "Thu 24 Dec 2026" in page and "Fri 25 Dec 2026" in page  # the holiday list
    calendar.refresh_from_db()
    assert calendar.holidays == ["2026-11-26", "2026-12-24", "2026-12-25"]
    assert calendar.history.count() == versions + 1
    record = calendar.history.latest("history_id")
    assert record.history_change_reason == "Holidays imported from 'office.ics' (2 added)"


@time_machine.travel(NOW, tick=False)
def test_confirming_twice_adds_nothing_the_second_time(admin, calendar):
    token = confirm_token(admin.post(import_url(calendar), {"file": upload()}))
    admin.post(import_url(calendar), {"confirm": token})
    before = state(calendar)

    response = admin.post(import_url(calendar), {"confirm": token}, follow=True)

    assert "Nothing imported from 'office.ics': every date was already a holiday." in text(response)
    assert state(calendar) == before


@time_machine.travel(NOW, tick=False)
def test_an_altered_preview_is_refused_and_writes_nothing(admin, calendar):
    token = confirm_token(admin.post(import_url(calendar), {"file": upload()}))
    before = state(calendar)

    response = admin.post(import_url(calendar), {"confirm": token[:-3] + "abc"})

    assert response.status_code == 400
    assert "That preview has expired or was altered" in text(response)
    assert state(calendar) == before


def test_an_expired_preview_is_refused(admin, calendar):
    with time_machine.travel(NOW, tick=False):
        token = confirm_token(admin.post(import_url(calendar), {"file": upload()}))
    before = state(calendar)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        response = admin.post(import_url(calendar), {"confirm": token})

    assert response.status_code == 400
    assert "expired" in text(response)
    assert state(calendar) == before


@time_machine.travel(NOW, tick=False)
def test_a_preview_of_one_calendar_cannot_be_confirmed_on_another(admin, calendar):
    other = CalendarFactory(name="Paris office", timezone="Europe/Paris")
    token = confirm_token(admin.post(import_url(calendar), {"file": upload()}))
    before = state(other)

    response = admin.post(import_url(other), {"confirm": token})

    assert response.status_code == 400
    assert "That preview was for another calendar or person." in text(response)
    assert state(other) == before


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "Choose an iCalendar (.ics) file to import."),
        ({"file": upload(b"name,date\nXmas,2026-12-25\n")}, "is not an iCalendar (.ics) file"),
        ({"file": upload(b"\xff\xfe\xfd garbage")}, "is not UTF-8 text"),
    ],
)
def test_a_refused_upload_shows_the_reason_on_the_file_field(admin, calendar, files, message):
    before = state(calendar)

    response = admin.post(import_url(calendar), files)

    assert response.status_code == 400
    page = response.content.decode()
    assert 'aria-describedby="ics-file-help ics-file-error"' in page
    assert 'aria-invalid="true"' in page
    error = re.search(r'<div class="invalid-feedback" id="ics-file-error"[^>]*>([^<]*)<', page)
    assert message in error[1].replace("&#x27;", "'")
    assert state(calendar) == before


def test_a_file_over_the_cap_is_refused_on_the_page(admin, calendar, settings):
    settings.CALENDAR_ICS_MAX_BYTES = 1024
    before = state(calendar)

    response = admin.post(import_url(calendar), {"file": upload(FILE + b" " * 1024)})

    assert response.status_code == 400
    assert "The file is larger than 1 KB, the most one import reads." in text(response)
    assert state(calendar) == before


def test_a_calendar_stored_with_a_broken_zone_refuses_the_import_saying_why(admin):
    broken = CalendarFactory(name="Broken")
    BusinessCalendar.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")
    before = state(broken)

    response = admin.post(import_url(broken), {"file": upload()})

    assert response.status_code == 409
    assert "This calendar cannot be used" in text(response)
    assert state(broken) == before


def test_the_import_answers_only_posts(admin, calendar):
    assert admin.get(import_url(calendar)).status_code == 405


def test_signed_out_the_import_sends_to_the_login_page(client, calendar):
    response = client.post(import_url(calendar), {"file": upload()})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
