"""The navigation each role sees, built in one place for every page.

Whether a role is shown a link is `accounts.access.may_see_page`, the same rule the
page's view applies, so the nav never hides a page a role may open, nor shows one it
may not.
"""

from django.urls import NoReverseMatch, reverse

from accounts.access import may_see_page

# (label, url name); links whose page does not exist yet are skipped.
NAVIGATION = [
    ("Home", "home"),
    ("Inbox", "lead-inbox"),
    ("Leads", "lead-list"),
    ("Commitments", "commitment-list"),
    ("Import", "import-list"),
    ("Dashboard", "dashboard"),
    ("Flags", "flag-list"),
    ("Definitions", "definition-list"),
    ("Funnel", "stage-list"),
    ("Calendars", "calendar-list"),
    ("API docs", "api-docs"),
    ("Admin", "admin:index"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name in NAVIGATION:
        if not may_see_page(user, name):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path == url})
    return {"nav_items": items}
