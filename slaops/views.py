"""Project-level pages: the home page sends each role to its work."""

import sys

from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from accounts.access import may_see_page
from accounts.models import Role

# Where each role starts: sales at the inbox, marketing at the month's commitments and
# pacing, executives and admins at the compliance dashboard.
ROLE_HOME = {
    Role.SALES: "lead-inbox",
    Role.SALES_MANAGER: "lead-inbox",
    Role.MARKETING: "commitment-list",
    Role.EXECUTIVE: "dashboard",
    Role.ADMIN: "dashboard",
}


def home_url_name(user) -> str | None:
    """The url name of the person's work, or None when their role has none they may open."""
    start = ROLE_HOME.get(user.role)
    if user.is_superuser and start is None:
        start = "dashboard"
    return start if start and may_see_page(user, start) else None


@login_required
def home(request):
    start = home_url_name(request.user)
    if start:
        return redirect(start)
    # No work page for this person (a role without one): say so, and offer what they can read.
    return render(request, "home.html", {"teams": request.user.teams.all()})


# --- errors -------------------------------------------------------------------------------

DATABASE_DOWN = (
    "slaops cannot reach its database just now. Nothing you sent was saved; try again in a minute."
)


def server_error(request):
    """Django's 500 handler, answering a clean 503 when the database is unreachable: JSON
    for the API, a small page (no template, no query) for the browser. It runs inside the
    handler's `except`, so the exception being handled is at hand."""
    exc = sys.exc_info()[1]
    down = isinstance(exc, (OperationalError, InterfaceError))
    status = 503 if down else 500
    if request.path.startswith("/api/"):
        detail = DATABASE_DOWN if down else "The server hit an error; it has been logged."
        response = JsonResponse({"detail": detail}, status=status)
    else:
        title = "Service unavailable" if down else "Server error"
        text = DATABASE_DOWN if down else "Something went wrong on our side; it has been logged."
        response = HttpResponse(
            # The stylesheet is a static file: the Content-Security-Policy allows no inline style.
            f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title} · slaops</title>'
            f'<link rel="stylesheet" href="{static("error.css")}"><body>'
            f'<h1>{title}</h1><p>{text}</p><p><a href="/">slaops</a></p></body></html>',
            status=status,
        )
    if down:
        response["Retry-After"] = "30"
    return response
