"""The sales inbox page: rows, quick filters, in-place htmx actions, the session that
expired mid-form, paging that keeps filters, the manager's view, and query counts."""

import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead
from sla.actions import lead_deliver, lead_touch
from sla.models import Flag
from tests.factories import FlagFactory
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/inbox/"}


@pytest.fixture
def world():
    return build_world()


def deliver(world, at, owner="sam", **overrides):
    data = {**lead_body(**overrides), "received_at": at}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=at)
    Lead.objects.filter(pk=lead.pk).update(owner=world.users[owner])
    return Lead.objects.get(pk=lead.pk)


def get(client, user, url, **extra):
    client.force_login(user)
    with time_machine.travel(MONDAY_10AM, tick=False):
        return client.get(url, **extra)


def post(client, user, url, data, **extra):
    client.force_login(user)
    with time_machine.travel(MONDAY_10AM, tick=False):
        return client.post(url, data, **extra)


def test_rows_come_most_urgent_first_with_a_countdown_that_says_late(client, world):
    deliver(world, ny(2026, 12, 7, 9, 0), email="fresh@example.com", first_name="Fresh")
    deliver(world, ny(2026, 12, 4, 9, 0), email="old@example.com", first_name="Old")
    html = get(client, world.sam, "/inbox/").content.decode()
    assert html.index("Old") < html.index("Fresh")
    # Friday 09:00 + 240 business minutes = Friday 13:00: late by 2 days 21 hours.
    assert "late by 2d 21h 0m" in html
    # Monday 09:00 + 240 = 13:00: three hours left, at risk from 12:00.
    assert "due in 3h 0m" in html
    assert 'data-status="breached"' in html and 'data-status="pending"' in html
    assert 'data-at-risk-at="2026-12-07T17:00:00+00:00"' in html  # 12:00 New York


def test_quick_filters_narrow_the_rows_but_the_counts_cover_the_inbox(client, world):
    deliver(world, ny(2026, 12, 7, 9, 0), first_name="Fresh")
    deliver(world, ny(2026, 12, 4, 9, 0), first_name="Old")
    html = get(client, world.sam, "/inbox/?sla_status=breached").content.decode()
    assert ">Old Archer<" in html and ">Fresh Archer<" not in html
    assert '<span data-count="breached">1</span>' in html
    assert '<span data-count="pending">1</span>' in html
    assert 'aria-current="true" data-quick="breached"' in html


def test_untouched_and_due_today_quick_filters(client, world):
    touched = deliver(world, ny(2026, 12, 7, 9, 0), first_name="Touched")
    deliver(world, ny(2026, 12, 7, 9, 30), first_name="Waiting")
    deliver(world, ny(2026, 12, 7, 16, 0), first_name="Tomorrow")  # due Tue 12:00
    lead_touch(lead=touched, by=world.sam, kind="call", outcome="no_answer", now=MONDAY_10AM)
    html = get(client, world.sam, "/inbox/?untouched=true").content.decode()
    assert (
        ">Waiting Archer<" in html
        and ">Tomorrow Archer<" in html
        and ">Touched Archer<" not in html
    )
    html = get(client, world.sam, "/inbox/?due=today").content.decode()
    assert ">Waiting Archer<" in html and ">Tomorrow Archer<" not in html


def test_the_api_takes_the_quick_filters_too(api_client, world):
    touched = deliver(world, ny(2026, 12, 7, 9, 0), email="touched@example.com")
    deliver(world, ny(2026, 12, 7, 9, 30), email="today@example.com")  # due Mon 13:30
    deliver(world, ny(2026, 12, 7, 16, 0), email="tomorrow@example.com")  # due Tue 12:00
    # Touched: the next touch is due 1440 business minutes (three days) later.
    lead_touch(lead=touched, by=world.sam, kind="call", outcome="no_answer", now=MONDAY_10AM)
    api_client.force_authenticate(user=world.sam)
    with time_machine.travel(MONDAY_10AM, tick=False):
        untouched = api_client.get("/api/leads/", {"untouched": "true"}).json()["results"]
        due = api_client.get("/api/leads/", {"due_before": "2026-12-08T00:00:00-05:00"}).json()
    assert [lead["email"] for lead in untouched] == ["today@example.com", "tomorrow@example.com"]
    assert [lead["email"] for lead in due["results"]] == ["today@example.com"]


def test_a_bad_filter_value_names_the_field(client, world):
    deliver(world, ny(2026, 12, 7, 9, 0))
    response = get(client, world.sam, "/inbox/?sla_status=sideways")
    assert response.status_code == 200
    assert "sla_status: Select a valid choice" in response.content.decode()


