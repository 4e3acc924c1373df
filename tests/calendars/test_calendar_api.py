"""/api/calendars/: admins configure business calendars, everyone reads them and asks
them for due times; bad input is a 400 naming the field and changes nothing."""

from datetime import UTC, datetime

import pytest
import time_machine

from accounts.models import Team
from calendars.models import BusinessCalendar
from tests.factories import AgreementFactory, CalendarFactory, TeamFactory

pytestmark = pytest.mark.django_db


URL = "/api/calendars/"
NON_ADMIN_ROLES = ["marketing", "sales", "sales_manager", "executive"]
WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def admin_client(api_client, make_user):
    api_client.force_authenticate(make_user("ada", "admin"))
    return api_client


def _body(**overrides):
    body = {
        "name": "New York office",
        "timezone": "America/New_York",
        "working_hours": WEEKDAYS_9_TO_5,
        "holidays": ["2026-12-25"],
    }
    body.update(overrides)
    return body


# --- create, read, edit ------------------------------------------------------------------


def test_admin_creates_a_calendar_and_reads_it_back(admin_client):
    response = admin_client.post(URL, _body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "timezone",
        "working_hours",
        "holidays",
        "created_at",
        "updated_at",
    }
    assert body["working_hours"] == WEEKDAYS_9_TO_5
    assert BusinessCalendar.objects.get(id=body["id"]).timezone == "America/New_York"


def test_created_calendar_is_stored_normalised(admin_client):
    hours = {"mon": [["13:00", "17:00"], ["08:00", "12:00"]], "sat": None}
    holidays = ["2026-12-25", "2026-01-01", "2026-12-25"]

    response = admin_client.post(URL, _body(working_hours=hours, holidays=holidays), format="json")

    assert response.status_code == 201
    assert response.json()["working_hours"] == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}
    assert response.json()["holidays"] == ["2026-01-01", "2026-12-25"]


def test_window_may_end_at_midnight_and_overnight_windows_are_kept(admin_client):
    hours = {"mon": [["18:00", "24:00"]], "fri": [["22:00", "06:00"]]}

    response = admin_client.post(URL, _body(working_hours=hours), format="json")

    assert response.status_code == 201
    assert response.json()["working_hours"] == hours


def test_fields_left_out_of_a_post_take_the_defaults(admin_client):
    response = admin_client.post(URL, {"name": "Plain"}, format="json")

    assert response.status_code == 201
    assert response.json()["timezone"] == "UTC"
    assert response.json()["working_hours"] == WEEKDAYS_9_TO_5
    assert response.json()["holidays"] == []


@pytest.mark.parametrize("role", [*NON_ADMIN_ROLES, "admin"])
def test_every_signed_in_role_lists_calendars(api_client, make_user, role):
    CalendarFactory(name="Paris", timezone="Europe/Paris")
    CalendarFactory(name="Tokyo", timezone="Asia/Tokyo")
    api_client.force_authenticate(make_user("someone", role))

    response = api_client.get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [c["name"] for c in response.json()["results"]] == ["Paris", "Tokyo"]


@pytest.mark.parametrize("role", [*NON_ADMIN_ROLES, "admin"])
def test_every_signed_in_role_reads_one_calendar(api_client, make_user, role):
    calendar = CalendarFactory(name="Paris", timezone="Europe/Paris", holidays=["2026-07-14"])
    api_client.force_authenticate(make_user("someone", role))

    response = api_client.get(f"{URL}{calendar.id}/")

    assert response.status_code == 200
    assert response.json()["holidays"] == ["2026-07-14"]
    assert response.json()["timezone"] == "Europe/Paris"


def test_unknown_calendar_answers_404(admin_client):
    assert admin_client.get(f"{URL}999999/").status_code == 404


def test_patch_changes_only_the_fields_sent(admin_client):
    calendar = CalendarFactory(name="NY", holidays=["2026-12-25"])

    response = admin_client.patch(
        f"{URL}{calendar.id}/", {"holidays": ["2026-11-26"]}, format="json"
    )

    assert response.status_code == 200
    calendar.refresh_from_db()
    assert calendar.holidays == ["2026-11-26"]
    assert calendar.working_hours == WEEKDAYS_9_TO_5
    assert calendar.timezone == "America/New_York"


def test_put_replaces_the_calendar(admin_client):
    calendar = CalendarFactory(name="NY")
    body = _body(name="Paris", timezone="Europe/Paris", working_hours={"sat": [["10:00", "14:00"]]})

    response = admin_client.put(f"{URL}{calendar.id}/", body, format="json")

    assert response.status_code == 200
    calendar.refresh_from_db()
    assert (calendar.name, calendar.timezone) == ("Paris", "Europe/Paris")
    assert calendar.working_hours == {"sat": [["10:00", "14:00"]]}


