"""A world with one person per role, for the browser tests that visit every page as each:
one agreement between two teams, three leads of the rep's with clocks, an open flag."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Role
from tests.factories import AgreementFactory, ClockFactory, FlagFactory, LeadFactory, TeamFactory


def role_world(make_user) -> dict:
    """{"people": {role: user}, "agreement", "lead", "leads", "now"}."""
    marketing = TeamFactory(name="Demand Gen", kind="marketing")
    sales = TeamFactory(name="Inside Sales", kind="sales")
    agreement = AgreementFactory(name="NY inbound", marketing_team=marketing, sales_team=sales)
    people = {
        Role.MARKETING: make_user("maria", Role.MARKETING, team="Demand Gen"),
        Role.SALES: make_user("sam", Role.SALES, team="Inside Sales"),
        Role.SALES_MANAGER: make_user("morgan", Role.SALES_MANAGER, team="Inside Sales"),
        Role.EXECUTIVE: make_user("erin", Role.EXECUTIVE),
        Role.ADMIN: make_user("ada", Role.ADMIN),
    }
    now = timezone.now()
    leads = []
    for n, hours in enumerate((1, 3, 30)):
        received = now - timedelta(hours=hours)
        lead = LeadFactory(
            agreement=agreement,
            owner=people[Role.SALES],
            first_name="Ann",
            last_name=f"Lee{n}",
            email=f"ann{n}@acme.test",
            received_at=received,
        )
        ClockFactory(lead=lead, started_at=received)
        leads.append(lead)
    FlagFactory(agreement=agreement, lead=leads[-1], team=sales, owner=leads[-1].owner)
    return {"people": people, "agreement": agreement, "lead": leads[0], "leads": leads, "now": now}
