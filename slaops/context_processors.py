"""The navigation each role sees, built in one place for every page.

Whether a role is shown a link is `accounts.access.may_see_page`, the same rule the
page's view applies, so the nav never hides a page a role may open, nor shows one it
may not.
"""

from django.urls import NoReverseMatch, reverse

from accounts.access import may_see_page

# (label, url name, group): the work pages first, then the shared reference every role
# reads (agreements, definitions, funnel, calendars) after a divider, then the tools.
# Links whose page does not exist yet are skipped.
WORK, REFERENCE, TOOLS = "work", "reference", "tools"
NAVIGATION = [
    ("Inbox", "lead-inbox", WORK),
    ("Leads", "lead-list", WORK),
    ("Commitments", "commitment-list", WORK),
    ("Import", "import-list", WORK),
    ("Dashboard", "dashboard", WORK),
    ("Flags", "flag-list", WORK),
    ("Teams", "team-list", WORK),
    ("Agreements", "agreement-list", REFERENCE),
    ("Definitions", "definition-list", REFERENCE),
    ("Funnel", "stage-list", REFERENCE),
    ("Calendars", "calendar-list", REFERENCE),
    ("Audit", "audit-log", TOOLS),
    ("Integrations", "integrations", TOOLS),
    ("API", "api-docs", TOOLS),
    ("Admin", "admin:index", TOOLS),
]


def _is_active(path: str, url: str) -> bool:
    return path == url or (url != "/" and path.startswith(url))


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_reference": [], "nav_tools": []}
    groups: dict[str, list] = {WORK: [], REFERENCE: [], TOOLS: []}
    for label, name, group in NAVIGATION:
        if not may_see_page(user, name):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = _is_active(request.path, url)
        groups[group].append({"label": label, "url": url, "name": name, "active": active})
    return {
        "nav_items": groups[WORK],
        "nav_reference": groups[REFERENCE],
        "nav_tools": groups[TOOLS],
    }
