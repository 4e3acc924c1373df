"""Months at the edges: out of range is refused with its field named (never a 500), a
month the agreement does not cover is `not_in_effect`, a month not begun `not_started`."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from accounts.models import Role
from core.timeparse import month_field, parse_month
from sla.compliance import MARKETING_STATUSES, compliance_for, compliance_trend
from tests.factories import AgreementFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

# Tue 15 Dec 2026 12:00 in New York.
NOW = datetime(2026, 12, 15, 17, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agreement():
    # In effect from 1 Mar 2026 to 31 Jan 2027; the quota of 1 is met in December.
    agreement = AgreementFactory(
        effective_from=date(2026, 3, 1), effective_to=date(2027, 1, 31), monthly_quota=1
    )
    LeadFactory(agreement=agreement, received_at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    return agreement


def status(agreement, month: str, at: datetime = NOW) -> str:
    return compliance_for(agreement=agreement, month=month, at=at)["marketing"]["status"]


# --- the parser -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0000-01", "9999-12", "1969-12", "2201-01"])
def test_a_month_outside_the_calendars_range_is_refused_saying_the_range(text):
    with pytest.raises(ValueError, match=f"{text} is out of range: give a month from 1970-01"):
        parse_month(text)


@pytest.mark.parametrize(("text", "parsed"), [("1970-01", (1970, 1)), ("2200-12", (2200, 12))])
def test_the_first_and_last_months_of_the_range_are_months(text, parsed):
    assert parse_month(text) == parsed


def test_a_service_names_the_month_field_it_refuses():
    with pytest.raises(Exception) as refused:
        month_field("9999-12", field="month")
    assert "month" in refused.value.message_dict


def test_the_last_month_of_the_range_has_figures(agreement):
    assert compliance_for(agreement=agreement, month="2200-12", at=NOW)["month"] == "2200-12"


# --- the statuses -------------------------------------------------------------------------


def test_a_month_before_the_agreement_took_effect_is_not_in_effect(agreement):
    assert status(agreement, "2026-02") == "not_in_effect"


def test_a_month_after_the_agreement_ended_is_not_in_effect(agreement):
    assert status(agreement, "2027-02", at=datetime(2027, 3, 10, 12, 0, tzinfo=UTC)) == (
        "not_in_effect"
    )


def test_a_month_not_yet_begun_is_not_started(agreement):
    assert status(agreement, "2027-01") == "not_started"


def test_the_month_the_agreement_took_effect_is_judged(agreement):
    # March 2026 is closed and no lead came: the quota of 1 was missed.
    assert status(agreement, "2026-03") == "missed"


def test_the_running_month_that_met_its_quota_is_met(agreement):
    assert status(agreement, "2026-12") == "met"


def test_every_status_has_words_for_a_page():
    assert set(MARKETING_STATUSES) >= {"not_in_effect", "not_started", "met", "missed"}
    assert MARKETING_STATUSES["not_in_effect"] == "Not in effect"


def test_the_trend_says_which_months_the_agreement_covered(agreement):
    trend = compliance_trend(agreement=agreement, months=["2026-02", "2026-12", "2027-01"], at=NOW)
    assert [entry["marketing"]["status"] for entry in trend] == [
        "not_in_effect",
        "met",
        "not_started",
    ]


# --- the API and the page ------------------------------------------------------------------


@pytest.mark.parametrize("month", ["0000-01", "9999-12"])
def test_the_api_answers_400_naming_the_month_out_of_range(api_client, agreement, month):
    api_client.force_authenticate(UserFactory(role=Role.EXECUTIVE))
    response = api_client.get(f"/api/compliance/?agreement={agreement.id}&month={month}")
    assert response.status_code == 400
    assert response.json() == {
        "month": [f"{month} is out of range: give a month from 1970-01 to 2200-12."]
    }


@pytest.mark.parametrize(
    ("month", "expected"), [("2026-02", "not_in_effect"), ("2027-01", "not_started")]
)
@time_machine.travel(NOW, tick=False)
def test_the_api_answers_the_status_of_a_month_outside_the_agreement(
    api_client, agreement, month, expected
):
    api_client.force_authenticate(UserFactory(role=Role.EXECUTIVE))
    response = api_client.get(f"/api/compliance/?agreement={agreement.id}&month={month}")
    assert response.status_code == 200
    assert response.json()["marketing"]["status"] == expected


@pytest.mark.parametrize("month", ["0000-01", "9999-12"])
@time_machine.travel(NOW, tick=False)
def test_the_page_answers_a_month_out_of_range_with_the_reason(client, agreement, month):
    client.force_login(UserFactory(role=Role.EXECUTIVE))
    response = client.get(f"/compliance/?month={month}")
    assert response.status_code == 200
    assert "is out of range: give a month from 1970-01 to 2200-12" in response.content.decode()
