"""The commitments page: marketing logs a month's quota and sees the month's figures."""

from datetime import UTC, datetime

import pytest
import time_machine

from sla.models import MonthlyCommitment
from tests.factories import AgreementFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def agreement():
    agreement = AgreementFactory(name="Inbound", monthly_quota=200)
    maria = UserFactory(username="maria", role="marketing")
    agreement.marketing_team.members.add(maria)
    return agreement


@time_machine.travel(NOW, tick=False)
def test_marketing_sees_last_this_and_next_month(client, agreement):
    client.force_login(agreement.marketing_team.members.get(username="maria"))
    html = client.get("/commitments/").content.decode()
    for month in ("2026-11", "2026-12", "2027-01"):
        assert month in html
    assert "agreement default" in html


@time_machine.travel(NOW, tick=False)
def test_marketing_logs_this_months_commitment(client, agreement):
    client.force_login(agreement.marketing_team.members.get(username="maria"))
    response = client.post(
        f"/commitments/{agreement.pk}/2026-12/",
        {"quota": "220", "note": "Webinar push"},
        follow=True,
    )
    assert "Commitment for 2026-12 logged for Inbound." in response.content.decode()
    commitment = MonthlyCommitment.objects.get(agreement=agreement, month="2026-12")
    assert (commitment.quota, commitment.note, commitment.logged_by.username) == (
        220,
        "Webinar push",
        "maria",
    )


@time_machine.travel(NOW, tick=False)
def test_bad_quota_is_refused_and_changes_nothing(client, agreement):
    client.force_login(agreement.marketing_team.members.get(username="maria"))
    response = client.post(f"/commitments/{agreement.pk}/2026-12/", {"quota": "lots"}, follow=True)
    assert "Quota: give the number of qualified leads you commit to." in response.content.decode()
    assert not MonthlyCommitment.objects.exists()


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("quota", ["", "  ", "99999999999999999999"])
def test_an_empty_or_huge_quota_is_refused_not_replaced(client, agreement, quota):
    client.force_login(agreement.marketing_team.members.get(username="maria"))
    response = client.post(
        f"/commitments/{agreement.pk}/2026-12/", {"quota": quota, "note": "Q4 push"}, follow=True
    )
    assert response.status_code == 400  # the form again, the error beside the quota
    assert "Quota:" in response.content.decode()
    assert "logged" not in response.content.decode()
    assert not MonthlyCommitment.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_bad_month_is_refused_naming_month(client, agreement):
    client.force_login(agreement.marketing_team.members.get(username="maria"))
    response = client.post(f"/commitments/{agreement.pk}/2026-13/", {"quota": "5"}, follow=True)
    assert "Month:" in response.content.decode()
    assert not MonthlyCommitment.objects.exists()


def test_sales_may_read_but_not_log(client, agreement):
    rep = UserFactory(username="sam", role="sales")
    agreement.sales_team.members.add(rep)
    client.force_login(rep)
    assert "Log commitment" not in client.get("/commitments/").content.decode()
    assert client.post(f"/commitments/{agreement.pk}/2026-12/", {"quota": "5"}).status_code == 403


def test_marketing_of_another_team_does_not_see_the_agreement(client, agreement):
    client.force_login(UserFactory(username="priya", role="marketing"))
    assert "Inbound" not in client.get("/commitments/").content.decode()
    assert client.post(f"/commitments/{agreement.pk}/2026-12/", {"quota": "5"}).status_code == 404
