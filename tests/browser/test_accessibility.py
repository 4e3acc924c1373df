"""Every page, as every role, in a real browser: no axe-core violation of impact serious or
critical; at phone width (390 px) the shared pages do not scroll sideways and their
controls are big enough to touch; the skip link works from the keyboard.

axe-core is vendored at tests/browser/vendor/axe.min.js (`make vendor` refreshes it from
package.json), so the tests need no npm.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from tests.browser.role_world import role_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
BAD = ("serious", "critical")
# A page the role may not open, to see the 403 page as that role.
REFUSED = {
    Role.SALES: "/imports/",
    Role.SALES_MANAGER: "/imports/",
    Role.MARKETING: "/inbox/",
    Role.EXECUTIVE: "/inbox/",
}


@pytest.fixture
def world(make_user):
    """One agreement, a person per role in its teams, a few leads and an open flag."""
    return role_world(make_user)


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def axe_violations(page) -> list[str]:
    """The serious and critical axe-core violations of the page, one line per node."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the Content-Security-Policy refuses inline ones.
        page.evaluate(AXE.read_text())
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for rule in results["violations"]:
        if rule["impact"] not in BAD:
            continue
        for node in rule["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:160]
            lines.append(f"{rule['id']} ({rule['impact']}) at {node['target']}: {summary}")
    return lines


def nav_links(page) -> dict[str, str]:
    """{url name: href} of the navigation the signed-in person is shown."""
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-nav]')]"
        ".map(a => [a.dataset.nav, a.getAttribute('href')]))"
    )


def audit(page, path: str, expect_status: int = 200) -> list[str]:
    response = page.goto(path)
    assert response is not None and response.status == expect_status, (path, response.status)
    page.wait_for_load_state("networkidle")
    return [f"{path}: {line}" for line in axe_violations(page)]


@pytest.mark.parametrize("role", Role.values)
def test_no_serious_axe_violation_on_any_page_the_role_sees(page, live_server, world, role):
    sign_in(page, live_server, world["people"][role])
    page.goto("/settings/")
    links = nav_links(page)
    assert {"agreement-list", "definition-list", "stage-list", "calendar-list"} <= set(links)
    pages = list(links.values())  # the API docs too (templates/drf_spectacular/)
    pages += [
        "/settings/",
        f"/agreements/{world['agreement'].pk}/",
        f"/definitions/{world['agreement'].definition_id}/",
        f"/calendars/{world['agreement'].calendar_id}/",
    ]
    pages.append(f"/leads/{world['lead'].pk}/")  # every role here sees the lead
    if role in (Role.SALES_MANAGER, Role.ADMIN):  # the team pages (absences, caps)
        pages += ["/teams/", f"/teams/{world['agreement'].sales_team_id}/"]
    found = []
    for path in dict.fromkeys(pages):
        found += audit(page, path)
    if role in REFUSED:
        found += audit(page, REFUSED[role], expect_status=403)
    found += audit(page, "/no-such-page/", expect_status=404)
    assert not found, f"{len(found)} serious/critical axe violations as {role}:\n" + "\n".join(
        found
    )


def test_no_serious_axe_violation_on_the_login_page(page, make_user):
    make_user("sam", Role.SALES)
    found = audit(page, "/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").wait_for()
    found += [f"/login/ (wrong password): {line}" for line in axe_violations(page)]
    assert not found, "\n".join(found)


# --- phone width and keyboard ------------------------------------------------------------

OWN_PAGES = {
    "agreements": "/agreements/",
    "agreement": "/agreements/{agreement}/",
    "definitions": "/definitions/",
    "definition": "/definitions/{definition}/",
    "funnel": "/funnel/",
    "calendars": "/calendars/",
    "calendar": "/calendars/{calendar}/",
    "settings": "/settings/",
    "403": "/imports/",
    "404": "/no-such-page/",
}


@pytest.fixture
def phone(chromium_browser, live_server):
    context = chromium_browser.new_context(
        base_url=live_server.url, viewport=PHONE, device_scale_factor=1, is_mobile=True
    )
    page = context.new_page()
    yield page
    context.close()


def small_controls(page) -> list[str]:
    """Visible buttons and form controls in the page's main region under 44 px tall."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
              'main .btn, main .form-control, main .form-select, .navbar-toggler')]
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().height < 44)
            .map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} `
                       + `"${(el.innerText || el.name || '').trim().slice(0, 30)}" `
                       + `${Math.round(el.getBoundingClientRect().height)}px`)"""
    )


def test_the_shared_pages_fit_a_phone_and_their_controls_are_big_enough(phone, live_server, world):
    sign_in(phone, live_server, world["people"][Role.SALES])
    ids = {
        "agreement": world["agreement"].pk,
        "definition": world["agreement"].definition_id,
        "calendar": world["agreement"].calendar_id,
    }
    problems = []
    for name, path in OWN_PAGES.items():
        phone.goto(path.format(**ids))
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{name}: scrolls sideways ({width} px wide)")
        problems += [f"{name}: {control}" for control in small_controls(phone)]
    assert not problems, "\n".join(problems)


def test_the_first_tab_reaches_the_skip_link_and_enter_moves_focus_to_main(
    page, live_server, world
):
    sign_in(page, live_server, world["people"][Role.SALES])
    page.goto("/agreements/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["height"] >= 30  # shown when focused, not off-screen
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the content, past the navigation
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")


# --- screenshots ---------------------------------------------------------------------------


def test_screenshots_of_the_shared_pages(page, phone, live_server, world):
    from sla.agreements import agreement_update

    agreement_update(
        agreement=world["agreement"],
        by=world["people"][Role.ADMIN],
        now=timezone.now(),
        first_touch_minutes=120,
        monthly_quota=240,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, live_server, world["people"][Role.SALES])
    page.goto(f"/agreements/{world['agreement'].pk}/")
    page.screenshot(path=str(SCREENSHOTS / "agreements.png"), full_page=True)
    page.goto("/settings/")
    page.screenshot(path=str(SCREENSHOTS / "settings.png"), full_page=True)
    sign_in(phone, live_server, world["people"][Role.MARKETING])
    phone.goto(f"/definitions/{world['agreement'].definition_id}/")
    phone.screenshot(path=str(SCREENSHOTS / "definitions-phone.png"), full_page=True)
    phone.goto("/funnel/")
    phone.screenshot(path=str(SCREENSHOTS / "funnel-phone.png"), full_page=True)
    for name in ("agreements", "settings", "definitions-phone", "funnel-phone"):
        assert re.match(rb"\x89PNG", (SCREENSHOTS / f"{name}.png").read_bytes()[:4])


def test_the_api_docs_with_an_operation_open_have_no_serious_axe_violation(
    page, live_server, world
):
    sign_in(page, live_server, world["people"][Role.ADMIN])
    found = audit(page, "/api/docs/")
    assert page.locator(".opblock").count() > 20  # Swagger UI drew the operations
    page.locator(".opblock-summary-control").first.click()
    page.locator(".opblock-body").first.wait_for()
    found += axe_violations(page)
    assert not found, "\n".join(found)
