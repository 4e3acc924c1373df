"""What the list's cheaper paths must keep: each filter request filters by its own
person, a bad filter value is refused every time, instants are written as DRF writes
them in the current zone, and the clocks are read only for leads a touch may have
stopped (sla/filters.py QuickFilterSet, sla/api/lead_rows.py)."""

import pytest
import time_machine
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sla.actions import lead_deliver, lead_touch
from sla.api.lead_rows import lead_row, lead_rows, lead_values
from sla.api.lead_serializers import LeadSerializer
from sla.filters import LeadFilter
from sla.models import Clock
from sla.selectors import lead_list
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)


class _Request:
    def __init__(self, user):
        self.user = user


def deliver(world, at, **overrides):
    data = {**lead_body(**overrides), "received_at": at}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=at)
    return lead


def test_owner_me_filters_each_request_by_its_own_person():
    world = build_world()
    for n in range(4):
        deliver(world, ny(2026, 12, 7, 9, n), email=f"l{n}@example.com")
    owners = {lead.owner for lead in lead_list(world.morgan, now=MONDAY_10AM)}
    assert len(owners) == 2
    first, second = sorted(owners, key=lambda user: user.username)
    queryset = lead_list(world.morgan, now=MONDAY_10AM)
    # Both made before either filters: each must call its own FilterSet's method.
    mine = LeadFilter(QueryDict("owner=me"), queryset, request=_Request(first))
    theirs = LeadFilter(QueryDict("owner=me"), queryset, request=_Request(second))
    assert mine.is_valid() and theirs.is_valid()
    assert {lead.owner for lead in mine.qs} == {first}
    assert {lead.owner for lead in theirs.qs} == {second}


def test_a_bad_filter_value_is_refused_by_every_request_not_only_the_first():
    world = build_world()
    queryset = lead_list(world.morgan, now=MONDAY_10AM)
    for _ in range(2):
        filterset = LeadFilter(
            QueryDict("sla_status=late&received_after=soon"), queryset, request=None
        )
        assert not filterset.is_valid()
        assert set(filterset.errors) == {"sla_status", "received_after"}
    assert LeadFilter(QueryDict("sla_status=breached"), queryset, request=None).is_valid()


def test_the_api_refuses_a_bad_filter_value_each_time(api_client):
    world = build_world()
    api_client.force_authenticate(user=world.morgan)
    for _ in range(2):
        response = api_client.get("/api/leads/", {"sla_status": "late"})
        assert response.status_code == 400
        assert "sla_status" in response.json()


def test_instants_are_written_in_the_current_zone_exactly_as_the_serializer_writes_them():
    world = build_world()
    touched = deliver(world, ny(2026, 12, 4, 10, 0), email="touched@example.com")
    lead_touch(
        lead=touched, by=world.sam, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 11, 0)
    )
    deliver(world, ny(2026, 12, 7, 9, 0), email="pending@example.com")
    with time_machine.travel(MONDAY_10AM, tick=False), timezone.override("America/New_York"):
        leads = list(lead_list(world.morgan, now=MONDAY_10AM))
        expected = [LeadSerializer(lead, context={"now": MONDAY_10AM}).data for lead in leads]
        rows = lead_rows(list(lead_values(lead_list(world.morgan, now=MONDAY_10AM))))
        one = lead_row(leads[0], now=MONDAY_10AM)
    assert rows == expected
    assert one == expected[0]
    assert rows[0]["received_at"].endswith("-05:00")


def _clock_reads(queries) -> int:
    table = Clock._meta.db_table
    return sum(1 for query in queries if f'FROM "{table}"' in query["sql"])


def test_a_page_of_leads_whose_first_clock_still_runs_reads_no_clock():
    world = build_world()
    for n in range(3):
        deliver(world, ny(2026, 12, 7, 9, n), email=f"l{n}@example.com")
    with time_machine.travel(MONDAY_10AM, tick=False):
        page = list(lead_values(lead_list(world.morgan, now=MONDAY_10AM)))
        with CaptureQueriesContext(connection) as queries:
            rows = lead_rows(page)
    assert [row["sla"]["first_touched_at"] for row in rows] == [None] * 3
    assert _clock_reads(queries) == 0


def test_a_page_with_a_touched_lead_reads_its_clock_and_says_when_it_was_touched():
    world = build_world()
    deliver(world, ny(2026, 12, 7, 9, 0), email="pending@example.com")
    touched = deliver(world, ny(2026, 12, 4, 10, 0), email="touched@example.com")
    lead_touch(
        lead=touched, by=world.sam, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 11, 0)
    )
    with time_machine.travel(MONDAY_10AM, tick=False):
        page = list(lead_values(lead_list(world.morgan, now=MONDAY_10AM)))
        with CaptureQueriesContext(connection) as queries:
            rows = {row["email"]: row for row in lead_rows(page)}
    assert rows["touched@example.com"]["sla"]["first_touched_at"] == "2026-12-04T16:00:00Z"
    assert rows["pending@example.com"]["sla"]["first_touched_at"] is None
    assert _clock_reads(queries) == 1
