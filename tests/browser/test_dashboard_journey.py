"""An executive reads the dashboard in a real browser: changes the month, follows a
breach count to exactly the flags behind it, exports a table, and the page refreshes
itself while the tab is visible (and not while it is hidden)."""

import csv
import io

import pytest
from django.utils import timezone

from sla.checks import run_all_checks
from sla.models import Flag
from tests.sla.test_dashboard import seed_agreement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = "docs/screenshots"


@pytest.fixture
def seeded(make_user):
    now = timezone.now()
    year, month = now.year, now.month
    months = [
        ((year * 12 + month - 1 - back) // 12, (year * 12 + month - 1 - back) % 12 + 1)
        for back in (2, 1, 0)
    ]
    inbound = seed_agreement(
        "Inbound", ["sam", "sofia", "sasha"], now=now, months=months, per_day=2
    )
    seed_agreement("Partners", ["olga"], now=now, months=months[1:])
    run_all_checks(at=now)
    make_user("erin", "executive")
    return inbound, months


def log_in(page):
    page.goto("/login/")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()


def test_an_executive_changes_month_drills_into_breaches_and_exports(page, seeded, tmp_path):
    inbound, months = seeded
    last = f"{months[1][0]:04d}-{months[1][1]:02d}"
    log_in(page)
    page.goto("/compliance/")
    assert page.locator("[data-chart='pacing'] svg").count() == 1  # ECharts drew it
    assert "Quota pacing for Inbound" in page.locator("[data-chart='pacing']").get_attribute(
        "aria-label"
    )

    page.get_by_label("Month", exact=True).fill(last)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/compliance/?month={last}")
    assert (
        f"{last} in America/New_York" in page.get_by_test_id(f"scorecard-{inbound.pk}").inner_text()
    )

    rep_table = page.locator("[data-table='breaches_by_rep']")
    link = rep_table.locator("tr", has_text="sam · Inbound").get_by_role("link").first
    shown = int(link.inner_text())
    assert shown > 0
    link.click()
    page.wait_for_url("**/flags/**")
    expected = Flag.objects.filter(
        agreement=inbound, month=last, owner__username="sam", kind="first_touch_breached"
    )
    rows = page.locator("main table tbody tr")
    assert rows.count() == shown == expected.count()
    listed = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
    assert listed == {str(flag.lead) for flag in expected.select_related("lead")}

    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export 12-month trend (CSV)").click()
    with open(download.value.path(), encoding="utf-8-sig") as file:
        text = file.read()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == [
        "Month",
        "Committed",
        "Qualified",
        "Attainment",
        "Acceptance",
        "First-touch compliance",
    ]
    assert len(table) == 13 and table[-1][0] == last


def test_the_panel_refreshes_every_minute_only_while_the_tab_is_visible(page, seeded):
    page.clock.install()
    log_in(page)
    page.goto("/compliance/")
    stamp = page.get_by_test_id("last-updated").locator("time").get_attribute("datetime")
    with page.expect_response("**/compliance/panel/**"):
        page.clock.run_for(61_000)
    stamp_now = "document.querySelector('[data-testid=last-updated] time').getAttribute('datetime')"
    page.wait_for_function(f"s => {stamp_now} !== s", arg=stamp)
    assert page.locator("[data-chart='trend'] svg").count() == 1  # redrawn after the swap

    page.evaluate("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'})")
    panel_requests = []
    page.on("request", lambda r: "/compliance/panel/" in r.url and panel_requests.append(r.url))
    page.clock.run_for(125_000)
    page.wait_for_timeout(300)
    assert panel_requests == []


def test_screenshots_desktop_and_phone_without_sideways_scroll(
    page, seeded, chromium_browser, live_server
):
    log_in(page)
    page.goto("/compliance/")
    page.wait_for_selector("[data-chart='funnel'] svg")
    page.screenshot(path=f"{SCREENSHOTS}/dashboard.png", full_page=True)

    phone = chromium_browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, device_scale_factor=1
    )
    try:
        small = phone.new_page()
        log_in(small)
        small.goto("/compliance/")
        small.wait_for_selector("[data-chart='funnel'] svg")
        assert small.evaluate("document.documentElement.scrollWidth") <= 390
        small.screenshot(path=f"{SCREENSHOTS}/dashboard-phone.png", full_page=True)
    finally:
        phone.close()