def test_an_htmx_touch_answers_with_the_row_the_counts_and_a_toast(client, world):
    lead = deliver(world, ny(2026, 12, 4, 9, 0))
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/touch/",
        {"kind": "call", "outcome": "no_answer", "note": "voicemail", "inbox_query": ""},
        **HTMX,
    )
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {
        "toast": {"text": "Touch logged.", "level": "success"}
    }
    html = response.content.decode()
    assert re.search(rf'<tr id="lead-row-{lead.pk}" hx-swap-oob="true"', html)
    assert '<div id="inbox-counts"' in html and 'hx-swap-oob="true"' in html
    # The late first touch stays breached; the next-touch clock now runs.
    assert "Next touch" in html and '<span data-count="breached">1</span>' in html
    assert lead.touches.get().note == "voicemail"


def test_an_htmx_acknowledge_moves_the_counts(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    response = post(
        client, world.sam, f"/leads/{lead.pk}/acknowledge/", {"inbox_query": "mine=1"}, **HTMX
    )
    assert "Lead accepted." in response["HX-Trigger"]
    assert ">accepted<" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).verdict == "accepted"


def test_a_refused_htmx_action_toasts_the_rule_in_words_and_keeps_the_row(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/abandon/",
        {"reason": "gone", "inbox_query": ""},
        **HTMX,
    )
    toast = json.loads(response["HX-Trigger"])["toast"]
    assert toast["level"] == "danger"
    assert toast["text"].startswith("Too few attempts to abandon the lead: 0 of 6 attempts")
    assert "attempts_before_abandon" not in toast["text"]
    assert f'id="lead-row-{lead.pk}"' in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).closed_at is None


