"""Project-level pages: the home page sends each role to its work."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

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
