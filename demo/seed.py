"""Demo data for `manage.py seed_demo`: one login per role and a realistic month.

Two agreements (New York inbound, London partner-sourced), their teams and reps, and
a few hundred leads over the last 30 days, worked through the same services the API
uses: touches in time and late, verdicts, stage moves, abandons, one manager override,
one callback a rep's prospect asked for, one rep away on holiday whose open leads were
moved, and a cap on another rep's open leads. Inbound NY has a fast tier: a demo request is
due a first touch within 15 business minutes.
Idempotent: a second run updates the logins and adds no lead.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from accounts.models import Role, Team, User
from accounts.services import user_create_or_update
from calendars.engine import add_business_minutes
from calendars.models import BusinessCalendar
from calendars.months import month_bounds, month_of
from leads.models import Lead, LeadDefinition
from sla.models import Agreement, Callback, Notification

DEMO_PASSWORD = "slaops-demo"
DEMO_LEADS_PER_AGREEMENT = 160
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    team: str | None
    first_name: str
    last_name: str


DEMO_LOGINS = [
    DemoLogin("maria", Role.MARKETING, "Demand Gen", "Maria", "Marketer"),
    DemoLogin("priya", Role.MARKETING, "Partner Marketing", "Priya", "Patel"),
    DemoLogin("sam", Role.SALES, "Inside Sales", "Sam", "Seller"),
    DemoLogin("sofia", Role.SALES, "Inside Sales", "Sofia", "Sanchez"),
    DemoLogin("raj", Role.SALES, "Inside Sales", "Raj", "Rao"),
    DemoLogin("morgan", Role.SALES_MANAGER, "Inside Sales", "Morgan", "Manager"),
    DemoLogin("liam", Role.SALES, "Enterprise Sales", "Liam", "Lewis"),
    DemoLogin("olivia", Role.SALES, "Enterprise Sales", "Olivia", "Owen"),
    DemoLogin("noah", Role.SALES_MANAGER, "Enterprise Sales", "Noah", "North"),
    DemoLogin("erin", Role.EXECUTIVE, None, "Erin", "Executive"),
    DemoLogin("admin", Role.ADMIN, None, "Ada", "Admin"),
]


def logins_table(logins: list[DemoLogin]) -> str:
    """The demo logins as one aligned text table: user, role, team, password."""
    rows = [("user", "role", "team", "password")]
    rows += [
        (login.username, Role(login.role).label, login.team or "—", DEMO_PASSWORD)
        for login in logins
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


COMPANIES = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Wonka Industries",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Vandelay",
    "Pied Piper",
    "Aperture",
    "Massive Dynamic",
    "Oscorp",
    "Gringotts",
    "Monsters Inc",
    "Dunder Mifflin",
    "Prestige Worldwide",
]
FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Dan",
    "Ella",
    "Finn",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kara",
    "Leo",
]
LAST = ["Adams", "Brown", "Clark", "Davis", "Evans", "Fox", "Green", "Hill", "Irwin", "Jones"]
TITLES = ["VP Sales", "Head of Ops", "CTO", "Marketing Lead", "Student", "Founder", "IT Manager"]
SOURCES = ["webinar", "ebook", "paid_search", "partner", "event", "referral", "demo_request"]
# Inbound NY's fast tier: a prospect who asked for a demo is called within 15 minutes.
DEMO_TIER = {
    "name": "Demo request",
    "when": [{"field": "source", "op": "eq", "value": "demo_request"}],
    "first_touch_minutes": 15,
    "at_risk_percent": 50,
    "next_touch_minutes": 480,
}


def _calendar(name, zone, holidays) -> BusinessCalendar:
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name=name,
        defaults={
            "timezone": zone,
            "working_hours": {d: [["09:00", "12:30"], ["13:30", "17:30"]] for d in WEEKDAYS},
            "holidays": holidays,
        },
    )
    return calendar


def _definition(name, qualify_at, criteria, now) -> LeadDefinition:
    from leads.services.definitions import definition_create

    existing = LeadDefinition.objects.filter(name=name).first()
    if existing:
        return existing
    return definition_create(
        by=None,
        name=name,
        good_lead="A company of 50+ people with a buying role, reached with consent.",
        not_a_lead="Students, job seekers, competitors, and personal e-mail sign-ups.",
        handling="Call within the first-touch window, then follow the cadence; log every attempt.",
        qualify_at=qualify_at,
        criteria=criteria,
        disqualifiers=[
            {"field": "title", "op": "contains", "value": "student", "label": "Student"},
            {"field": "attributes.competitor", "op": "eq", "value": True, "label": "Competitor"},
        ],
    )


def _agreement(name, marketing, sales, calendar, definition, quota, now, tiers=()) -> Agreement:
    from sla.agreements import agreement_create

    existing = Agreement.objects.filter(name=name).first()
    if existing:
        return existing
    start = (now - timedelta(days=120)).date().replace(day=1)
    return agreement_create(
        by=None,
        now=now,
        name=name,
        marketing_team=marketing,
        sales_team=sales,
        calendar=calendar,
        definition=definition,
        effective_from=start,
        first_touch_minutes=240,
        at_risk_percent=75,
        next_touch_minutes=1440,
        attempts_before_abandon=4,
        tiers=list(tiers),
        monthly_quota=quota,
        min_acceptance_percent=80,
        pacing_tolerance_percent=10,
    )


@transaction.atomic
def demo_seed(*, now: datetime) -> list[DemoLogin]:
    ny = _calendar(
        "New York office", "America/New_York", ["2026-11-26", "2026-12-25", "2027-01-01"]
    )
    london = _calendar("London office", "Europe/London", ["2026-12-25", "2026-12-28", "2027-01-01"])
    existing = set(User.objects.values_list("username", flat=True))
    for login in DEMO_LOGINS:
        if login.username in existing:
            continue  # hashing a password is slow; a rerun leaves the logins as they are
        user_create_or_update(
            username=login.username,
            role=login.role,
            password=DEMO_PASSWORD,
            team_name=login.team,
            email=f"{login.username}@example.com",
            first_name=login.first_name,
            last_name=login.last_name,
        )
    teams = {team.name: team for team in Team.objects.all()}
    Team.objects.filter(name__in=["Demand Gen", "Inside Sales"], calendar=None).update(calendar=ny)
    Team.objects.filter(name__in=["Partner Marketing", "Enterprise Sales"], calendar=None).update(
        calendar=london
    )
    inbound = _definition(
        "Inbound SMB",
        50,
        [
            {"field": "company_size", "op": "gte", "value": 50, "points": 40, "label": "50+ staff"},
            {
                "field": "title",
                "op": "in",
                "value": ["VP Sales", "Head of Ops", "CTO", "Founder"],
                "points": 30,
                "label": "Buying role",
            },
            {
                "field": "source",
                "op": "in",
                "value": ["webinar", "referral", "event", "demo_request"],
                "points": 20,
                "label": "High-intent source",
            },
        ],
        now,
    )
    partner = _definition(
        "Partner-sourced enterprise",
        60,
        [
            {
                "field": "company_size",
                "op": "gte",
                "value": 500,
                "points": 50,
                "label": "500+ staff",
            },
            {"field": "source", "op": "eq", "value": "partner", "points": 30, "label": "Partner"},
            {
                "field": "attributes.budget_confirmed",
                "op": "eq",
                "value": True,
                "points": 20,
                "label": "Budget confirmed",
            },
        ],
        now,
    )
    agreements = [
        _agreement(
            "Inbound NY",
            teams["Demand Gen"],
            teams["Inside Sales"],
            ny,
            inbound,
            150,
            now,
            tiers=[DEMO_TIER],
        ),
        _agreement(
            "Partner EMEA",
            teams["Partner Marketing"],
            teams["Enterprise Sales"],
            london,
            partner,
            120,
            now,
        ),
    ]
    generated = False
    for agreement in agreements:
        _commitments(agreement, now)
        if not Lead.objects.filter(external_id__startswith=f"demo-{agreement.pk}-").exists():
            _month_of_leads(agreement, now, random.Random(agreement.pk))
            generated = True
    if not Callback.objects.filter(lead__terms__agreement=agreements[0]).exists():
        _callback(agreements[0], now)
    _away(agreements[0], now)
    _duplicate(agreements[0], now)
    _negotiation(agreements[0], now)
    try:
        from sla.checks import run_all_checks
    except ImportError:  # the checks arrive with the scheduled-checks work
        run_all_checks = None
    if run_all_checks is not None:
        run_all_checks(at=now)
    if generated:
        # The demo month's flags are history: do not mail a month of reminders on first
        # start. Later runs leave every notification alone.
        Notification.objects.filter(state=Notification.State.PENDING).update(
            state=Notification.State.SKIPPED, last_error="demo history: not sent"
        )
    return DEMO_LOGINS


def _duplicate(agreement: Agreement, now: datetime) -> None:
    """The same person delivered again while their first lead is open: recorded as its
    duplicate (sla.duplicates), starting no clock; once."""
    from sla.actions import lead_deliver

    if Lead.objects.filter(terms__agreement=agreement, duplicate_of__isnull=False).exists():
        return
    first = (
        Lead.objects.filter(
            terms__agreement=agreement, qualifies=True, closed_at__isnull=True, owner__isnull=False
        )
        .order_by("-received_at")
        .first()
    )
    if first is None:
        return
    marketer = agreement.marketing_team.members.order_by("username").first()
    data = {
        "email": first.email.upper(),
        "first_name": first.first_name,
        "last_name": first.last_name,
        "company": first.company,
        "title": first.title,
        "company_size": first.company_size,
        "source": "event",
        "external_id": f"demo-{agreement.pk}-again",
        "received_at": max(first.received_at, now - timedelta(hours=2)),
    }
    lead_deliver(by=marketer, data=data, agreement=agreement, now=now)


def _commitments(agreement: Agreement, now: datetime) -> None:
    from sla.agreements import commitment_log

    calendar = agreement.calendar.as_work_calendar()
    year, month = month_of(calendar, now)
    previous = date(year, month, 1) - timedelta(days=1)
    maria = agreement.marketing_team.members.filter(role=Role.MARKETING).first()
    for (y, m), quota in (
        ((previous.year, previous.month), agreement.monthly_quota),
        ((year, month), None),
    ):
        # Logged as marketing logs it, when the month begins: last month's books are closed
        # by now, and a closed month's commitment is final.
        commitment_log(
            agreement=agreement,
            month=f"{y}-{m:02d}",
            quota=quota,
            note="Demo commitment",
            by=maria,
            now=min(now, month_bounds(calendar, y, m)[0]),
        )


def _callback(agreement: Agreement, now: datetime) -> None:
    """One prospect of a rep asked to be called back at 10:00 on the next business day:
    the lead's running clock pauses until then (shown on its timeline and in the inbox)."""
    from sla.callbacks import lead_callback

    calendar = agreement.calendar.as_work_calendar()
    leads = Lead.objects.filter(
        terms__agreement=agreement,
        owner__role=Role.SALES,
        closed_at__isnull=True,
        qualifies=True,
        clocks__state="running",
        clocks__due_at__gt=now,
    ).select_related("owner")
    lead = leads.filter(owner__username="sam").order_by("received_at").first()
    lead = lead or leads.order_by("received_at").first()
    if lead is None:
        return
    zone = ZoneInfo(calendar.timezone)
    day = now.astimezone(zone).date() + timedelta(days=1)
    while not calendar._business_day(day.toordinal()):
        day += timedelta(days=1)
    lead_callback(
        lead=lead,
        by=lead.owner,
        at=datetime.combine(day, time(10), tzinfo=zone),
        note="Asked to talk after their budget meeting",
        now=now,
    )


