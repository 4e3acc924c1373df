"""Round robin: qualifying leads go to the active reps of the sales team in turn.

The concurrent cases run on PostgreSQL, where the team's cursor row is really locked.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from accounts.models import Role
from leads.models import Lead
from sla.actions import lead_deliver
from tests.factories import UserFactory
from tests.sla.lead_world import UNUSABLE, build_world, lead_body, utc

NOW = utc(2026, 12, 2, 15, 0)


def deliver(world, **overrides):
    lead, _ = lead_deliver(by=world.maria, data=lead_body(**overrides), agreement=world.a, now=NOW)
    return lead


@pytest.mark.django_db
def test_round_robin_gives_each_active_rep_a_lead_in_turn():
    world = build_world()
    owners = [deliver(world).owner.username for _ in range(4)]
    assert owners == ["sam", "sofia", "sam", "sofia"]


@pytest.mark.django_db
def test_round_robin_skips_deactivated_reps():
    world = build_world()
    world.sofia.is_active = False
    world.sofia.save()
    owners = {deliver(world).owner.username for _ in range(3)}
    assert owners == {"sam"}


@pytest.mark.django_db
def test_round_robin_skips_members_who_are_not_reps():
    world = build_world()
    world.a.sales_team.members.add(UserFactory(username="aaron", role=Role.EXECUTIVE))
    owners = {deliver(world).owner.username for _ in range(4)}
    assert owners == {"sam", "sofia"}  # not the manager morgan, nor aaron


@pytest.mark.django_db
def test_a_rep_who_joins_takes_turns_from_the_next_lead():
    world = build_world()
    deliver(world)  # sam
    world.a.sales_team.members.add(UserFactory(username="sandy", role=Role.SALES))
    owners = [deliver(world).owner.username for _ in range(3)]
    assert owners == ["sandy", "sofia", "sam"]


@pytest.mark.django_db
def test_a_lead_that_does_not_qualify_does_not_use_a_turn():
    world = build_world()
    first = deliver(world)
    deliver(world, company_size=3)
    assert first.owner.username == "sam"
    assert deliver(world).owner.username == "sofia"


def _in_thread(work):
    """Run `work` on a thread's own database connection, closed afterwards."""

    def run(*args):
        try:
            return work(*args)
        finally:
            connection.close()

    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deliveries_keep_reps_within_one_lead_of_each_other():
    world = build_world()
    world.a.sales_team.members.add(
        UserFactory(username="sandy", role=Role.SALES, password=UNUSABLE)
    )
    start = threading.Barrier(8)

    @_in_thread
    def worker(n):
        start.wait()
        for i in range(5):
            deliver(world, email=f"t{n}-{i}@example.com", external_id=f"t{n}-{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    counts = Counter(Lead.objects.values_list("owner__username", flat=True))
    assert sum(counts.values()) == 40
    assert set(counts) == {"sam", "sofia", "sandy"}
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_duplicate_deliveries_create_exactly_one_lead():
    world = build_world()
    start = threading.Barrier(8)

    @_in_thread
    def worker(_):
        start.wait()
        return deliver(world, external_id="crm-7").pk

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(worker, range(8)))
    assert Lead.objects.filter(external_id="crm-7").count() == 1
    assert ids == {Lead.objects.get().pk}
