"""A tier's first-touch due time, as delivery stores it, equals the minute-by-minute
reference of tests/calendars (whole UTC minutes read on the wall clock, one by one).

Four zones (Paris and New York across their daylight-saving changes, Kolkata without
any, Auckland in the southern summer), a calendar that works every day in the small
hours around the changes and in the day, with a holiday, and leads received at random
instants, half of them within days of a change. Each lead is delivered in one batch (the
COPY path on PostgreSQL) and again alone; both clocks are checked against the stepper.
"""

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Role
from calendars.engine import WorkCalendar
from leads.models import Lead
from sla.delivery import leads_deliver
from sla.models import Clock
from tests.calendars.test_business_time_properties import (
    MINUTE,
    reference_working,
    transitions,
)
from tests.factories import AgreementFactory, CalendarFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]
# Every day a night window across the hour daylight saving skips or repeats, and a day.
HOURS = {
    day: [["01:30", "03:30"], ["09:00", "12:30"], ["13:30", "18:00"]]
    for day in ("mon", "tue", "wed", "thu", "fri")
} | {"sat": [["01:30", "03:30"]], "sun": [["02:15", "02:45"], ["10:00", "11:00"]]}
FAST = {
    "name": "Demo request",
    "when": [{"field": "source", "op": "eq", "value": "demo_request"}],
    "first_touch_minutes": 95,
    "at_risk_percent": 40,  # 38 minutes
}
LEADS_PER_ZONE = 16


def instants(zone: str, rng: random.Random) -> list[datetime]:
    """Whole UTC minutes in 2026: half within two days before to a day after an offset
    change of the zone (any instant of the year where it has none)."""
    changes = [change for change, _ in transitions(zone) if change.year == 2026]
    found = []
    for n in range(LEADS_PER_ZONE):
        if changes and n % 2 == 0:
            start = rng.choice(changes) + MINUTE * rng.randrange(-2 * 1440, 1440)
        else:
            start = datetime(2026, 1, 1, tzinfo=UTC) + MINUTE * rng.randrange(0, 364 * 1440)
        found.append(start)
    return found


def stepped(calendar: WorkCalendar, start: datetime, minutes: int) -> datetime:
    """The end of the minute in which `minutes` business minutes from `start` are reached,
    walking the reference minute by minute."""
    elapsed = list(itertools.accumulate(reference_working(calendar, start)))
    assert elapsed[-1] >= minutes, "the horizon is too short for this window"
    return start + (elapsed.index(minutes) + 1) * MINUTE


def deliver(agreement, by, bodies, now):
    results = leads_deliver(by=by, items=bodies, agreement=agreement, now=now)
    assert {r.status for r in results} == {"created"}, [r.errors for r in results]
    return [r.lead_id for r in results]


@pytest.mark.parametrize("zone", ZONES)
def test_a_tiers_due_and_at_risk_times_equal_stepping_business_minutes(zone):
    rng = random.Random(zone)
    received = instants(zone, rng)
    holiday = received[1].astimezone(ZoneInfo(zone)).date()  # that lead starts on a holiday
    agreement = AgreementFactory(
        calendar=CalendarFactory(
            name=f"Nights {zone}", timezone=zone, working_hours=HOURS, holidays=[str(holiday)]
        ),
        sales_team=TeamFactory(members=[UserFactory(username=f"rep-{zone}", role=Role.SALES)]),
        effective_from=date(2025, 1, 1),
        tiers=[FAST],
        close_grace_business_days=3000,  # a year of leads delivered at once: books kept open
    )
    admin = UserFactory(username="ada", role=Role.ADMIN)
    calendar = agreement.calendar.as_work_calendar()
    bodies = [
        {
            "email": f"lead{n}@example.com",
            "company_size": 120,
            "source": "demo_request" if n % 4 else "webinar",  # every fourth: the default
            "received_at": at,
        }
        for n, at in enumerate(received)
    ]
    now = max(received) + timedelta(minutes=1)

    in_batch = deliver(agreement, admin, bodies, now)
    alone = [
        deliver(agreement, admin, [{**body, "email": f"again.{body['email']}"}], now)[0]
        for body in bodies
    ]

    for body, ids in zip(bodies, zip(in_batch, alone, strict=True), strict=True):
        fast = body["source"] == "demo_request"
        minutes, at_risk = (95, 38) if fast else (240, 180)
        expected = (
            stepped(calendar, body["received_at"], minutes),
            stepped(calendar, body["received_at"], at_risk),
        )
        for lead_id in ids:
            clock = Clock.objects.get(lead_id=lead_id, kind=Clock.Kind.FIRST_TOUCH)
            assert (clock.due_at, clock.at_risk_at) == expected, (zone, body["received_at"])
            assert clock.business_minutes == minutes
            tier = Lead.objects.get(pk=lead_id).terms.tier
            assert tier == ("Demo request" if fast else "")
