"""GET /api/compliance/: the figures of an agreement the caller can see, every 400 named."""

from datetime import UTC, datetime

import pytest
import time_machine

from accounts.models import Role, Team
from tests.factories import AgreementFactory, CalendarFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def agreement():
    rep = UserFactory(username="sam", role=Role.SALES)
    return AgreementFactory(
        sales_team=TeamFactory(kind=Team.Kind.SALES, members=[rep]),
        calendar=CalendarFactory(timezone="Pacific/Auckland"),
    )


def get(api_client, user, query):
    api_client.force_authenticate(user)
    return api_client.get(f"/api/compliance/{query}")


def test_a_member_of_the_agreement_reads_its_figures(api_client, agreement):
    LeadFactory(agreement=agreement, received_at=datetime(2026, 12, 2, 1, 0, tzinfo=UTC))

    response = get(
        api_client, UserFactory(username="sam"), f"?agreement={agreement.id}&month=2026-12"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["month"], body["agreement"]) == ("2026-12", agreement.id)
    assert set(body) >= {"marketing", "sales", "by_rep"}
    assert set(body["marketing"]) == {
        "committed",
        "delivered",
        "delivered_qualified",
        "attainment_percent",
        "expected_to_date",
        "accepted",
        "rejected",
        "acceptance_percent",
        "duplicates",
        "rejections_pending",
        "disputes_open",
        "status",
    }
    assert set(body["sales"]) == {
        "leads",
        "touched_within_sla",
        "breached",
        "compliance_percent",
        "median_first_touch_minutes",
        "p90_first_touch_minutes",
        "open_breaches",
        "premature_abandons",
    }
    assert body["marketing"]["delivered"] == 1


def test_an_executive_reads_any_agreement(api_client, agreement):
    erin = UserFactory(role=Role.EXECUTIVE)
    assert get(api_client, erin, f"?agreement={agreement.id}").status_code == 200


@time_machine.travel(datetime(2026, 12, 31, 11, 30, tzinfo=UTC), tick=False)
def test_the_default_month_is_the_current_month_in_the_calendars_zone(api_client, agreement):
    # 31 Dec 11:30 UTC is already 1 Jan 2027 in Auckland.
    erin = UserFactory(role=Role.EXECUTIVE)
    assert get(api_client, erin, f"?agreement={agreement.id}").json()["month"] == "2027-01"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "agreement"),
        ("?month=2026-12", "agreement"),
        ("?agreement=abc", "agreement"),
        ("?agreement=-1", "agreement"),
        ("?agreement=99999999999999999999999", "agreement"),
        ("?agreement={id}&month=2026-13", "month"),
        ("?agreement={id}&month=12-2026", "month"),
        ("?agreement={id}&month=0001-01", "month"),
    ],
)
def test_bad_parameters_answer_400_naming_them(api_client, agreement, query, field):
    erin = UserFactory(role=Role.EXECUTIVE)
    response = get(api_client, erin, query.format(id=agreement.id))
    assert response.status_code == 400
    assert field in response.json()


def test_an_agreement_the_caller_is_not_party_to_answers_404(api_client, agreement):
    outsider = UserFactory(role=Role.SALES)
    TeamFactory(kind=Team.Kind.SALES, members=[outsider])
    assert get(api_client, outsider, f"?agreement={agreement.id}").status_code == 404


def test_an_unknown_agreement_answers_404(api_client, agreement):
    erin = UserFactory(role=Role.EXECUTIVE)
    assert get(api_client, erin, "?agreement=987654").status_code == 404


def test_anonymous_callers_get_401(api_client, agreement):
    assert api_client.get(f"/api/compliance/?agreement={agreement.id}").status_code == 401
