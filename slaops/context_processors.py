"""The navigation each role sees, built in one place for every page."""

from django.urls import NoReverseMatch, reverse

from accounts.models import Role

# (label, url name, roles that see it); links whose page does not exist yet are skipped.
NAVIGATION = [
    ("Home", "home", None),
    ("Inbox", "lead-inbox", {Role.SALES, Role.SALES_MANAGER}),
    ("Leads", "lead-list", {Role.MARKETING, Role.SALES_MANAGER, Role.EXECUTIVE, Role.ADMIN}),
    ("Commitments", "commitment-list", {Role.MARKETING, Role.ADMIN}),
    ("Dashboard", "dashboard", None),
    ("Flags", "flag-list", None),
    ("Definitions", "definition-list", None),
    ("Funnel", "stage-list", None),
    ("Calendars", "calendar-list", None),
    ("API docs", "api-docs", None),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, roles in NAVIGATION:
        if roles is not None and user.role not in roles and not user.is_superuser:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path == url})
    if user.is_admin_role:
        items.append({"label": "Admin", "url": reverse("admin:index"), "active": False})
    return {"nav_items": items}
