"""Callbacks on the pages: the form on a lead's page and in an inbox row, the refusals in
words, the callback on the timeline, and its badge in the inbox. New York 09:00–17:00
weekdays; 2026-12-04 is a Friday."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from sla.actions import lead_deliver, lead_touch
from sla.callbacks import lead_callback
from sla.models import Callback
from sla.timeline import lead_timeline
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY_4PM = ny(2026, 12, 4, 16, 0)
MONDAY_10AM = ny(2026, 12, 7, 10, 0)
MONDAY_11AM = ny(2026, 12, 7, 11, 0)
TUESDAY_10AM = ny(2026, 12, 8, 10, 0)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/inbox/"}


@pytest.fixture
def world():
    return build_world()


def deliver(world, email="ann@example.com", **overrides) -> Lead:
    data = {**lead_body(email=email, **overrides), "received_at": FRIDAY_4PM}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=FRIDAY_4PM)
    lead_touch(lead=lead, by=world.sam, kind="call", outcome="no_answer", now=MONDAY_10AM)
    return lead


@pytest.fixture
def lead(world):
    return deliver(world)


def post(client, user, url, data, **extra):
    client.force_login(user)
    with time_machine.travel(MONDAY_11AM, tick=False):
        return client.post(url, data, **extra)


def get(client, user, url, **extra):
    client.force_login(user)
    with time_machine.travel(MONDAY_11AM, tick=False):
        return client.get(url, **extra)


def test_the_form_reads_its_wall_time_in_the_zone_sent_with_it(client, world, lead):
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/callback/",
        {"at": "2026-12-08T10:00", "zone": "America/New_York", "note": "After the board"},
        follow=True,
    )
    callback = Callback.objects.get()
    assert (callback.at, callback.note, callback.set_by) == (
        TUESDAY_10AM,
        "After the board",
        world.sam,
    )
    assert "Callback set for Tue 8 Dec 10:00 EST." in response.content.decode()


def test_a_wall_time_in_another_zone_is_that_zones(client, world, lead):
    post(
        client,
        world.sam,
        f"/leads/{lead.pk}/callback/",
        {"at": "2026-12-08T16:00", "zone": "Europe/Paris"},
    )
    assert Callback.objects.get().at == TUESDAY_10AM


def test_a_time_in_the_past_is_refused_in_words_and_nothing_is_written(client, world, lead):
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/callback/",
        {"at": "2026-12-07T09:00", "zone": "America/New_York"},
        follow=True,
    )
    assert "Time: must be after now" in response.content.decode()
    assert not Callback.objects.exists()


def test_a_refused_limit_is_named_in_words(client, world, lead):
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/callback/",
        {"at": "2026-12-22T10:00", "zone": "America/New_York"},
        follow=True,
    )
    assert "Callback too far ahead: a callback may be at most 10 business days ahead" in (
        response.content.decode()
    )
    assert not Callback.objects.exists()


def test_a_rep_cannot_set_a_callback_on_someone_elses_lead(client, world):
    theirs = deliver(world, email="bo@example.com")
    Lead.objects.filter(pk=theirs.pk).update(owner=world.sofia)
    response = post(client, world.sam, f"/leads/{theirs.pk}/callback/", {"at": "2026-12-08T10:00"})
    assert response.status_code == 404
    assert not Callback.objects.exists()


def test_an_inbox_row_loads_the_callback_form_when_it_is_opened(client, world, lead):
    html = get(client, world.sam, "/inbox/").content.decode()
    assert f'hx-get="/leads/{lead.pk}/forms/callback/?inbox_query=' in html
    form = get(client, world.sam, f"/leads/{lead.pk}/forms/callback/?inbox_query=mine%3D1", **HTMX)
    body = form.content.decode()
    assert form.status_code == 200
    assert f'hx-post="/leads/{lead.pk}/callback/"' in body
    assert 'type="datetime-local"' in body and 'name="zone" value="America/New_York"' in body


def test_an_inbox_row_answers_a_callback_with_the_row_and_its_badge(client, world, lead):
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/callback/",
        {"at": "2026-12-08T10:00", "zone": "America/New_York", "inbox_query": ""},
        **HTMX,
    )
    body = response.content.decode()
    assert 'data-testid="callback-badge"' in body
    assert "callback <time" in body and "Tue 8 Dec 10:00 EST" in body


def test_the_inbox_shows_a_pending_callback_in_the_viewers_zone(client, world, lead):
    lead_callback(lead=lead, by=world.sam, at=TUESDAY_10AM, now=MONDAY_11AM)
    world.sam.time_zone = "Europe/Paris"
    world.sam.save()
    html = get(client, world.sam, "/inbox/").content.decode()
    badge = html.split('data-testid="callback-badge">', 1)[1].split("</span></div>", 1)[0]
    assert badge.startswith(
        'callback <time datetime="2026-12-08T15:00:00Z">Tue 8 Dec 16:00 CET</time>'
    )


def test_the_inbox_reads_the_callbacks_without_a_query_per_row(client, world, lead):
    def inbox_queries():
        client.force_login(world.sam)
        with time_machine.travel(MONDAY_11AM, tick=False), CaptureQueriesContext(connection) as ctx:
            client.get("/inbox/")
        return len(ctx.captured_queries)

    lead_callback(lead=lead, by=world.sam, at=TUESDAY_10AM, now=MONDAY_11AM)
    one = inbox_queries()
    for n in range(5):
        other = deliver(world, email=f"x{n}@example.com")
        lead_callback(lead=other, by=world.sam, at=TUESDAY_10AM, now=MONDAY_11AM)
    assert inbox_queries() == one


def test_the_timeline_tells_who_asked_for_the_callback_why_and_what_it_paused(world, lead):
    lead_callback(lead=lead, by=world.sam, at=TUESDAY_10AM, note="After the board", now=MONDAY_11AM)
    events = lead_timeline(
        Lead.objects.select_related("terms__agreement__calendar").get(pk=lead.pk), now=MONDAY_11AM
    )
    asked = next(e for e in events if e.kind == "callback")
    assert asked.title == "Callback asked for Tue 8 Dec 10:00 EST"
    assert (asked.by, asked.detail, asked.at) == ("sam", "After the board", MONDAY_11AM)
    paused = next(e for e in events if e.kind == "callback_paused")
    assert paused.title == "Paused the next touch clock until Tue 8 Dec 10:00 EST"
    assert paused.detail == "was due Thu 10 Dec 10:00 EST; due now Fri 11 Dec 10:00 EST"
    starts = [(e.at, e.title) for e in events if e.kind == "clock_started"]
    assert (MONDAY_10AM, "Next touch clock started") in starts  # its first start, kept
    assert (TUESDAY_10AM, "Next touch clock restarted after a callback") in starts


def test_after_a_connection_the_timeline_says_the_callback_started_a_clock(world):
    lead = deliver(world)
    lead_touch(lead=lead, by=world.sam, kind="call", outcome="connected", now=MONDAY_11AM)
    lead_callback(lead=lead, by=world.sam, at=TUESDAY_10AM, now=MONDAY_11AM)
    events = lead_timeline(Lead.objects.get(pk=lead.pk), now=MONDAY_11AM)
    paused = next(e for e in events if e.kind == "callback_paused")
    assert paused.title == "Started a next touch clock at Tue 8 Dec 10:00 EST"
    assert paused.detail == "due now Fri 11 Dec 10:00 EST"
    starts = [(e.at, e.title) for e in events if e.kind == "clock_started"]
    assert (TUESDAY_10AM, "Next touch clock started for a callback") in starts


def test_the_timeline_names_the_manager_who_approved_beyond_the_limits(world, lead):
    lead_callback(lead=lead, by=world.morgan, at=ny(2026, 12, 30, 10, 0), now=MONDAY_11AM)
    events = lead_timeline(
        Lead.objects.select_related("terms__agreement__calendar").get(pk=lead.pk), now=MONDAY_11AM
    )
    paused = next(e for e in events if e.kind == "callback_paused")
    assert paused.detail.endswith("beyond the agreement's limits, approved by morgan")


def test_the_lead_page_shows_the_callback_on_its_timeline(client, world, lead):
    lead_callback(lead=lead, by=world.sam, at=TUESDAY_10AM, note="After the board", now=MONDAY_11AM)
    html = get(client, world.sam, f"/leads/{lead.pk}/").content.decode()
    assert "Callback asked for Tue 8 Dec 10:00 EST" in html
    assert "After the board" in html
    assert f'action="/leads/{lead.pk}/callback/"' in html
