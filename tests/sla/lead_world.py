"""A small world for the leads API tests: two agreements, their teams, one person per role.

Agreement A: marketing "Demand Gen" (maria) → sales "Inside Sales" (reps sam and sofia,
manager morgan). Agreement B: "Partners" (petra) → "Enterprise" (rep olga, manager otto).
Both on a New York 09:00–17:00 weekday calendar; a lead qualifies with 50+ staff and is
struck when `attributes.student` is true.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import factory

from accounts.models import Role, Team
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    DefinitionFactory,
    TeamFactory,
    UserFactory,
)

NEW_YORK = ZoneInfo("America/New_York")
UNUSABLE = factory.Transformer.Force("!")  # an unusable password, stored as is


def ny(*args) -> datetime:
    """A New York wall time as an aware instant."""
    return datetime(*args, tzinfo=NEW_YORK)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def iso(value: datetime) -> str:
    """How the API writes an instant (UTC, `Z`)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class World:
    a: object
    b: object
    users: dict
    calendar: object

    def __getattr__(self, name):
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


def build_world(**terms) -> World:
    """Both agreements and their people; `terms` override agreement A's terms."""
    # No password: the tests authenticate directly, and hashing nine passwords is slow.
    users = {
        name: UserFactory(username=name, role=role, password=UNUSABLE)
        for name, role in [
            ("maria", Role.MARKETING),
            ("petra", Role.MARKETING),
            ("sam", Role.SALES),
            ("sofia", Role.SALES),
            ("morgan", Role.SALES_MANAGER),
            ("olga", Role.SALES),
            ("otto", Role.SALES_MANAGER),
            ("erin", Role.EXECUTIVE),
            ("ada", Role.ADMIN),
        ]
    }
    calendar = CalendarFactory(name="New York")
    definition = DefinitionFactory(name="Good lead")
    demand = TeamFactory(name="Demand Gen", kind=Team.Kind.MARKETING, members=[users["maria"]])
    partners = TeamFactory(name="Partners", kind=Team.Kind.MARKETING, members=[users["petra"]])
    inside = TeamFactory(
        name="Inside Sales",
        kind=Team.Kind.SALES,
        members=[users["sam"], users["sofia"], users["morgan"]],
    )
    enterprise = TeamFactory(
        name="Enterprise", kind=Team.Kind.SALES, members=[users["olga"], users["otto"]]
    )
    a = AgreementFactory(
        name="A",
        marketing_team=demand,
        sales_team=inside,
        calendar=calendar,
        definition=definition,
        **terms,
    )
    b = AgreementFactory(
        name="B",
        marketing_team=partners,
        sales_team=enterprise,
        calendar=calendar,
        definition=definition,
    )
    return World(a=a, b=b, users=users, calendar=calendar)


def lead_body(**overrides) -> dict:
    """A lead that qualifies (120 staff) unless told otherwise."""
    body = {
        "email": "ann@example.com",
        "first_name": "Ann",
        "last_name": "Archer",
        "company": "Acme",
        "title": "CTO",
        "country": "US",
        "company_size": 120,
        "source": "webinar",
        "attributes": {"industry": "retail"},
    }
    body.update(overrides)
    return body
