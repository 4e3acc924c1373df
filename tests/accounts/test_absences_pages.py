"""The team pages: members with open leads, caps and absences; recording, removing, capping
and moving, each answered on the page. (The real-browser run is tests/browser/test_team_page.py.)
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.absences import absence_create
from accounts.models import Absence
from leads.models import Lead
from sla.actions import lead_deliver
from sla.models import Flag
from tests.sla.lead_world import build_world, lead_body, ny, utc

pytestmark = pytest.mark.django_db
NOW = ny(2026, 12, 7, 11, 0)  # a Monday


@pytest.fixture
def world():
    return build_world()


def page(client, world, who="morgan"):
    client.force_login(world.users[who])
    return client.get(reverse("team-detail", args=[world.a.sales_team.pk]))


def test_the_team_page_lists_members_with_open_leads_and_who_is_away(client, world):
    absence_create(
        user=world.sam,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=2),
        reason="Holiday",
        by=None,
        at=NOW,
    )
    lead_deliver(by=world.maria, data=lead_body(), agreement=world.a, now=NOW)
    with time_machine.travel(NOW, tick=False):
        html = page(client, world).content.decode()
    assert 'data-testid="member-sam"' in html and 'data-testid="member-sofia"' in html
    assert "Holiday" in html
    assert "Away</span> until" in html
    assert "Move open leads" not in html  # sam is away but holds no open lead


@pytest.mark.parametrize(
    ("who", "status"), [("sam", 403), ("maria", 403), ("erin", 403), ("otto", 404), ("ada", 200)]
)
def test_who_opens_a_team_page(client, world, who, status):
    assert page(client, world, who).status_code == status


def test_the_team_list_shows_a_managers_sales_teams_only(client, world):
    client.force_login(world.morgan)
    html = client.get(reverse("team-list")).content.decode()
    assert "Inside Sales" in html and "Enterprise" not in html


def test_the_team_list_counts_every_member_and_who_is_away_for_a_manager(client, world):
    # The manager sees their team through their own membership: the counts are still the
    # whole team's (sam, sofia and morgan), with sam away.
    absence_create(
        user=world.users["sam"],
        starts_at=utc(2026, 12, 4, 12, 0),
        ends_at=utc(2026, 12, 9, 12, 0),
        reason="Holiday",
        by=world.morgan,
        at=utc(2026, 12, 4, 11, 0),
    )
    client.force_login(world.morgan)
    with time_machine.travel(utc(2026, 12, 5, 12, 0), tick=False):
        response = client.get(reverse("team-list"))
    row = [t for t in response.context["teams"] if t.name == "Inside Sales"][0]
    assert (row.people, row.away) == (3, 1)


def test_recording_an_absence_from_the_page_reads_the_calendars_wall_clock(client, world):
    team = world.a.sales_team
    team.calendar = world.calendar  # New York
    team.save()
    client.force_login(world.morgan)
    url = reverse("team-absence-add", args=[world.a.sales_team.pk])
    body = {
        "user": "sam",
        "starts_at": "2026-12-14T09:00",
        "ends_at": "2026-12-18T17:00",
        "reason": "Holiday",
    }
    response = client.post(url, body)
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.starts_at, absence.ends_at) == (ny(2026, 12, 14, 9, 0), ny(2026, 12, 18, 17, 0))
    assert absence.created_by == world.morgan


def test_a_refused_absence_shows_its_error_beside_the_field_and_writes_nothing(client, world):
    client.force_login(world.morgan)
    url = reverse("team-absence-add", args=[world.a.sales_team.pk])
    body = {"user": "sam", "starts_at": "2026-12-14T09:00", "ends_at": "2026-12-14T09:00"}
    response = client.post(url, body)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_ends_at-error"' in html and "must be after starts_at" in html
    assert not Absence.objects.exists()


def test_a_cap_is_set_and_a_negative_one_refused_on_the_page(client, world):
    client.force_login(world.morgan)
    url = reverse("team-cap-set", args=[world.a.sales_team.pk, "sam"])
    client.post(url, {"max_open_leads": "4"})
    world.sam.refresh_from_db()
    assert world.sam.max_open_leads == 4
    response = client.post(url, {"max_open_leads": "-2"}, follow=True)
    assert "may not be below zero" in response.content.decode()
    world.sam.refresh_from_db()
    assert world.sam.max_open_leads == 4


def test_moving_an_absent_reps_leads_from_the_page_says_where_they_went(client, world):
    world.sofia.max_open_leads = 0
    world.sofia.save()
    for n in range(2):
        lead_deliver(
            by=world.maria,
            data=lead_body(email=f"m{n}@example.com"),
            agreement=world.a,
            now=utc(2026, 12, 4, 15),
        )
    world.sofia.max_open_leads = None
    world.sofia.save()
    absence_create(
        user=world.sam,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(days=2),
        by=None,
        at=NOW,
    )
    with time_machine.travel(NOW, tick=False):
        assert "Move open leads" in page(client, world).content.decode()
        url = reverse("team-move-open-leads", args=[world.a.sales_team.pk, "sam"])
        response = client.post(url, follow=True)
    assert "Moved 2 leads of sam: sofia 2." in response.content.decode()
    assert set(Lead.objects.values_list("owner__username", flat=True)) == {"sofia"}


def test_the_manager_queue_is_shown_and_given_out_from_the_page(client, world):
    for rep in (world.sam, world.sofia):
        absence_create(user=rep, starts_at=NOW - timedelta(days=1), ends_at=NOW, by=None, at=NOW)
    lead_deliver(
        by=world.maria,
        data=lead_body(received_at=NOW - timedelta(hours=1)),
        agreement=world.a,
        now=NOW,
    )
    with time_machine.travel(NOW, tick=False):
        html = page(client, world).content.decode()
        assert "1 lead</strong> waits in the manager queue" in html
        response = client.post(
            reverse("team-assign-queue", args=[world.a.sales_team.pk]), follow=True
        )
    assert "Moved 1 lead of the manager queue: sam 1." in response.content.decode()
    assert Flag.objects.get(kind=Flag.Kind.UNASSIGNED).state == "resolved"


def test_the_admin_lists_absences_but_records_them_only_through_the_rules(client, world):
    absence_create(user=world.sam, starts_at=NOW, ends_at=NOW + timedelta(days=1), by=None, at=NOW)
    world.ada.is_staff = world.ada.is_superuser = True
    world.ada.save()
    client.force_login(world.ada)
    assert client.get("/admin/accounts/absence/").status_code == 200
    assert client.get("/admin/accounts/absence/add/").status_code == 403