def _away(agreement: Agreement, now: datetime) -> None:
    """Raj is on holiday (today to three days on): the manager moved his open leads to the
    others, and round robin passes him by. Sofia takes at most 40 open leads."""
    from accounts.absences import absence_create, away_at, is_away
    from sla.reassign import open_leads_move

    team = agreement.sales_team
    raj = team.members.filter(username="raj").first()
    manager = team.members.filter(role=Role.SALES_MANAGER).first()
    team.members.filter(username="sofia", max_open_leads=None).update(max_open_leads=40)
    if raj is None or is_away(away_at(user_ids=[raj.pk], instants=[now]).get(raj.pk), now):
        return
    zone = ZoneInfo(agreement.calendar.timezone)
    today = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    absence_create(
        user=raj,
        starts_at=min(today, now),
        ends_at=today + timedelta(days=3),
        reason="Holiday",
        by=manager,
        at=now,
    )
    open_leads_move(team=team, member=raj, by=manager, at=now)


def _negotiation(agreement: Agreement, now: datetime) -> None:
    """The negotiated agreement: one change both sides accepted (in effect from next
    month), one open proposal of sales with its what-if, and a disputed rejection."""
    from core.timeparse import month_add
    from sla.disputes import dispute_open, dispute_refusal
    from sla.models import Dispute, Proposal
    from sla.proposals import proposal_accept, proposal_create

    marketer = agreement.marketing_team.members.filter(role=Role.MARKETING).first()
    manager = agreement.sales_team.members.filter(role=Role.SALES_MANAGER).first()
    if marketer is None or manager is None:
        return
    if not Proposal.objects.filter(agreement=agreement).exists():
        year, month = month_of(agreement.calendar.as_work_calendar(), now)
        following = date(*month_add(year, month, 1), 1)
        accepted = proposal_create(
            agreement=agreement,
            by=marketer,
            note="Quota up to 160 from next month: the new webinar series starts.",
            effective_from=following,
            changes={"monthly_quota": 160},
            now=now - timedelta(days=2),
        )
        proposal_accept(proposal=accepted, by=manager, now=now - timedelta(days=1))
        proposal_create(
            agreement=agreement,
            by=manager,
            note="Five hours to the first touch: the team covers two time zones now.",
            effective_from=following,
            changes={"first_touch_minutes": 300},
            now=now - timedelta(hours=3),
        )
    if Dispute.objects.filter(lead__terms__agreement=agreement).exists():
        return
    for lead in (
        Lead.objects.filter(terms__agreement=agreement, verdict=Lead.Verdict.REJECTED)
        .select_related("terms__agreement__calendar")
        .order_by("-verdict_at")[:20]
    ):
        if dispute_refusal(lead=lead, agreement=agreement, now=now) is None:
            dispute_open(
                lead=lead,
                by=marketer,
                note="Demo: the company has 600 staff and asked for a demo.",
                now=now,
            )
            return


