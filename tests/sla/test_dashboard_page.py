"""The compliance page shows the compliance API's figures for each visible agreement."""

from datetime import UTC, datetime

import pytest
import time_machine

from sla.actions import lead_deliver, lead_touch
from sla.compliance import compliance_for
from tests.factories import AgreementFactory, UserFactory

pytestmark = pytest.mark.django_db

FRIDAY_4PM_NY = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
MONDAY_10AM_NY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def agreement():
    agreement = AgreementFactory(name="Inbound")
    rep = UserFactory(username="sam", role="sales")
    agreement.sales_team.members.add(rep)
    lead, _ = lead_deliver(
        by=None,
        data={"email": "a@acme.test", "company_size": 100},
        agreement=agreement,
        now=FRIDAY_4PM_NY,
    )
    lead_touch(lead=lead, by=rep, kind="call", outcome="no_answer", now=MONDAY_10AM_NY)
    return agreement


@time_machine.travel(datetime(2026, 12, 8, 15, 0, tzinfo=UTC), tick=False)
def test_executive_sees_both_sides_with_the_api_figures(client, agreement, make_user):
    client.force_login(make_user("erin", "executive"))
    html = client.get("/compliance/").content.decode()
    figures = compliance_for(agreement=agreement, month="2026-12", at=datetime.now(UTC))
    assert figures["sales"]["compliance_percent"] == 100.0  # touched within 240 business min
    assert "Inbound" in html and "2026-12 in America/New_York" in html
    assert ">sam<" in html


@time_machine.travel(datetime(2026, 12, 8, 15, 0, tzinfo=UTC), tick=False)
def test_a_malformed_month_falls_back_to_this_month_with_a_warning(client, agreement, make_user):
    client.force_login(make_user("erin", "executive"))
    html = client.get("/compliance/?month=2026-13").content.decode()
    assert "is not a month in the form YYYY-MM" in html
    assert "2026-12 in America/New_York" in html


def test_a_rep_outside_the_agreement_sees_no_agreement(client, agreement, make_user):
    client.force_login(make_user("zed", "sales"))
    assert "Inbound" not in client.get("/compliance/").content.decode()


@pytest.mark.parametrize("month", ["0000-01", "9999-12", "2026-13", "abc"])
def test_an_impossible_month_is_explained_not_a_server_error(client, month):
    erin = UserFactory(username="erin", role="executive")
    client.force_login(erin)
    response = client.get(f"/compliance/?month={month}")
    assert response.status_code == 200
    assert "Showing this month." in response.content.decode()
