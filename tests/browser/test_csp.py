"""The Content-Security-Policy holds on every page, for every role, in a real browser.

The policy (slaops/settings.py) allows scripts and styles from our own files only: no
inline <script>, no style attribute, no eval. A page that breaks it fires a
`securitypolicyviolation` event (and Chromium logs a console error); each test here
collects both on every page a role can reach, its nav walked and its detail pages
listed, and fails on any. The polls that used htmx's eval'd trigger filters still run
(tests/browser/test_rep_journey.py and test_dashboard_journey.py show their timing).
"""

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from sla.models import ImportJob
from tests.browser.role_world import role_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any page script: every violation of the page is kept for the test to read.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
    + (e.sample ? ` (${e.sample})` : ""));
});
"""


@pytest.fixture
def world(make_user):
    """One agreement, a person per role in its teams, leads with clocks, a flag, an import."""
    world = role_world(make_user)
    people, agreement, now = world["people"], world["agreement"], world["now"]
    # A running import: its page shows the progress bar whose width the script sets.
    job = ImportJob.objects.create(
        state=ImportJob.State.RUNNING,
        phase="delivering",
        path="/nonexistent.csv",
        file_name="leads.csv",
        agreement=agreement,
        rows=10,
        done=4,
        created_by=people[Role.MARKETING],
        created_at=now,
        started_at=now,
        heartbeat_at=now,
    )
    return {**world, "job": job}


@pytest.fixture
def watched(page):
    """The page, collecting CSP violations and the console's CSP and htmx errors."""
    page.add_init_script(WATCH)
    console: list[str] = []

    def keep(message):
        text = message.text
        if text.startswith("Failed to load resource"):
            return  # a 404 page's own status, the admin's favicon: not the policy
        if "Content Security Policy" in text or "htmx:" in text or message.type == "error":
            console.append(f"console {message.type}: {text[:300]}")

    page.on("console", keep)
    page.on("pageerror", lambda exc: console.append(f"page error: {exc}"))
    page.csp_console = console
    return page


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def script_src(header: str) -> str:
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip()
    )
    return directives.get("script-src", directives.get("default-src", ""))


def visit(page, path: str, expect_status: int = 200) -> list[str]:
    """Open `path`, let its scripts and first polls run; the problems it showed."""
    response = page.goto(path)
    assert response is not None and response.status == expect_status, (path, response.status)
    header = response.headers.get("content-security-policy", "")
    problems = []
    if not header:
        problems.append("no Content-Security-Policy header")
    elif "'unsafe-inline'" in script_src(header) or "'unsafe-eval'" in script_src(header):
        problems.append(f"script-src allows inline or eval: {header}")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(200)  # an htmx swap after load, a chart drawn
    problems += page.evaluate("() => window.__cspViolations || []")
    problems += page.csp_console
    page.csp_console.clear()
    return [f"{path}: {problem}" for problem in problems]


def nav_links(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('[data-nav]')].map(a => a.getAttribute('href'))"
    )


# The pages each role opens besides its nav: detail pages, forms, settings, the API docs.
def detail_pages(world, role) -> list[str]:
    agreement = world["agreement"]
    pages = [
        "/settings/",
        f"/leads/{world['lead'].pk}/",
        f"/agreements/{agreement.pk}/",
        f"/definitions/{agreement.definition_id}/",
        f"/calendars/{agreement.calendar_id}/",
        f"/agreements/{agreement.pk}/proposals/",
        "/funnel/",
        "/api/docs/",
    ]
    if role in (Role.SALES, Role.SALES_MANAGER, Role.ADMIN):
        pages += ["/inbox/"]
    if role in (Role.SALES_MANAGER, Role.ADMIN):
        pages += ["/teams/", f"/teams/{agreement.sales_team_id}/"]
    if role in (Role.MARKETING, Role.ADMIN):
        pages += ["/commitments/", "/imports/", f"/imports/{world['job'].pk}/", "/leads/new/"]
    if role in (Role.EXECUTIVE, Role.ADMIN):
        pages += ["/compliance/", "/audit/"]
    if role == Role.ADMIN:
        pages += ["/integrations/", "/admin/"]
    return pages


