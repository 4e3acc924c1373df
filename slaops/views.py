"""Project-level pages: the home page sends each role to its work."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.models import Role

# Where each role starts: sales at the inbox, marketing at the month's commitments and
# pacing, executives at the dashboard. Admins get the overview of every page.
ROLE_HOME = {
    Role.SALES: "lead-inbox",
    Role.SALES_MANAGER: "lead-inbox",
    Role.MARKETING: "commitment-list",
    Role.EXECUTIVE: "dashboard",
}


@login_required
def home(request):
    start = ROLE_HOME.get(request.user.role)
    if start and not request.user.is_superuser and request.GET.get("overview") != "1":
        return redirect(start)
    return render(request, "home.html", {"teams": request.user.teams.all()})
