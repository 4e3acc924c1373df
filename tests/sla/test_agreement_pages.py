"""The agreement pages: both sides' promises and every version, for everyone concerned."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from sla.agreements import agreement_update
from tests.factories import AgreementFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

EDITED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York


@pytest.fixture
def agreement():
    rep = UserFactory(username="sam", role=Role.SALES)
    maria = UserFactory(username="maria", role=Role.MARKETING)
    return AgreementFactory(
        name="NY inbound",
        sales_team=TeamFactory(name="Inside Sales", members=[rep]),
        marketing_team=TeamFactory(name="Demand Gen", kind="marketing", members=[maria]),
    )


def login(client, username, role=Role.SALES):
    user = UserFactory(username=username, role=role)
    client.force_login(user)
    return user


@pytest.mark.parametrize("username", ["sam", "maria"])
def test_both_sides_read_the_list_with_each_sides_promises(client, agreement, username):
    login(client, username)
    html = client.get("/agreements/").content.decode()
    assert "NY inbound" in html
    assert "First touch within" in html and "240 business minutes (4 h)" in html
    assert "Qualified leads each month" in html and "200 leads" in html
    assert "80% of delivered leads" in html


@pytest.mark.parametrize("role", Role.values)
def test_every_role_opens_the_list(client, role):
    login(client, f"someone-{role}", role)
    assert client.get("/agreements/").status_code == 200


def test_an_agreement_of_other_teams_is_not_found(client, agreement):
    login(client, "raj", Role.SALES)  # in no team of the agreement
    assert "NY inbound" not in client.get("/agreements/").content.decode()
    assert client.get(f"/agreements/{agreement.pk}/").status_code == 404


def test_an_executive_reads_every_agreement(client, agreement):
    login(client, "erin", Role.EXECUTIVE)
    assert client.get(f"/agreements/{agreement.pk}/").status_code == 200


def test_the_page_shows_each_version_and_what_it_changed(client, agreement):
    admin = UserFactory(username="ada", role=Role.ADMIN, is_superuser=True, is_staff=True)
    agreement_update(
        agreement=agreement, by=admin, now=EDITED, first_touch_minutes=120, monthly_quota=250
    )
    login(client, "sam")

    html = client.get(f"/agreements/{agreement.pk}/").content.decode()

    assert 'data-testid="version-2"' in html and 'data-testid="version-1"' in html
    assert "2 changes" in html and "the first terms" in html
    assert 'data-testid="changed-first_touch_minutes"' in html
    assert "(was 240 business minutes (4 h))" in html
    assert "(was 200 leads" in html
    assert "by ada" in html
    # The version's time in the viewer's zone (the calendar's, as sam chose none), named.
    assert '<time datetime="2026-12-01T15:00:00Z">' in html
    # The teams and the calendar are named, not shown as ids.
    assert "Inside Sales" in html and "Demand Gen" in html


def test_the_viewer_reads_times_in_the_zone_they_chose(client, agreement):
    agreement_update(agreement=agreement, by=None, now=EDITED, monthly_quota=250)
    sam = login(client, "sam")
    sam.time_zone = "Asia/Tokyo"
    sam.save()
    html = client.get(f"/agreements/{agreement.pk}/").content.decode()
    assert "Wed 2 Dec 00:00 JST" in html


def test_the_page_costs_the_same_queries_whatever_the_number_of_versions(client, agreement):
    login(client, "erin", Role.EXECUTIVE)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/agreements/{agreement.pk}/").status_code == 200
        return len(captured)

    before = queries()
    for quota in range(201, 209):
        agreement_update(agreement=agreement, by=None, now=EDITED, monthly_quota=quota)
    assert queries() == before


def test_the_list_costs_the_same_queries_whatever_the_number_of_agreements(client, agreement):
    login(client, "erin", Role.EXECUTIVE)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get("/agreements/")
        return len(captured)

    before = queries()
    AgreementFactory.create_batch(4)
    assert queries() == before
