"""A lead's page: one timeline of everything that happened, the score explained, the
clocks' due times in both zones, and a fixed number of queries however long the story."""

import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from sla.actions import lead_acknowledge, lead_assign, lead_deliver, lead_move_stage, lead_touch
from sla.models import Flag
from sla.timeline import lead_timeline, score_breakdown
from tests.factories import FlagFactory
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_9AM = ny(2026, 12, 4, 9, 0)
MONDAY_10AM = ny(2026, 12, 7, 10, 0)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def lead(world):
    data = {**lead_body(), "received_at": FRIDAY_9AM}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=FRIDAY_9AM)
    return lead


def a_long_story(world, lead, touches: int):
    lead_assign(lead=lead, by=world.morgan, owner="sofia", now=ny(2026, 12, 4, 9, 30))
    for n in range(touches):
        lead_touch(
            lead=lead, by=world.sofia, kind="call", outcome="no_answer", now=ny(2026, 12, 4, 15, n)
        )
    lead_acknowledge(lead=lead, by=world.sofia, now=ny(2026, 12, 4, 16, 0))
    lead_move_stage(lead=lead, by=world.sofia, stage="engaged", now=ny(2026, 12, 4, 16, 5))
    FlagFactory(
        agreement=world.a,
        lead=lead,
        owner=world.sofia,
        team=world.a.sales_team,
        raised_at=ny(2026, 12, 4, 13, 0),
        resolved_at=ny(2026, 12, 4, 17, 0),
        resolved_by=world.morgan,
        resolution_note="Phone lines were down",
        state=Flag.State.RESOLVED,
        detail="first touch due Fri 13:00 passed untouched",
    )


def test_the_timeline_tells_everything_in_time_order(world, lead):
    a_long_story(world, lead, touches=1)
    events = lead_timeline(lead.__class__.objects.get(pk=lead.pk), now=MONDAY_10AM)
    kinds = [event.kind for event in events]
    assert kinds[:4] == ["delivered", "scored", "clock_started", "stage"]  # into the funnel
    assert kinds[4] == "assigned"  # by the manager, half an hour later
    assert kinds.index("flag_raised") < kinds.index("touch") < kinds.index("verdict")
    moved_to_engaged = len(kinds) - 1 - kinds[::-1].index("stage")
    # The late touch resolved the breach it recorded; the manager's note came last.
    assert kinds.index("verdict") < moved_to_engaged < len(kinds) - 1
    assert kinds[-1] == "flag_resolved"
    assert [e.at for e in events] == sorted(e.at for e in events)
    stopped = next(e for e in events if e.kind == "clock_stopped")
    assert stopped.title.endswith("clock stopped late") and stopped.detail == "by touch"
    resolved = events[-1]
    assert resolved.detail == "Phone lines were down" and resolved.by == "morgan"


def test_a_clock_past_due_shows_before_any_check_flagged_it(world, lead):
    events = lead_timeline(lead, now=MONDAY_10AM)
    ran_out = [e for e in events if e.kind == "clock_breached"]
    assert len(ran_out) == 1 and ran_out[0].at == ny(2026, 12, 4, 13, 0)


def test_the_score_is_explained_rule_by_rule_with_its_definition_version(world, lead):
    breakdown = score_breakdown(lead)
    assert breakdown["version"] == lead.definition_version
    assert breakdown["criteria"] == [{"label": "50+ staff", "points": 60, "matched": True}]
    assert breakdown["disqualifiers"] == [{"label": "Student", "matched": False}]


def test_the_page_shows_the_rules_and_the_due_times_in_both_zones(client, world, lead):
    User.objects.filter(pk=world.sam.pk).update(time_zone="Europe/Berlin")
    client.force_login(User.objects.get(pk=world.sam.pk))
    with time_machine.travel(MONDAY_10AM, tick=False):
        html = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "50+ staff</strong>: +60" in html and "Not disqualified by Student" in html
    assert "Good lead v1" in html
    # The first-touch clock: due Friday 13:00 New York = 19:00 Berlin.
    timeline = html[html.index('data-testid="timeline"') :]
    assert re.search(
        r'Due <time datetime="2026-12-04T18:00:00Z">Fri 4 Dec 19:00 CET</time> '
        r'<span class="text-body-secondary small">\(Fri 4 Dec 13:00 EST, calendar\)</span>',
        timeline,
    )


def test_the_lead_page_offers_the_inbox_actions_and_a_manager_resolves_a_flag(client, world, lead):
    flag = FlagFactory(agreement=world.a, lead=lead, owner=world.sam, team=world.a.sales_team)
    client.force_login(world.morgan)
    with time_machine.travel(MONDAY_10AM, tick=False):
        html = client.get(f"/leads/{lead.pk}/").content.decode()
        for button in ("Accept lead", "Log touch", "Reject lead", "Move", "Abandon lead"):
            assert f">{button}" in html, button
        assert "Override the attempts rule" in html and "Resolution note" in html
        response = client.post(
            f"/flags/{flag.pk}/resolve/",
            {"note": "Customer on holiday", "next": f"/leads/{lead.pk}/"},
            follow=True,
        )
    assert response.redirect_chain[-1][0] == f"/leads/{lead.pk}/"
    assert "Flag resolved: First touch breached" in response.content.decode()
    assert Flag.objects.get(pk=flag.pk).resolution_note == "Customer on holiday"


def page_queries(client, user, lead) -> int:
    client.force_login(user)
    with time_machine.travel(MONDAY_10AM, tick=False), CaptureQueriesContext(connection) as ctx:
        assert client.get(f"/leads/{lead.pk}/").status_code == 200
    return len(ctx.captured_queries)


def test_the_lead_page_costs_the_same_queries_for_a_short_or_long_history(client, world, lead):
    a_long_story(world, lead, touches=1)
    short = page_queries(client, world.morgan, lead)
    for n in range(12):
        lead_touch(
            lead=lead, by=world.sofia, kind="email", outcome="no_answer", now=ny(2026, 12, 7, 9, n)
        )
    assert page_queries(client, world.morgan, lead) == short