def books_closed(agreement: Agreement, received: datetime, at: datetime) -> bool:
    """Whether the books of the month `received` falls in had closed by `at` (sla.books):
    a verdict then is refused, as it would be for a user."""
    from sla.books import CLOSED, month_period

    year, month = month_of(agreement.calendar.as_work_calendar(), received)
    return month_period(agreement, year, month, at) == CLOSED


def _month_of_leads(agreement: Agreement, now: datetime, rnd: random.Random) -> None:
    """Deliver and work leads over the last 30 days, as if it had happened."""
    from sla.actions import (
        lead_abandon,
        lead_acknowledge,
        lead_deliver,
        lead_move_stage,
        lead_reject,
        lead_touch,
    )
    from sla.selectors import lead_windows

    calendar = agreement.calendar.as_work_calendar()
    marketer = agreement.marketing_team.members.filter(role=Role.MARKETING).first()
    manager = agreement.sales_team.members.filter(role=Role.SALES_MANAGER).first()
    for n in range(DEMO_LEADS_PER_AGREEMENT):
        received = now - timedelta(minutes=rnd.randint(20, 30 * 24 * 60))
        data = {
            "email": f"demo{agreement.pk}.{n}@example.com",
            "first_name": rnd.choice(FIRST),
            "last_name": rnd.choice(LAST),
            "company": rnd.choice(COMPANIES),
            "title": rnd.choice(TITLES + ["VP Sales", "Founder", "CTO"]),
            "country": rnd.choice(["US", "GB", "DE", "CA", "FR"]),
            "company_size": rnd.choice([5, 20, 60, 150, 600, 600, 2000, 2000]),
            "source": rnd.choice(SOURCES + ["partner", "webinar", "referral"]),
            "external_id": f"demo-{agreement.pk}-{n}",
            "received_at": received,
            "attributes": {"budget_confirmed": rnd.random() < 0.6},
        }
        lead, _ = lead_deliver(by=marketer, data=data, agreement=agreement, now=received)
        if not lead.qualifies or lead.owner is None:
            continue
        rep = lead.owner
        windows = lead_windows(lead)  # the lead's tier: a demo request's are short
        # How fast the rep was: mostly in time, some late, a few not yet.
        speed = rnd.random()
        if speed < 0.12:
            continue  # untouched: pending, at risk or breached depending on age
        share = rnd.uniform(0.05, 0.9) if speed < 0.8 else rnd.uniform(1.1, 3.0)
        at = add_business_minutes(calendar, received, windows.first_touch_minutes * share)
        attempts = 0
        while at < now and attempts < 6:
            outcome = rnd.choice(["no_answer", "left_message", "no_answer", "connected"])
            lead_touch(
                lead=lead,
                by=rep,
                kind=rnd.choice(["call", "email"]),
                outcome=outcome,
                at=at,
                now=at,
            )
            attempts += 1
            if outcome == "connected":
                break
            at = add_business_minutes(
                calendar, at, windows.next_touch_minutes * rnd.uniform(0.3, 1.3)
            )
        last = min(at, now)
        fate = rnd.random()
        if books_closed(agreement, received, last):
            fate = 1.0  # its month's books closed before the rep decided: no verdict
        if fate < 0.15:
            lead_reject(
                lead=lead,
                by=rep,
                reason=rnd.choice(["not_icp", "no_budget", "bad_contact"]),
                note="Demo",
                now=last,
            )
        elif fate < 0.75 and attempts:
            lead_acknowledge(lead=lead, by=rep, now=last)
            if outcome == "connected":
                stage = rnd.choice(["engaged", "investigating", "buying", "customer"])
                lead_move_stage(lead=lead, by=rep, stage=stage, note="Demo", now=last)
        elif attempts >= windows.attempts_before_abandon:
            lead_abandon(
                lead=lead, by=rep, reason="No response after the agreed attempts", now=last
            )
        elif attempts and fate > 0.97 and manager is not None:
            lead_abandon(lead=lead, by=manager, reason="Company acquired", override=True, now=last)
