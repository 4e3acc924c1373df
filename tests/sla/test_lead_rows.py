"""The list's hand-built rows say exactly what LeadSerializer says, lead for lead."""

import pytest
import time_machine

from sla.actions import lead_acknowledge, lead_deliver, lead_reject, lead_touch
from sla.api.lead_rows import lead_row
from sla.api.lead_serializers import LeadSerializer
from sla.selectors import lead_list
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)


def deliver(world, at, **overrides):
    data = {**lead_body(**overrides), "received_at": at}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=at)
    return lead


def test_every_state_of_a_lead_reads_the_same_as_the_serializer(api_client):
    world = build_world()
    pending = deliver(world, ny(2026, 12, 7, 9, 0), email="pending@example.com")
    breached = deliver(world, ny(2026, 12, 4, 9, 0), email="breached@example.com")
    touched = deliver(world, ny(2026, 12, 4, 10, 0), email="touched@example.com")
    lead_touch(
        lead=touched, by=world.sam, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 11, 0)
    )
    acknowledged = deliver(world, ny(2026, 12, 4, 11, 0), email="ack@example.com")
    lead_acknowledge(lead=acknowledged, by=acknowledged.owner, now=ny(2026, 12, 4, 12, 0))
    rejected = deliver(world, ny(2026, 12, 4, 12, 0), email="rejected@example.com")
    lead_reject(
        lead=rejected,
        by=rejected.owner,
        reason="bad_contact",
        note="wrong number",
        now=ny(2026, 12, 4, 13, 0),
    )
    deliver(world, ny(2026, 12, 7, 9, 30), email="student@example.com", company_size=1)
    deliver(world, ny(2026, 12, 7, 9, 40), email="bare@example.com", company_size=None)
    assert {pending.pk, breached.pk}
    with time_machine.travel(MONDAY_10AM, tick=False):
        leads = list(lead_list(world.morgan, now=MONDAY_10AM))
        assert len(leads) == 7
        for lead in leads:
            expected = LeadSerializer(lead, context={"now": MONDAY_10AM}).data
            assert lead_row(lead, now=MONDAY_10AM) == expected, lead.email


def test_the_api_list_answers_the_hand_built_rows(api_client):
    world = build_world()
    deliver(world, ny(2026, 12, 4, 9, 0), email="breached@example.com")
    api_client.force_authenticate(user=world.morgan)
    with time_machine.travel(MONDAY_10AM, tick=False):
        listed = api_client.get("/api/leads/").json()["results"]
        lead = lead_list(world.morgan, now=MONDAY_10AM).get()
        assert listed == [LeadSerializer(lead, context={"now": MONDAY_10AM}).data]


def test_plain_rows_read_the_same_as_the_serializer_for_every_state(api_client):
    from sla.api.lead_rows import lead_rows, lead_values

    world = build_world()
    deliver(world, ny(2026, 12, 7, 9, 0), email="pending@example.com")
    deliver(world, ny(2026, 12, 4, 9, 0), email="breached@example.com")
    touched = deliver(world, ny(2026, 12, 4, 10, 0), email="touched@example.com")
    lead_touch(
        lead=touched, by=world.sam, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 11, 0)
    )
    late = deliver(world, ny(2026, 12, 3, 9, 0), email="late-touch@example.com")
    lead_touch(
        lead=late, by=world.sam, kind="email", outcome="connected", now=ny(2026, 12, 4, 16, 0)
    )
    rejected = deliver(world, ny(2026, 12, 4, 12, 0), email="rejected@example.com")
    lead_reject(
        lead=rejected, by=rejected.owner, reason="bad_contact", note="x", now=ny(2026, 12, 4, 13)
    )
    deliver(world, ny(2026, 12, 7, 9, 30), email="student@example.com", company_size=1)
    with time_machine.travel(MONDAY_10AM, tick=False):
        leads = lead_list(world.morgan, now=MONDAY_10AM)
        rows = lead_rows(list(lead_values(leads)))
        expected = [LeadSerializer(lead, context={"now": MONDAY_10AM}).data for lead in leads]
    assert len(rows) == 6
    assert rows == expected