def test_edits_are_kept_in_the_history(admin_client):
    calendar = CalendarFactory(name="NY")

    admin_client.patch(f"{URL}{calendar.id}/", {"timezone": "Europe/Paris"}, format="json")

    zones = list(calendar.history.order_by("history_date").values_list("timezone", flat=True))
    assert zones == ["America/New_York", "Europe/Paris"]


# --- validation: 400 naming the field, nothing changed ----------------------------------

RUNS_INTO_NEXT_DAY = {"mon": [["17:00", "10:00"]], "tue": [["09:00", "17:00"]]}
INVALID = [
    ("timezone", {"timezone": "Mars/Olympus_Mons"}),
    ("timezone", {"timezone": ""}),
    ("working_hours", {"working_hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}),
    ("working_hours", {"working_hours": {"mon": [["09:00", "09:00"]]}}),
    ("working_hours", {"working_hours": {"mon": [["24:00", "06:00"]]}}),
    ("working_hours", {"working_hours": RUNS_INTO_NEXT_DAY}),
    ("working_hours", {"working_hours": {"mon": [["9am", "5pm"]]}}),
    ("working_hours", {"working_hours": {"mon": [["09:00", "25:00"]]}}),
    ("working_hours", {"working_hours": {"mon": ["09:00", "17:00"]}}),
    ("working_hours", {"working_hours": {"monday": [["09:00", "17:00"]]}}),
    ("working_hours", {"working_hours": [["09:00", "17:00"]]}),
    ("holidays", {"holidays": ["2026-02-30"]}),
    ("holidays", {"holidays": ["next friday"]}),
    ("holidays", {"holidays": "2026-12-25"}),
    ("holidays", {"holidays": None}),
    ("name", {"name": ""}),
]
INVALID_IDS = [
    "unknown zone",
    "empty zone",
    "overlapping windows",
    "empty window",
    "window starting at 24:00",
    "overnight window running into the next day's",
    "malformed time",
    "hour past 24",
    "window not a pair list",
    "unknown day",
    "hours not keyed by day",
    "impossible date",
    "not a date",
    "holidays not a list",
    "holidays null",
    "blank name",
]


@pytest.mark.parametrize(("field", "change"), INVALID, ids=INVALID_IDS)
def test_invalid_calendar_is_refused_naming_the_field(admin_client, field, change):
    response = admin_client.post(URL, _body(**change), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not BusinessCalendar.objects.exists()


@pytest.mark.parametrize(("field", "change"), INVALID, ids=INVALID_IDS)
def test_invalid_patch_is_refused_and_leaves_the_calendar_unchanged(admin_client, field, change):
    calendar = CalendarFactory(name="NY", holidays=["2026-12-25"])

    response = admin_client.patch(f"{URL}{calendar.id}/", change, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    stored = BusinessCalendar.objects.get(id=calendar.id)
    assert (stored.name, stored.timezone) == ("NY", "America/New_York")
    assert (stored.working_hours, stored.holidays) == (WEEKDAYS_9_TO_5, ["2026-12-25"])


def test_duplicate_name_is_refused_naming_the_field(admin_client):
    CalendarFactory(name="New York office")

    response = admin_client.post(URL, _body(), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_the_error_message_says_what_is_wrong(admin_client):
    hours = {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}

    response = admin_client.post(URL, _body(working_hours=hours), format="json")

    assert "overlaps" in response.json()["working_hours"][0]


# --- holidays from a country ---------------------------------------------------------------


def test_holiday_country_merges_that_countrys_public_holidays(admin_client):
    body = _body(holidays=["2026-12-24"], holiday_country="US", holiday_years=[2026])

    response = admin_client.post(URL, body, format="json")

    assert response.status_code == 201
    holidays = response.json()["holidays"]
    assert {"2026-12-24", "2026-01-01", "2026-07-03", "2026-11-26", "2026-12-25"} <= set(holidays)
    assert all(day.startswith("2026-") for day in holidays)
    assert holidays == sorted(set(holidays))


def test_holiday_subdivision_adds_regional_holidays(admin_client):
    body = _body(holiday_country="US", holiday_subdivision="NY", holiday_years=[2026])

    response = admin_client.post(URL, body, format="json")

    assert response.status_code == 201
    assert "2026-02-12" in response.json()["holidays"]  # Lincoln's Birthday, New York only


def test_holiday_country_and_subdivision_are_matched_in_any_case(admin_client):
    body = _body(holiday_country="us", holiday_subdivision="ny", holiday_years=[2026])

    response = admin_client.post(URL, body, format="json")

    assert response.status_code == 201
    assert "2026-02-12" in response.json()["holidays"]


@time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False)
def test_holiday_years_default_to_the_current_and_next_year(admin_client):
    response = admin_client.post(URL, _body(holidays=[], holiday_country="FR"), format="json")

    assert response.status_code == 201
    holidays = response.json()["holidays"]
    assert {"2026-07-14", "2027-07-14"} <= set(holidays)
    assert {day[:4] for day in holidays} == {"2026", "2027"}


def test_holiday_country_fields_are_not_echoed_or_stored(admin_client):
    body = _body(holiday_country="US", holiday_years=[2026])

    response = admin_client.post(URL, body, format="json")

    assert not {"holiday_country", "holiday_subdivision", "holiday_years"} & set(response.json())


def test_patch_with_holiday_country_keeps_the_holidays_already_there(admin_client):
    calendar = CalendarFactory(name="NY", holidays=["2026-12-24"])

    response = admin_client.patch(
        f"{URL}{calendar.id}/", {"holiday_country": "US", "holiday_years": [2026]}, format="json"
    )

    assert response.status_code == 200
    calendar.refresh_from_db()
    assert {"2026-12-24", "2026-12-25"} <= set(calendar.holidays)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("holiday_country", {"holiday_country": "XX"}),
        ("holiday_country", {"holiday_country": "Narnia"}),
        ("holiday_country", {"holiday_subdivision": "NY"}),
        ("holiday_subdivision", {"holiday_country": "US", "holiday_subdivision": "ZZ"}),
        ("holiday_years", {"holiday_country": "US", "holiday_years": [1066]}),
        ("holiday_years", {"holiday_country": "US", "holiday_years": []}),
        ("holiday_years", {"holiday_country": "US", "holiday_years": "2026"}),
    ],
    ids=[
        "unknown country",
        "not a country code",
        "subdivision without country",
        "unknown subdivision",
        "year out of range",
        "no years",
        "years not a list",
    ],
)
def test_bad_holiday_country_input_is_refused_naming_the_field(admin_client, field, change):
    response = admin_client.post(URL, _body(**change), format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not BusinessCalendar.objects.exists()


# --- who may change calendars ---------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_only_the_admin_role_may_change_calendars(api_client, make_user, role, method):
    calendar = CalendarFactory(name="NY")
    api_client.force_authenticate(make_user("someone", role))
    url = URL if method == "post" else f"{URL}{calendar.id}/"

    response = getattr(api_client, method)(url, _body(name="Changed"), format="json")

    assert response.status_code == 403
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["NY"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_calendars_need_credentials(api_client, method):
    response = getattr(api_client, method)(URL, _body(), format="json")

    assert response.status_code == 401


def test_a_token_authenticates_the_calendar_api(api_client, make_user):
    make_user("ada", "admin", password="pw-Secret-123")
    token = api_client.post(
        "/api/auth/token/", {"username": "ada", "password": "pw-Secret-123"}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert api_client.post(URL, _body(), format="json").status_code == 201


# --- deleting --------------------------------------------------------------------------------


def test_admin_deletes_an_unused_calendar(admin_client):
    calendar = CalendarFactory(name="Spare")

    response = admin_client.delete(f"{URL}{calendar.id}/")

    assert response.status_code == 204
    assert not BusinessCalendar.objects.exists()


def test_deleting_a_calendar_a_team_uses_answers_409_naming_the_team(admin_client):
    calendar = CalendarFactory(name="NY")
    TeamFactory(name="Inside Sales", calendar=calendar)

    response = admin_client.delete(f"{URL}{calendar.id}/")

    assert response.status_code == 409
    assert "team Inside Sales" in response.json()["detail"]
    assert BusinessCalendar.objects.filter(id=calendar.id).exists()


def test_deleting_a_calendar_an_agreement_uses_answers_409_naming_the_agreement(admin_client):
    agreement = AgreementFactory(name="Q4 promise", calendar=CalendarFactory(name="NY"))

    response = admin_client.delete(f"{URL}{agreement.calendar_id}/")

    assert response.status_code == 409
    assert "agreement Q4 promise" in response.json()["detail"]
    assert BusinessCalendar.objects.filter(id=agreement.calendar_id).exists()


def test_the_409_names_every_user_of_the_calendar(admin_client):
    calendar = CalendarFactory(name="NY")
    TeamFactory(name="East", calendar=calendar, kind=Team.Kind.SALES)
    TeamFactory(name="West", calendar=calendar, kind=Team.Kind.SALES)
    AgreementFactory(name="Main", calendar=calendar)

    detail = admin_client.delete(f"{URL}{calendar.id}/").json()["detail"]

    assert "agreement Main" in detail
    assert "teams East, West" in detail


# --- the deadline action -----------------------------------------------------------------


@pytest.fixture
def reader_client(api_client, make_user):
    api_client.force_authenticate(make_user("sam", "sales"))
    return api_client


def _deadline(client, calendar, **params):
    return client.get(f"{URL}{calendar.id}/deadline/", params)


def test_deadline_skips_a_holiday_and_the_weekend(reader_client):
    calendar = CalendarFactory(name="NY", holidays=["2026-12-25"])  # a Friday

    response = _deadline(reader_client, calendar, start="2026-12-24T16:00:00-05:00", minutes=120)

    assert response.status_code == 200
    assert response.json() == {
        "start": "2026-12-24T21:00:00Z",
        "minutes": 120,
        "due_at": "2026-12-28T15:00:00Z",  # Monday 10:00 in New York
        "business_minutes_check": 120.0,
    }


def test_deadline_from_outside_working_time_counts_from_the_next_opening(reader_client):
    calendar = CalendarFactory(name="NY")

    response = _deadline(reader_client, calendar, start="2026-12-05T12:00:00Z", minutes=30)

    assert response.json()["due_at"] == "2026-12-07T14:30:00Z"  # Monday 09:30 EST


def test_deadline_with_zero_minutes_is_the_next_opening(reader_client):
    calendar = CalendarFactory(name="NY")

    response = _deadline(reader_client, calendar, start="2026-12-04T23:00:00Z", minutes=0)

    assert response.json()["due_at"] == "2026-12-07T14:00:00Z"


def test_deadline_accepts_an_offset_whose_plus_sign_was_not_url_encoded(reader_client):
    calendar = CalendarFactory(name="Paris", timezone="Europe/Paris")

    response = reader_client.get(
        f"{URL}{calendar.id}/deadline/?start=2026-12-07T09:00:00+01:00&minutes=60"
    )

    assert response.status_code == 200
    assert response.json()["due_at"] == "2026-12-07T09:00:00Z"


@pytest.mark.parametrize(
    ("field", "params"),
    [
        ("start", {"minutes": 60}),
        ("start", {"start": "2026-12-07T09:00:00", "minutes": 60}),
        ("start", {"start": "next monday", "minutes": 60}),
        ("start", {"start": "2026-13-07T09:00:00Z", "minutes": 60}),
        ("start", {"start": "9999-12-31T23:59:00Z", "minutes": 60}),
        ("minutes", {"start": "2026-12-07T09:00:00Z"}),
        ("minutes", {"start": "2026-12-07T09:00:00Z", "minutes": -1}),
        ("minutes", {"start": "2026-12-07T09:00:00Z", "minutes": "ten"}),
        ("minutes", {"start": "2026-12-07T09:00:00Z", "minutes": 10**12}),
    ],
    ids=[
        "missing start",
        "naive start",
        "unparseable start",
        "impossible start",
        "start too far ahead",
        "missing minutes",
        "negative minutes",
        "minutes not a number",
        "minutes beyond ten years",
    ],
)
def test_bad_deadline_parameters_answer_400_naming_the_parameter(reader_client, field, params):
    calendar = CalendarFactory(name="NY")

    response = reader_client.get(f"{URL}{calendar.id}/deadline/", params)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_deadline_on_a_calendar_that_never_opens_is_a_400_not_a_500(reader_client):
    calendar = CalendarFactory(name="Closed", working_hours={})

    response = _deadline(reader_client, calendar, start="2026-12-07T09:00:00Z", minutes=60)

    assert response.status_code == 400
    assert list(response.json()) == ["minutes"]


def test_deadline_of_an_unknown_calendar_answers_404(reader_client):
    response = reader_client.get(
        f"{URL}999999/deadline/", {"start": "2026-12-07T09:00:00Z", "minutes": 1}
    )

    assert response.status_code == 404


def test_deadline_needs_credentials(api_client):
    calendar = CalendarFactory(name="NY")

    response = _deadline(api_client, calendar, start="2026-12-07T09:00:00Z", minutes=1)

    assert response.status_code == 401


def test_the_schema_documents_the_calendar_endpoints(reader_client):
    schema = reader_client.get("/api/schema/", {"format": "json"}).json()

    assert "/api/calendars/" in schema["paths"]
    assert "/api/calendars/{id}/deadline/" in schema["paths"]


def test_calendar_with_no_working_window_is_refused(admin_client):
    response = admin_client.post(URL, _body(working_hours={}), format="json")

    assert response.status_code == 400
    assert "at least one working window" in response.json()["working_hours"][0]
