"""Moving leads: an absent rep's open leads spread round robin, the manager queue given
out, each change of hands recorded, clocks untouched, and flags naming the owner at the
time of each miss.

The calendar is New York 09:00-17:00 on weekdays, the first-touch window 240 business
minutes: a lead received Friday 4 Dec 14:00 is due Monday 7 Dec 10:00.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.absences import absence_create
from accounts.models import Role, User
from leads.models import Lead, OwnerChange
from sla.actions import lead_deliver
from sla.checks import run_all_checks
from sla.models import Flag
from sla.reassign import open_leads_move
from tests.factories import UserFactory
from tests.sla.lead_world import UNUSABLE, build_world, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_2PM = ny(2026, 12, 4, 14, 0)
MONDAY = ny(2026, 12, 7, 9, 0)
DUE = ny(2026, 12, 7, 10, 0)


@pytest.fixture
def world():
    return build_world()


def sams_leads(world, n, received_at=FRIDAY_2PM):
    """n leads that sam owns (sofia, at a cap of zero meanwhile, takes none)."""
    world.sofia.max_open_leads = 0
    world.sofia.save()
    leads = [
        lead_deliver(
            by=world.maria,
            data=lead_body(email=f"s{i}@example.com", received_at=received_at),
            agreement=world.a,
            now=received_at,
        )[0]
        for i in range(n)
    ]
    world.sofia.max_open_leads = None
    world.sofia.save()
    assert {lead.owner_id for lead in leads} == {world.sam.pk}
    return leads


def away(user, start=MONDAY, end=MONDAY + timedelta(days=5)):
    return absence_create(
        user=user, starts_at=start, ends_at=end, reason="Holiday", by=None, at=start
    )


def move_url(world, username="sam", team=None):
    return f"/api/teams/{(team or world.a.sales_team).pk}/members/{username}/move-open-leads/"


def add_rep(world, name):
    rep = UserFactory(username=name, role=Role.SALES, password=UNUSABLE)
    world.a.sales_team.members.add(rep)
    return rep


# --- moving an absent rep's open leads -----------------------------------------------------


def test_an_absent_reps_open_leads_spread_round_robin_and_the_clocks_keep_running(
    world, api_client
):
    leads = sams_leads(world, 5)
    add_rep(world, "sandy")
    due_before = {lead.pk: lead.clocks.get().due_at for lead in leads}
    away(world.sam)
    api_client.force_authenticate(world.morgan)
    with time_machine.travel(MONDAY + timedelta(minutes=30), tick=False):
        response = api_client.post(move_url(world))
    assert response.status_code == 200, response.json()
    assert response.json() == {"moved": 5, "to": {"sandy": 3, "sofia": 2}, "left": 0}
    for lead in Lead.objects.filter(pk__in=due_before):
        assert lead.owner.username in {"sofia", "sandy"}
        assert lead.clocks.get().due_at == due_before[lead.pk]
        assert lead.clocks.get().state == "running"


def test_each_moved_lead_records_its_change_of_hands(world):
    [lead] = sams_leads(world, 1)
    away(world.sam)
    at = MONDAY + timedelta(minutes=30)
    open_leads_move(team=world.a.sales_team, member=world.sam, by=world.morgan, at=at)
    change = OwnerChange.objects.get(lead=lead)
    assert (change.from_owner, change.to_owner, change.at, change.by, change.reason) == (
        world.sam,
        world.sofia,
        at,
        world.morgan,
        OwnerChange.Reason.ABSENCE,
    )
    lead.refresh_from_db()
    assert lead.assigned_at == at


def test_closed_leads_and_other_teams_leads_stay_put(world):
    first, second = sams_leads(world, 2)
    Lead.objects.filter(pk=first.pk).update(closed_at=FRIDAY_2PM)
    away(world.sam)
    answer = open_leads_move(team=world.a.sales_team, member=world.sam, by=world.morgan, at=MONDAY)
    assert answer["moved"] == 1
    assert Lead.objects.get(pk=first.pk).owner == world.sam


def test_the_move_passes_by_reps_who_are_away_or_at_their_cap(world):
    sams_leads(world, 4)
    sandy, sara = add_rep(world, "sandy"), add_rep(world, "sara")
    away(world.sam)
    away(sandy)
    sara.max_open_leads = 1
    sara.save()
    answer = open_leads_move(team=world.a.sales_team, member=world.sam, by=world.morgan, at=MONDAY)
    assert answer == {"moved": 4, "to": {"sara": 1, "sofia": 3}, "left": 0}


def test_leads_no_rep_is_free_to_take_stay_with_the_absent_rep(world):
    sams_leads(world, 3)
    away(world.sam)
    world.sofia.max_open_leads = 1
    world.sofia.save()
    answer = open_leads_move(team=world.a.sales_team, member=world.sam, by=world.morgan, at=MONDAY)
    assert answer == {"moved": 1, "to": {"sofia": 1}, "left": 2}
    assert Lead.objects.filter(owner=world.sam).count() == 2


def test_moving_reads_a_constant_number_of_queries(world):
    sams_leads(world, 30)
    away(world.sam)

    def queries(n):
        Lead.objects.update(owner=world.sam)
        keep = list(Lead.objects.order_by("id").values_list("id", flat=True)[:n])
        Lead.objects.exclude(id__in=keep).update(closed_at=MONDAY)
        with CaptureQueriesContext(connection) as captured:
            open_leads_move(team=world.a.sales_team, member=world.sam, by=None, at=MONDAY)
        Lead.objects.update(closed_at=None)
        return len([q for q in captured if "SAVEPOINT" not in q["sql"]])

    assert queries(3) == queries(30)


def test_moving_a_rep_who_is_not_away_is_refused_409(world, api_client):
    sams_leads(world, 1)
    api_client.force_authenticate(world.morgan)
    response = api_client.post(move_url(world))
    assert response.status_code == 409
    assert "not away" in response.json()["detail"]
    assert not OwnerChange.objects.exists()


def test_who_may_move_open_leads(world, api_client):
    sams_leads(world, 1)
    away(world.sam)
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        api_client.force_authenticate(world.sam)
        assert api_client.post(move_url(world)).status_code == 403
        api_client.force_authenticate(world.maria)
        assert api_client.post(move_url(world)).status_code == 403
        api_client.force_authenticate(world.otto)  # Enterprise's manager
        assert api_client.post(move_url(world)).status_code == 404
        api_client.force_authenticate(world.ada)
        assert api_client.post(move_url(world, username="olga")).status_code == 404
        assert api_client.post(move_url(world)).status_code == 200
    assert Lead.objects.get().owner == world.sofia


# --- the owner at the time of each miss ------------------------------------------------------


def test_a_breach_noticed_after_a_move_names_the_owner_when_it_was_missed(world):
    """Due at 10:00, moved at 10:30, the check catches up at 11:00: sam missed it."""
    [lead] = sams_leads(world, 1)
    away(world.sam, start=ny(2026, 12, 7, 10, 15))
    open_leads_move(
        team=world.a.sales_team, member=world.sam, by=world.morgan, at=ny(2026, 12, 7, 10, 30)
    )
    run_all_checks(at=ny(2026, 12, 7, 11, 0))
    breach = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    assert breach.raised_at == DUE
    assert breach.owner == world.sam
    at_risk = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_AT_RISK)
    assert at_risk.owner == world.sam
    assert Lead.objects.get(pk=lead.pk).owner == world.sofia


def test_a_breach_after_a_move_names_the_new_owner(world):
    [lead] = sams_leads(world, 1)
    away(world.sam)
    open_leads_move(
        team=world.a.sales_team, member=world.sam, by=world.morgan, at=ny(2026, 12, 7, 9, 30)
    )
    run_all_checks(at=ny(2026, 12, 7, 11, 0))
    breach = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    assert breach.owner == world.sofia


def test_a_lead_moved_twice_names_whoever_held_it_at_the_miss(world, api_client):
    [lead] = sams_leads(world, 1)
    sandy = add_rep(world, "sandy")
    api_client.force_authenticate(world.morgan)
    with time_machine.travel(ny(2026, 12, 7, 9, 30), tick=False):  # before the due time
        api_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": "sofia"}, format="json")
    with time_machine.travel(ny(2026, 12, 7, 10, 30), tick=False):  # after it
        api_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": "sandy"}, format="json")
    run_all_checks(at=ny(2026, 12, 7, 11, 0))
    breach = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    assert breach.owner == world.sofia
    assert Lead.objects.get(pk=lead.pk).owner == sandy


# --- the assign endpoint and the manager queue ----------------------------------------------------


def test_assigning_a_lead_records_a_manual_change(world, api_client):
    [lead] = sams_leads(world, 1)
    api_client.force_authenticate(world.morgan)
    with time_machine.travel(MONDAY, tick=False):
        response = api_client.post(
            f"/api/leads/{lead.pk}/assign/", {"owner": "sofia"}, format="json"
        )
    assert response.status_code == 200
    change = OwnerChange.objects.get()
    assert (change.from_owner, change.to_owner, change.by, change.reason, change.at) == (
        world.sam,
        world.sofia,
        world.morgan,
        OwnerChange.Reason.MANUAL,
        MONDAY,
    )


def test_a_refused_assignment_records_nothing(world, api_client):
    [lead] = sams_leads(world, 1)
    api_client.force_authenticate(world.morgan)
    response = api_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": "olga"}, format="json")
    assert response.status_code == 400
    assert not OwnerChange.objects.exists()


def queued_lead(world):
    """A lead that arrived while both reps were away: it waits in the manager queue."""
    for rep in (world.sam, world.sofia):
        away(rep, start=FRIDAY_2PM - timedelta(hours=1), end=FRIDAY_2PM + timedelta(hours=1))
    lead, _ = lead_deliver(
        by=world.maria,
        data=lead_body(email="q@example.com", received_at=FRIDAY_2PM),
        agreement=world.a,
        now=FRIDAY_2PM,
    )
    assert lead.owner is None
    return lead


def test_assigning_a_queued_lead_resolves_its_unassigned_flag(world, api_client):
    lead = queued_lead(world)
    api_client.force_authenticate(world.morgan)
    with time_machine.travel(MONDAY, tick=False):
        response = api_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": "sam"}, format="json")
    assert response.status_code == 200
    flag = Flag.objects.get(kind=Flag.Kind.UNASSIGNED)
    assert (flag.state, flag.resolved_at, flag.resolved_by) == ("resolved", MONDAY, world.morgan)
    assert "sam" in flag.resolution_note
    change = OwnerChange.objects.get()
    assert (change.from_owner, change.to_owner) == (None, world.sam)


def test_a_breach_of_a_queued_lead_names_no_owner_when_it_had_none(world, api_client):
    lead = queued_lead(world)
    api_client.force_authenticate(world.morgan)
    with time_machine.travel(ny(2026, 12, 7, 10, 30), tick=False):  # after the due time
        api_client.post(f"/api/leads/{lead.pk}/assign/", {"owner": "sam"}, format="json")
    run_all_checks(at=ny(2026, 12, 7, 11, 0))
    breach = Flag.objects.get(lead=lead, kind=Flag.Kind.FIRST_TOUCH_BREACHED)
    assert breach.owner is None
    assert breach.team == world.a.sales_team


def test_the_manager_queue_is_given_out_round_robin(world, api_client):
    lead = queued_lead(world)
    api_client.force_authenticate(world.morgan)
    with time_machine.travel(MONDAY, tick=False):
        response = api_client.post(f"/api/teams/{world.a.sales_team.pk}/assign-queue/")
    assert response.status_code == 200, response.json()
    assert response.json() == {"moved": 1, "to": {"sam": 1}, "left": 0}
    assert Lead.objects.get(pk=lead.pk).owner == world.sam
    assert Flag.objects.get(kind=Flag.Kind.UNASSIGNED).state == "resolved"
    assert OwnerChange.objects.get().reason == OwnerChange.Reason.ROUND_ROBIN


def test_only_the_teams_managers_give_out_its_queue(world, api_client):
    queued_lead(world)
    url = f"/api/teams/{world.a.sales_team.pk}/assign-queue/"
    api_client.force_authenticate(world.sam)
    assert api_client.post(url).status_code == 403
    api_client.force_authenticate(world.otto)
    assert api_client.post(url).status_code == 404
    assert User.objects.get(username="sam").owned_leads.count() == 0
