"""A sales rep works the inbox in a real browser: acknowledge and touch a lead on its row
(the countdown stops, the counts follow, no reload), watch a clock run out client-side,
and keep a touch typed when the session had expired."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Lead, Touch
from sla.actions import lead_deliver
from tests.factories import AgreementFactory, CalendarFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ALWAYS_OPEN = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def inbox(make_user):
    """A 24/7 calendar (so the live server's real clock gives known countdowns) and three
    of sam's leads: one breached an hour ago, one fresh, one that runs out in seconds."""
    calendar = CalendarFactory(
        name="Always", timezone="America/New_York", working_hours=ALWAYS_OPEN
    )
    agreement = AgreementFactory(name="Inbound", calendar=calendar)
    rep = make_user("sam", "sales")
    agreement.sales_team.members.add(rep)
    now = timezone.now()
    leads = {}
    for name, ago in (
        ("Late", timedelta(hours=5)),
        ("Fresh", timedelta(minutes=10)),
        ("Edge", timedelta(minutes=240) - timedelta(seconds=4)),
    ):
        lead, _ = lead_deliver(
            by=None,
            data={
                "email": f"{name.lower()}@acme.test",
                "first_name": name,
                "last_name": "Lee",
                "company": f"{name} Corp",
                "company_size": 100,
                "received_at": now - ago,
            },
            agreement=agreement,
            now=now,
        )
        Lead.objects.filter(pk=lead.pk).update(owner=rep)
        leads[name] = lead
    return leads


def log_in(page, username="sam"):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()


def count(page, status) -> str:
    return page.locator(f'#inbox-counts [data-count="{status}"]').inner_text()


def test_rep_acknowledges_and_touches_a_lead_on_its_row(page, inbox):
    page.goto("/login/?next=/inbox/")
    log_in(page)
    page.wait_for_url("**/inbox/")
    page.evaluate("window.notReloaded = true")
    fresh = page.locator(f"#lead-row-{inbox['Fresh'].pk}")
    assert "First touch" in fresh.inner_text()
    assert re.search(r"due in 3h 4\dm", fresh.locator(".sla-countdown").inner_text())
    # Late is breached, Edge (due in seconds) at risk, Fresh pending.
    assert count(page, "pending") == "1" and count(page, "met") == "0"

    fresh.get_by_role("button", name="Accept lead").click()
    page.get_by_text("Lead accepted.").wait_for()
    assert "accepted" in fresh.inner_text()

    fresh.get_by_text("Log a touch").click()
    fresh.get_by_label("Kind").select_option("email")
    fresh.get_by_label("Outcome").select_option("left_message")
    fresh.get_by_label("Note", exact=True).fill("Sent the deck")
    fresh.get_by_role("button", name="Log touch").click()
    page.get_by_text("Touch logged.").wait_for()

    # The first-touch countdown stopped: the row now counts down to the next touch.
    fresh = page.locator(f"#lead-row-{inbox['Fresh'].pk}")
    assert "First touch" not in fresh.inner_text()
    assert "Next touch" in fresh.inner_text()
    assert fresh.get_attribute("data-status") == "met"
    assert "Met" in fresh.locator(".sla-badge").inner_text()
    assert count(page, "pending") == "0" and count(page, "met") == "1"
    assert page.evaluate("window.notReloaded") is True
    touch = Touch.objects.get(lead=inbox["Fresh"])
    assert (touch.kind, touch.outcome, touch.note) == ("email", "left_message", "Sent the deck")
    page.screenshot(path=str(SHOTS / "inbox.png"), full_page=True)


def test_a_row_turns_breached_when_its_clock_runs_out_without_a_reload(page, inbox):
    page.goto("/login/?next=/inbox/")
    log_in(page)
    page.wait_for_url("**/inbox/")
    edge = page.locator(f"#lead-row-{inbox['Edge'].pk}")
    breached_before = int(count(page, "breached"))
    assert edge.get_attribute("data-status") in ("pending", "at_risk")
    page.wait_for_function(
        # A function, not an expression: the page's policy refuses eval of a string.
        f"() => document.querySelector('#lead-row-{inbox['Edge'].pk}').dataset.status"
        " === 'breached'",
        timeout=15000,
    )
    assert "Breached" in edge.locator(".sla-badge").inner_text()
    assert edge.locator(".sla-countdown").inner_text().startswith("⚠ late by")
    assert int(count(page, "breached")) == breached_before + 1
    late = page.locator(f"#lead-row-{inbox['Late'].pk}")
    assert "late by 1h 0m" in late.inner_text() or "late by 59m" in late.inner_text()
    # Coming back to the tab refreshes the table (and its counts) from the server at once.
    with page.expect_response(
        lambda r: "/inbox/" in r.url and r.request.headers.get("hx-target") == "inbox-table"
    ) as refreshed:
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    assert refreshed.value.ok
    page.wait_for_timeout(300)  # the swap
    assert int(count(page, "breached")) == breached_before + 1  # now counted by the server
    assert page.locator(f"#lead-row-{inbox['Edge'].pk}").get_attribute("data-status") == (
        "breached"
    )


def test_the_inbox_fits_a_phone(chromium_browser, live_server, inbox):
    context = chromium_browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    page.goto("/login/?next=/inbox/")
    log_in(page)
    page.wait_for_url("**/inbox/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "inbox-phone.png"), full_page=True)
    page.goto(f"/leads/{inbox['Late'].pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "lead-phone.png"), full_page=True)
    context.close()


def test_a_touch_typed_after_the_session_expired_is_back_after_login(page, inbox):
    lead = inbox["Late"]
    page.goto(f"/login/?next=/leads/{lead.pk}/")
    log_in(page)
    page.wait_for_url(f"**/leads/{lead.pk}/")
    page.screenshot(path=str(SHOTS / "lead.png"), full_page=True)
    page.locator(f"#t-kind-{lead.pk}").select_option("meeting")
    page.locator(f"#t-outcome-{lead.pk}").select_option("connected")
    page.locator(f"#t-note-{lead.pk}").fill("Met at the fair, wants a demo")
    page.context.clear_cookies(name="sessionid")  # the session expires while typing
    page.get_by_role("button", name="Log touch").click()

    page.wait_for_url("**/login/**")
    assert "the touch was not saved" in page.get_by_role("alert").first.inner_text()
    log_in(page)
    page.wait_for_url(f"**/leads/{lead.pk}/")
    assert page.locator(f"#t-note-{lead.pk}").input_value() == "Met at the fair, wants a demo"
    assert page.locator(f"#t-kind-{lead.pk}").input_value() == "meeting"
    assert page.locator(f"#t-outcome-{lead.pk}").input_value() == "connected"
    assert Touch.objects.filter(lead=lead).count() == 0
    page.get_by_role("button", name="Log touch").click()
    page.get_by_text("Touch logged.").wait_for()
    assert Touch.objects.get(lead=lead).note == "Met at the fair, wants a demo"


def test_the_inbox_refreshes_every_minute_while_visible_and_idle(page, inbox):
    errors = []
    page.on("console", lambda m: "htmx:" in m.text and errors.append(m.text))
    page.clock.install()
    page.goto("/login/?next=/inbox/")
    log_in(page)
    page.wait_for_url("**/inbox/")
    with page.expect_response(lambda r: r.url.endswith("/inbox/") and r.request.method == "GET"):
        page.clock.run_for(61_000)
    # A row's form open: no refresh under the rep's hands.
    refreshes = []
    page.on("request", lambda r: r.url.endswith("/inbox/") and refreshes.append(r.url))
    fresh = page.locator(f"#lead-row-{inbox['Fresh'].pk}")
    fresh.get_by_text("Log a touch").click()
    fresh.get_by_label("Kind").wait_for()
    page.clock.run_for(125_000)
    page.wait_for_timeout(300)
    assert refreshes == []
    assert errors == []  # every hx-trigger parses
