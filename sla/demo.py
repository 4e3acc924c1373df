"""Demo data for `manage.py seed_demo`: one login per role, teams and a calendar.

Idempotent: running it again updates the same rows instead of adding more.
"""

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Role, Team
from accounts.services import user_create_or_update
from sla.models import BusinessCalendar

DEMO_PASSWORD = "slaops-demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    team: str | None
    first_name: str
    last_name: str


DEMO_LOGINS = [
    DemoLogin("maria", Role.MARKETING, "Demand Gen", "Maria", "Marketer"),
    DemoLogin("sam", Role.SALES, "Inside Sales", "Sam", "Seller"),
    DemoLogin("sofia", Role.SALES, "Inside Sales", "Sofia", "Sanchez"),
    DemoLogin("raj", Role.SALES, "Inside Sales", "Raj", "Rao"),
    DemoLogin("morgan", Role.SALES_MANAGER, "Inside Sales", "Morgan", "Manager"),
    DemoLogin("erin", Role.EXECUTIVE, None, "Erin", "Executive"),
    DemoLogin("admin", Role.ADMIN, None, "Ada", "Admin"),
]


@transaction.atomic
def demo_seed() -> list[DemoLogin]:
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name="New York office",
        defaults={
            "timezone": "America/New_York",
            "working_hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-11-26", "2026-12-25", "2027-01-01"],
        },
    )
    for login in DEMO_LOGINS:
        user_create_or_update(
            username=login.username,
            role=login.role,
            password=DEMO_PASSWORD,
            team_name=login.team,
            email=f"{login.username}@example.com",
            first_name=login.first_name,
            last_name=login.last_name,
        )
    Team.objects.filter(name__in=["Demand Gen", "Inside Sales"], calendar=None).update(
        calendar=calendar
    )
    return DEMO_LOGINS