def test_a_field_error_names_the_field_in_words(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    response = post(
        client, world.sam, f"/leads/{lead.pk}/touch/", {"kind": "fax", "outcome": "no_answer"}
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Kind: " in html and "kind: " not in html


def test_an_htmx_reject_answers_with_a_row_that_says_the_lead_left(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    response = post(
        client,
        world.sam,
        f"/leads/{lead.pk}/reject/",
        {"reason": "duplicate", "inbox_query": ""},
        **HTMX,
    )
    assert "has left this inbox (closed)" in response.content.decode()
    assert f'<a href="/leads/{lead.pk}/">Open the lead</a>' in response.content.decode()


def test_an_expired_session_on_an_htmx_action_redirects_the_page_to_login(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = client.post(
            f"/leads/{lead.pk}/touch/",
            {"kind": "email", "outcome": "left_message", "note": "typed before expiry"},
            **HTMX,
        )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/inbox/"
    assert lead.touches.count() == 0
    # Back in: the inbox shows the row's touch form open, as it was typed.
    client.force_login(world.sam)
    with time_machine.travel(MONDAY_10AM, tick=False):
        html = client.get("/inbox/").content.decode()
    assert 'value="typed before expiry"' in html
    assert '<option value="email" selected>' in html


def test_an_expired_session_on_a_form_brings_the_form_back_after_login(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = client.post(
            f"/leads/{lead.pk}/touch/",
            {"kind": "meeting", "outcome": "connected", "note": "met at the fair"},
        )
    # To the login, then the lead's page: never the POST-only address (405).
    assert response["Location"] == f"/login/?next=/leads/{lead.pk}/"
    world.sam.set_password("pw-Secret-123")
    world.sam.save()
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = client.post(
            "/login/",
            {"username": "sam", "password": "pw-Secret-123", "next": f"/leads/{lead.pk}/"},
        )
        assert response["Location"] == f"/leads/{lead.pk}/"
        html = client.get(response["Location"]).content.decode()
    assert "your touch is back in its form" in html
    assert 'value="met at the fair"' in html and '<option value="meeting" selected>' in html
    # Shown once: the next visit is a clean form.
    with time_machine.travel(MONDAY_10AM, tick=False):
        assert "met at the fair" not in client.get(f"/leads/{lead.pk}/").content.decode()


def test_pager_links_keep_every_filter(client, world):
    for n in range(51):
        deliver(world, ny(2026, 12, 4, 9, 0), owner="morgan", email=f"l{n}@example.com")
    html = get(client, world.morgan, "/inbox/?mine=1&sla_status=breached").content.decode()
    [link] = re.findall(r'href="([^"]*page=2[^"]*)"', html)
    assert "mine=1" in link and "sla_status=breached" in link


def test_only_mine_toggle_keeps_the_quick_filter(client, world):
    deliver(world, ny(2026, 12, 7, 9, 0))
    html = get(client, world.morgan, "/inbox/?sla_status=pending").content.decode()
    assert 'href="?sla_status=pending&amp;mine=1"' in html


def test_manager_reassigns_in_place(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    html = get(client, world.morgan, "/inbox/").content.decode()
    assert 'aria-label="Owner of Ann Archer"' in html and "Reassign" in html
    response = post(
        client,
        world.morgan,
        f"/leads/{lead.pk}/assign/",
        {"owner": "sofia", "inbox_query": ""},
        **HTMX,
    )
    assert "Assigned to sofia." in response["HX-Trigger"]
    assert '<option value="sofia" selected>' in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner == world.sofia


def test_a_rep_is_offered_no_reassign_and_no_override(client, world):
    deliver(world, ny(2026, 12, 7, 9, 0))
    html = get(client, world.sam, "/inbox/").content.decode()
    assert "Reassign" not in html and "Override the attempts rule" not in html
    assert "Abandon · 6 attempts still owed" in html


def test_manager_overrides_the_abandon_with_a_reason(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    response = post(
        client,
        world.morgan,
        f"/leads/{lead.pk}/abandon/",
        {"reason": "Company closed", "override": "1", "inbox_query": ""},
        **HTMX,
    )
    assert "Lead abandoned." in response["HX-Trigger"]
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.abandoned_at is not None and lead.abandon_reason == "Company closed"


def test_manager_inbox_shows_team_compliance_per_rep(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0))
    lead_touch(lead=lead, by=world.sam, kind="call", outcome="no_answer", now=MONDAY_10AM)
    deliver(world, ny(2026, 12, 4, 9, 0), owner="sofia")
    html = get(client, world.morgan, "/inbox/").content.decode()
    table = html[html.index('data-testid="team-compliance"') :]
    assert re.search(r"<td>sam</td><td>1</td><td>1</td><td>0</td>\s*<td>100.0 %</td>", table)
    assert re.search(r"<td>sofia</td><td>1</td><td>0</td><td>1</td>\s*<td>0.0 %</td>", table)


def test_the_polled_fragment_is_the_table_and_the_counts(client, world):
    deliver(world, ny(2026, 12, 7, 9, 0))
    response = get(
        client, world.sam, "/inbox/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="inbox-table"
    )
    html = response.content.decode()
    assert html.lstrip().startswith("{#") is False and '<div id="inbox-table"' in html
    assert "<nav" not in html.split('<div id="inbox-table"')[0]  # not the whole page
    assert 'id="inbox-counts"' in html and 'data-poll-while="idle"' in html


def queries(client, user, url) -> tuple[int, list[str]]:
    client.force_login(user)
    with time_machine.travel(MONDAY_10AM, tick=False), CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("who", ["sam", "morgan"])
def test_the_inbox_costs_the_same_queries_for_3_or_30_rows(client, world, who):
    for n in range(3):
        deliver(world, ny(2026, 12, 4, 9, n), email=f"a{n}@example.com")
    few, _ = queries(client, world.users[who], "/inbox/")
    for n in range(27):
        lead = deliver(world, ny(2026, 12, 7, 9, n), email=f"b{n}@example.com", owner="sofia")
        lead_touch(lead=lead, by=world.sofia, kind="call", outcome="no_answer", now=MONDAY_10AM)
        deliver(world, ny(2026, 12, 7, 9, n), email=f"c{n}@example.com")
    many, _ = queries(client, world.users[who], "/inbox/")
    assert many == few


def test_the_inbox_counts_are_one_grouped_query(client, world):
    for n in range(5):
        deliver(world, ny(2026, 12, 4 + n % 4, 9, n), email=f"a{n}@example.com")
    _, sql = queries(client, world.sam, "/inbox/")
    grouped = [q for q in sql if q.startswith("SELECT CASE") and q.endswith("GROUP BY 1")]
    assert len(grouped) == 1
    assert "COUNT(" in grouped[0]


def test_the_lead_list_costs_the_same_queries_for_3_or_30_rows(client, world):
    for n in range(3):
        deliver(world, ny(2026, 12, 4, 9, n), email=f"a{n}@example.com")
    few, _ = queries(client, world.erin, "/leads/?verdict=pending")
    for n in range(27):
        deliver(world, ny(2026, 12, 7, 9, n), email=f"b{n}@example.com")
    many, _ = queries(client, world.erin, "/leads/?verdict=pending")
    assert many == few


def test_the_lead_list_takes_every_api_filter_name_and_the_short_aliases(client, world):
    deliver(world, ny(2026, 12, 4, 9, 0), email="old@example.com", first_name="Old")
    deliver(world, ny(2026, 12, 7, 9, 0), email="new@example.com", first_name="New", owner="sofia")
    cases = {
        "owner=sofia": ["New"],
        "sla_status=breached": ["Old"],
        "status=breached": ["Old"],
        "search=old%40example": ["Old"],
        "q=new%40example": ["New"],
        "verdict=pending": ["Old", "New"],
        f"team={world.a.sales_team_id}": ["Old", "New"],
        f"agreement={world.b.pk}": [],
        "received_after=2026-12-07T00:00:00Z": ["New"],
        "received_before=2026-12-07T00:00:00Z": ["Old"],
        "stage=interacting": ["Old", "New"],
        "stage=engaged": [],
        "untouched=true": ["Old", "New"],
    }
    for query, names in cases.items():
        html = get(client, world.erin, f"/leads/?{query}").content.decode()
        shown = [name for name in ("Old", "New") if f">{name} Archer<" in html]
        assert sorted(shown) == sorted(names), query
        assert 'data-testid="active-filters"' in html, query


def test_the_lead_list_pager_keeps_the_filters(client, world):
    for n in range(51):
        deliver(world, ny(2026, 12, 4, 9, 0), email=f"l{n}@example.com")
    html = get(client, world.erin, "/leads/?status=breached&owner=sam").content.decode()
    [link] = re.findall(r'href="([^"]*page=2[^"]*)"', html)
    assert "status=breached" in link and "owner=sam" in link


def test_a_bad_lead_list_filter_names_the_field(client, world):
    html = get(client, world.erin, "/leads/?received_after=yesterday").content.decode()
    assert "Received_after:" in html or "received_after" in html.lower()


def test_flags_pager_keeps_the_filters_and_any_state_shows_all(client, world):
    lead = deliver(world, ny(2026, 12, 4, 9, 0))
    for n in range(51):
        FlagFactory(
            kind=Flag.Kind.NEXT_TOUCH_BREACHED if n else Flag.Kind.FIRST_TOUCH_BREACHED,
            agreement=world.a,
            lead=lead if n == 0 else deliver(world, ny(2026, 12, 4, 9, 0), email=f"f{n}@x.com"),
            team=world.a.sales_team,
            state=Flag.State.RESOLVED if n % 2 else Flag.State.OPEN,
        )
    html = get(client, world.morgan, "/flags/?state=all&month=2026-12").content.decode()
    assert "51 flags" in html
    [link] = re.findall(r'href="([^"]*page=2[^"]*)"', html)
    assert "state=all" in link and "month=2026-12" in link


def test_an_inbox_row_loads_an_action_form_only_when_it_is_opened(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0), first_name="Fresh")
    html = get(client, world.sam, "/inbox/").content.decode()
    assert f'id="t-kind-{lead.pk}"' not in html  # the touch form is not on the page yet
    assert f'hx-get="/leads/{lead.pk}/forms/touch/?inbox_query=' in html
    form = get(client, world.sam, f"/leads/{lead.pk}/forms/touch/?inbox_query=mine%3D1", **HTMX)
    assert form.status_code == 200
    body = form.content.decode()
    assert f'id="t-kind-{lead.pk}"' in body and f'hx-post="/leads/{lead.pk}/touch/"' in body
    assert 'name="inbox_query" value="mine=1"' in body
    abandon = get(client, world.sam, f"/leads/{lead.pk}/forms/abandon/").content.decode()
    assert "Abandon lead (6 owed)" in abandon


def test_an_action_form_of_someone_elses_lead_or_an_unknown_action_is_404(client, world):
    lead = deliver(world, ny(2026, 12, 7, 9, 0), owner="sofia")
    assert get(client, world.sam, f"/leads/{lead.pk}/forms/touch/").status_code == 404
    assert get(client, world.sofia, f"/leads/{lead.pk}/forms/assign/").status_code == 404
    assert get(client, world.sofia, f"/leads/{lead.pk}/forms/touch/").status_code == 200


def test_row_links_are_the_routes_of_the_lead_and_its_actions():
    from django.urls import reverse

    detail = reverse("lead-detail", args=[7])
    for name in ("touch", "acknowledge", "reject", "stage", "assign", "abandon"):
        assert reverse(f"lead-{name}", args=[7]) == f"{detail}{name}/"
    assert reverse("lead-action-form", args=[7, "touch"]) == f"{detail}forms/touch/"
