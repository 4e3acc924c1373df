"""Round robin with absences and caps: a rep away at the lead's `received_at`, or holding
`max_open_leads` open leads, is passed by; the turn rests on the last rep given a lead;
with no rep free the lead waits in the manager queue with an `unassigned` flag.

World (tests.sla.lead_world): Inside Sales has reps sam and sofia (manager morgan).
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.absences import absence_create
from accounts.models import Role, User
from leads.models import AssignmentCursor, Lead
from leads.services.leads import reps_take
from sla.actions import lead_deliver
from sla.delivery import leads_deliver
from sla.models import Clock, Flag, Notification
from sla.selectors import inbox_leads
from tests.factories import UserFactory
from tests.sla.lead_world import UNUSABLE, build_world, lead_body, utc

NOW = utc(2026, 12, 2, 15, 0)


def deliver(world, received_at=None, **overrides):
    data = lead_body(**overrides)
    if received_at is not None:
        data["received_at"] = received_at
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=NOW)
    return lead


def away(world, who, start, end, reason="Holiday"):
    return absence_create(
        user=User.objects.get(username=who),
        starts_at=start,
        ends_at=end,
        reason=reason,
        by=None,
        at=NOW,
    )


def cap(user, n):
    user.max_open_leads = n
    user.save(update_fields=["max_open_leads"])


def owner_of(lead):
    return lead.owner.username if lead.owner else None


@pytest.mark.django_db
def test_a_rep_away_when_the_lead_arrives_is_passed_by():
    world = build_world()
    away(world, "sam", NOW - timedelta(days=1), NOW + timedelta(days=1))
    assert [owner_of(deliver(world)) for _ in range(3)] == ["sofia", "sofia", "sofia"]


@pytest.mark.django_db
def test_away_is_judged_at_the_leads_received_at_not_at_delivery():
    world = build_world()
    away(world, "sam", NOW - timedelta(hours=2), NOW + timedelta(days=1))
    # Received three hours ago, before sam's absence began: sam's turn holds.
    assert owner_of(deliver(world, received_at=NOW - timedelta(hours=3))) == "sam"
    # Received an hour ago, while sam was away.
    assert owner_of(deliver(world, received_at=NOW - timedelta(hours=1))) == "sofia"


@pytest.mark.django_db
def test_an_absence_ends_exactly_at_its_end():
    world = build_world()
    away(world, "sam", NOW - timedelta(days=1), NOW)
    assert owner_of(deliver(world, received_at=NOW - timedelta(seconds=1))) == "sofia"
    assert owner_of(deliver(world, received_at=NOW)) == "sam"


@pytest.mark.django_db
def test_the_turn_rests_on_the_last_rep_given_a_lead():
    world = build_world()
    world.a.sales_team.members.add(
        UserFactory(username="sandy", role=Role.SALES, password=UNUSABLE)
    )
    assert owner_of(deliver(world)) == "sam"
    away(world, "sandy", NOW - timedelta(days=1), NOW + timedelta(days=1))
    # sandy is passed by without losing a place: sofia, then sam, then sofia again.
    assert [owner_of(deliver(world)) for _ in range(3)] == ["sofia", "sam", "sofia"]
    assert AssignmentCursor.objects.get(team=world.a.sales_team).last_user == world.sofia


@pytest.mark.django_db
def test_a_rep_at_their_cap_is_passed_by_until_a_lead_closes():
    world = build_world()
    cap(world.sam, 1)
    owners = [owner_of(deliver(world, email=f"l{n}@example.com")) for n in range(4)]
    assert owners == ["sam", "sofia", "sofia", "sofia"]
    # A closed lead no longer counts: sam takes turns again.
    Lead.objects.filter(owner=world.sam).update(closed_at=NOW)
    assert owner_of(deliver(world)) == "sam"


@pytest.mark.django_db
def test_a_cap_of_zero_takes_no_lead():
    world = build_world()
    cap(world.sofia, 0)
    assert {owner_of(deliver(world)) for _ in range(3)} == {"sam"}


@pytest.mark.django_db
def test_a_batch_counts_the_leads_it_hands_out_against_the_caps():
    world = build_world()
    cap(world.sam, 2)
    items = [lead_body(email=f"b{n}@example.com", external_id=f"b{n}") for n in range(6)]
    results = leads_deliver(by=world.maria, items=items, agreement=world.a, now=NOW)
    owners = [owner_of(r.lead) for r in results]
    assert owners == ["sam", "sofia", "sam", "sofia", "sofia", "sofia"]


@pytest.mark.django_db
def test_a_batch_judges_each_lead_at_its_own_received_at():
    world = build_world()
    away(world, "sam", NOW - timedelta(hours=2), NOW + timedelta(days=1))
    items = [
        lead_body(email=f"b{n}@example.com", received_at=NOW - timedelta(hours=hours))
        for n, hours in enumerate((4, 3, 1, 0))
    ]
    results = leads_deliver(by=world.maria, items=items, agreement=world.a, now=NOW)
    assert [owner_of(r.lead) for r in results] == ["sam", "sofia", "sofia", "sofia"]


@pytest.mark.django_db
def test_round_robin_reads_a_constant_number_of_queries_per_batch():
    world = build_world()
    team = world.a.sales_team
    cap(world.sam, 100)
    away(world, "sofia", NOW - timedelta(days=1), NOW + timedelta(days=1))

    def queries(n):
        with CaptureQueriesContext(connection) as captured:
            reps_take(team=team, received_at=[NOW] * n)
        return len(captured)

    queries(1)  # the cursor is created on the first call
    assert queries(3) == queries(40)


# --- no rep free: the manager queue --------------------------------------------------------------


def everyone_away(world):
    for who in ("sam", "sofia"):
        away(world, who, NOW - timedelta(days=1), NOW + timedelta(days=1))


@pytest.mark.django_db
def test_with_no_rep_free_the_lead_waits_in_the_manager_queue_with_its_clock_running():
    world = build_world()
    everyone_away(world)
    lead = deliver(world, received_at=NOW - timedelta(minutes=30))
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.assigned_at) == (None, world.a.sales_team, None)
    clock = lead.clocks.get()
    assert (clock.state, clock.started_at) == (Clock.State.RUNNING, lead.received_at)
    assert lead in inbox_leads(world.morgan, now=NOW)


@pytest.mark.django_db
def test_an_unassigned_lead_raises_one_flag_dated_when_it_arrived():
    world = build_world()
    everyone_away(world)
    received = NOW - timedelta(minutes=30)
    lead = deliver(world, received_at=received)
    flag = Flag.objects.get(kind=Flag.Kind.UNASSIGNED)
    assert (flag.lead, flag.raised_at, flag.noticed_at, flag.state) == (
        lead,
        received,
        NOW,
        Flag.State.OPEN,
    )
    assert (flag.agreement, flag.team, flag.owner, flag.month) == (
        world.a,
        world.a.sales_team,
        None,
        "2026-12",
    )
    assert flag.due_at == lead.clocks.get().due_at
    assert "no rep of Inside Sales was free" in flag.detail


@pytest.mark.django_db
def test_the_teams_sales_managers_hear_of_an_unassigned_lead_at_once():
    world = build_world()
    everyone_away(world)
    deliver(world)
    flag = Flag.objects.get(kind=Flag.Kind.UNASSIGNED)
    rows = Notification.objects.filter(flag=flag)
    assert {(r.channel, r.recipient.username) for r in rows} == {("email", "morgan")}
    assert rows.get().not_before == NOW


@pytest.mark.django_db
def test_a_lead_that_does_not_qualify_raises_no_unassigned_flag():
    world = build_world()
    everyone_away(world)
    deliver(world, company_size=3)
    assert not Flag.objects.exists()


@pytest.mark.django_db
def test_a_batch_flags_its_unassigned_leads_in_constant_queries():
    world = build_world()
    everyone_away(world)

    def queries(n, tag):
        items = [
            lead_body(email=f"{tag}{i}@example.com", external_id=f"{tag}{i}") for i in range(n)
        ]
        with CaptureQueriesContext(connection) as captured:
            leads_deliver(by=world.maria, items=items, agreement=world.a, now=NOW)
        # The statements of round robin and of the flags (a bulk INSERT of leads is
        # split in chunks on SQLite, which is delivery's business, not this rule's).
        mine = ("absence", "cursor", "flag", "notification", "ownerchange", "COUNT")
        return [q["sql"] for q in captured if any(word in q["sql"] for word in mine)]

    queries(2, "warm")
    few, many = queries(3, "a"), queries(30, "b")
    assert len(few) == len(many), many
    assert Flag.objects.filter(kind=Flag.Kind.UNASSIGNED).count() == 35


@pytest.mark.django_db
def test_some_leads_of_a_batch_assigned_and_the_rest_queued():
    world = build_world()
    cap(world.sam, 1)
    cap(world.sofia, 1)
    items = [lead_body(email=f"q{n}@example.com") for n in range(4)]
    results = leads_deliver(by=world.maria, items=items, agreement=world.a, now=NOW)
    assert [owner_of(r.lead) for r in results] == ["sam", "sofia", None, None]
    flagged = set(Flag.objects.filter(kind=Flag.Kind.UNASSIGNED).values_list("lead_id", flat=True))
    assert flagged == {results[2].lead_id, results[3].lead_id}


# --- concurrency (PostgreSQL, where the cursor is really locked) -------------------------------


def _in_thread(work):
    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deliveries_stay_fair_among_free_reps_and_keep_the_caps():
    world = build_world()
    team = world.a.sales_team
    for name in ("sandy", "sara"):
        team.members.add(UserFactory(username=name, role=Role.SALES, password=UNUSABLE))
    cap(world.sam, 4)
    away(world, "sofia", NOW - timedelta(days=1), NOW + timedelta(days=1))
    start = threading.Barrier(8)

    @_in_thread
    def worker(n):
        start.wait()
        for i in range(5):
            if i % 2:  # single deliveries (the one-statement path) and small batches
                deliver(world, email=f"t{n}-{i}@example.com", external_id=f"t{n}-{i}")
            else:
                items = [
                    lead_body(email=f"t{n}-{i}-{k}@example.com", external_id=f"t{n}-{i}-{k}")
                    for k in range(3)
                ]
                leads_deliver(by=world.maria, items=items, agreement=world.a, now=NOW)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    counts = Counter(Lead.objects.values_list("owner__username", flat=True))
    assert sum(counts.values()) == 8 * (2 + 3 * 3)
    assert counts["sam"] == 4  # exactly at the cap, never above
    assert "sofia" not in counts  # away throughout
    assert None not in counts  # someone was always free
    assert abs(counts["sandy"] - counts["sara"]) <= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_single_deliveries_never_pass_a_cap():
    world = build_world()
    cap(world.sam, 3)
    cap(world.sofia, 3)
    start = threading.Barrier(8)

    @_in_thread
    def worker(n):
        start.wait()
        for i in range(2):
            deliver(world, email=f"s{n}-{i}@example.com", external_id=f"s{n}-{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    counts = Counter(Lead.objects.values_list("owner__username", flat=True))
    assert counts == {"sam": 3, "sofia": 3, None: 10}
    assert Flag.objects.filter(kind=Flag.Kind.UNASSIGNED).count() == 10