@pytest.mark.parametrize("role", Role.values)
def test_no_page_a_role_sees_breaks_the_content_security_policy(watched, live_server, world, role):
    sign_in(watched, live_server, world["people"][role])
    watched.goto("/settings/")
    pages = nav_links(watched)
    assert "/api/docs/" in pages and "/calendars/" in pages
    pages += detail_pages(world, role)
    found = []
    for path in dict.fromkeys(pages):
        found += visit(watched, path)
    found += visit(watched, "/no-such-page/", expect_status=404)
    assert not found, f"{len(found)} problems as {role}:\n" + "\n".join(found)


def test_the_login_page_and_its_refusal_keep_the_policy(watched, make_user):
    make_user("sam", Role.SALES)
    found = visit(watched, "/login/")
    watched.get_by_label("Username").fill("sam")
    watched.get_by_label("Password").fill("wrong")
    watched.get_by_role("button", name="Log in").click()
    watched.get_by_role("alert").wait_for()
    found += visit(watched, "/login/")
    assert not found, "\n".join(found)


def test_the_api_docs_render_their_operations_under_the_policy(watched, live_server, world):
    sign_in(watched, live_server, world["people"][Role.ADMIN])
    found = visit(watched, "/api/docs/")
    watched.locator(".opblock").first.wait_for(timeout=15_000)  # the schema loaded and drawn
    watched.locator(".opblock-summary").first.click()  # an operation opened: its examples
    watched.wait_for_timeout(300)
    found += watched.evaluate("() => window.__cspViolations") + watched.csp_console
    # The page's own fix-ups ran: no link nested inside an operation's button.
    assert watched.locator(".opblock-summary-control a.nostyle").count() == 0
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "role, path, selector",
    [
        (Role.EXECUTIVE, "/compliance/", "[data-chart='trend']"),
        (Role.MARKETING, "/commitments/", "[data-pacing-chart]"),
    ],
)
def test_the_charts_and_their_tooltips_keep_the_policy(
    watched, live_server, world, role, path, selector
):
    sign_in(watched, live_server, world["people"][role])
    found = visit(watched, path)
    chart = watched.locator(selector).first
    chart.locator("svg").wait_for()
    chart.scroll_into_view_if_needed()
    texts_before = chart.locator("svg text").count()
    box = chart.bounding_box()
    for step in range(1, 10):  # across the chart, so its axis tooltip opens
        watched.mouse.move(box["x"] + box["width"] * step / 10, box["y"] + box["height"] / 2)
        watched.wait_for_timeout(50)
    watched.wait_for_timeout(300)
    found += watched.evaluate("() => window.__cspViolations") + watched.csp_console
    assert not found, "\n".join(found)
    # The tooltip opened, drawn in the chart's SVG (richText), not as an HTML box.
    assert chart.locator("svg text").count() > texts_before


def test_the_import_progress_bar_is_sized_without_a_style_attribute(watched, live_server, world):
    sign_in(watched, live_server, world["people"][Role.MARKETING])
    found = visit(watched, f"/imports/{world['job'].pk}/")
    bar = watched.locator("#import-progress .progress-bar")
    assert bar.evaluate("el => el.style.width") == "40%"
    assert not found, "\n".join(found)


def test_the_watch_sees_an_inline_style_and_an_inline_script_refused(watched, make_user):
    """The harness itself: what a careless template would do is caught."""
    visit(watched, "/login/")
    watched.evaluate(
        """() => {
        document.body.insertAdjacentHTML("beforeend", '<p style="color: red">inline</p>');
        const s = document.createElement("script");
        s.textContent = "window.ranInline = true";
        document.body.append(s);
    }"""
    )
    watched.wait_for_timeout(200)
    seen = watched.evaluate("() => window.__cspViolations")
    assert any(v.startswith("style-src-attr") for v in seen), seen
    assert any(v.startswith("script-src-elem") for v in seen), seen
    assert watched.evaluate("() => window.ranInline") is None
