"""The figures as one statement: a month's figures, and each month of the trend, equal a
computation from scratch on the same leads, clocks and flags; the cost does not grow.

The world: a New York weekday calendar, reps alice and bob and unassigned leads, leads
spread over October to mid-December 2026 with every kind of first touch (in time, late,
by a rejection, still running, touched only after the instant asked about), leads that
do not qualify, another agreement's leads in the same months, flags and a commitment.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from calendars.engine import business_minutes_between
from core.timeparse import month_text
from leads.models import Lead
from sla.books import month_period
from sla.clocks import clock_stop
from sla.compliance import (
    compliance_for,
    compliance_trend,
    compliance_trend_together,
    marketing_block,
    month_window,
    percent,
)
from sla.models import Clock, Flag, LeadTerms, MonthlyCommitment
from sla.tallies import _tallies_in_orm, _tallies_in_sql, pairs_tallies
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    CommitmentFactory,
    FlagFactory,
    LeadFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AS_OF = datetime(2026, 12, 15, 17, 0, tzinfo=UTC)
MONTHS = ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
FIRST_DAY = datetime(2026, 10, 1, 4, 0, tzinfo=UTC)  # 1 Oct, midnight in New York


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The tiers stamped on the leads: two of the agreement's current tiers (in this order),
# one of an older version only, and the default.
TIERS = [
    {"name": "Zeta", "when": [{"field": "source", "op": "eq", "value": "never"}]},
    {"name": "Alpha", "when": [{"field": "source", "op": "eq", "value": "nor this"}]},
]
STAMPED = ["", "", "Zeta", "Alpha", "Older"]


def deliver(agreement, owners, count: int, seed: int) -> None:
    """`count` leads of every shape, received between 1 Oct and 20 Dec, each stamped with
    one of STAMPED's tiers (drawn apart, so the leads are those without tiers)."""
    rng = random.Random(seed)
    tiers = random.Random(seed + 1)
    calendar = agreement.calendar.as_work_calendar()
    for _ in range(count):
        received = FIRST_DAY + timedelta(minutes=rng.randrange(0, 80 * 24 * 60))
        owner = rng.choice(owners)
        if rng.random() < 0.15:
            LeadFactory(agreement=agreement, owner=owner, received_at=received, qualifies=False)
            continue
        verdict = rng.choice(["pending", "accepted", "accepted", "rejected"])
        lead = LeadFactory(agreement=agreement, owner=owner, received_at=received, verdict=verdict)
        LeadTerms.objects.filter(lead=lead).update(tier=tiers.choice(STAMPED))
        clock = ClockFactory(lead=lead, due_at=received + timedelta(hours=rng.choice([2, 4, 30])))
        shape = rng.choice(["touch", "connected", "late", "rejected", "running", "after"])
        if shape == "running":
            continue
        if shape == "late":
            stop = clock.due_at + timedelta(minutes=rng.randrange(1, 3000))
        elif shape == "after":  # stopped only after AS_OF: not yet decided then
            stop = AS_OF + timedelta(minutes=rng.randrange(1, 600))
        else:
            stop = received + timedelta(minutes=rng.randrange(0, 120))
        reason = {"late": "touch", "after": "touch"}.get(shape, shape)
        if stop > clock.started_at:
            clock_stop(clock=clock, at=stop, reason=reason, calendar=calendar)


@pytest.fixture
def both():
    """The world's agreement, and another one of bob's with leads in the same months."""
    agreement = AgreementFactory(monthly_quota=25, min_acceptance_percent=60, tiers=TIERS)
    alice = UserFactory(username="alice", role=Role.SALES)
    bob = UserFactory(username="bob", role=Role.SALES)
    deliver(agreement, [alice, bob, None], 70, seed=9)
    other = AgreementFactory(calendar=CalendarFactory(timezone="Europe/Paris"))
    deliver(other, [bob], 24, seed=15)
    CommitmentFactory(agreement=agreement, month="2026-11", quota=18)
    leads = list(Lead.objects.filter(terms__agreement=agreement).order_by("id")[:6])
    for index, (kind, state) in enumerate(
        [
            (Flag.Kind.FIRST_TOUCH_BREACHED, Flag.State.OPEN),
            (Flag.Kind.NEXT_TOUCH_BREACHED, Flag.State.OPEN),
            (Flag.Kind.FIRST_TOUCH_BREACHED, Flag.State.RESOLVED),
            (Flag.Kind.PREMATURE_ABANDON, Flag.State.RESOLVED),
            (Flag.Kind.QUOTA_AT_RISK, Flag.State.OPEN),
        ]
    ):
        lead = leads[index]
        month = month_text(lead.received_at, agreement.calendar.timezone)
        FlagFactory(agreement=agreement, lead=lead, kind=kind, state=state, month=month)
    return agreement, other


@pytest.fixture
def world(both):
    return both[0]


# --- the same figures, from scratch -----------------------------------------------------


def _summary(values: list[int]) -> tuple:
    if not values:
        return None, None
    ordered = sorted(values)
    return math.floor(median(ordered) + 0.5), ordered[math.ceil(0.9 * len(ordered)) - 1]


def from_scratch(agreement, month: str, at: datetime, minutes: list | None = None) -> dict:
    """Every lead of the agreement read into Python, its month by its local date, each
    clock judged one by one and its business minutes computed again by the engine
    (appended to `minutes` when given)."""
    zone = agreement.calendar.timezone
    calendar = agreement.calendar.as_work_calendar()
    leads = [
        lead
        for lead in Lead.objects.filter(terms__agreement=agreement).select_related("owner", "terms")
        if month_text(lead.received_at, zone) == month
    ]
    qualified = {lead.id: lead for lead in leads if lead.qualifies}
    reps: dict = {}
    tiers: dict = {}
    for lead in qualified.values():
        owner = lead.owner.username if lead.owner else None
        for shares, key in ((reps, owner), (tiers, lead.terms.tier or None)):
            shares.setdefault(key, {"leads": 0, "within": 0, "breached": 0, "minutes": []})
            shares[key]["leads"] += 1
    for clock in Clock.objects.filter(lead__in=list(qualified), kind="first_touch"):
        lead = qualified[clock.lead_id]
        rep = reps[lead.owner.username if lead.owner else None]
        tier = tiers[lead.terms.tier or None]
        stopped = clock.state == "stopped"
        for share in (rep, tier):
            if stopped and clock.stopped_at <= clock.due_at and clock.stopped_at <= at:
                share["within"] += 1
            if clock.due_at <= at and (not stopped or clock.stopped_at > clock.due_at):
                share["breached"] += 1
            if stopped and clock.stop_reason in ("touch", "connected") and clock.stopped_at <= at:
                share["minutes"].append(
                    int(business_minutes_between(calendar, clock.started_at, clock.stopped_at))
                )
    logged = MonthlyCommitment.objects.filter(agreement=agreement, month=month).first()
    counts = {
        "delivered": len(leads),
        "delivered_qualified": len(qualified),
        "accepted": sum(lead.verdict == "accepted" for lead in leads),
        "rejected": sum(lead.verdict == "rejected" for lead in leads),
    }
    year, number = (int(part) for part in month.split("-"))
    window = month_window(calendar, year, number, at)
    flags = list(Flag.objects.filter(agreement=agreement, month=month))
    within = sum(rep["within"] for rep in reps.values())
    breached = sum(rep["breached"] for rep in reps.values())
    every = [m for rep in reps.values() for m in rep["minutes"]]
    if minutes is not None:
        minutes.extend(every)
    middle, p90 = _summary(every)
    return {
        "month": month,
        "agreement": agreement.id,
        "timezone": zone,
        "as_of": at,
        "period": month_period(agreement, year, number, at),
        "marketing": marketing_block(
            agreement=agreement,
            window=window,
            counts=counts,
            committed=logged.quota if logged else agreement.monthly_quota,
        ),
        "sales": {
            "leads": len(qualified),
            "touched_within_sla": within,
            "breached": breached,
            "compliance_percent": percent(within, within + breached),
            "median_first_touch_minutes": middle,
            "p90_first_touch_minutes": p90,
            "open_breaches": sum(
                f.kind in ("first_touch_breached", "next_touch_breached") and f.state == "open"
                for f in flags
            ),
            "premature_abandons": sum(f.kind == "premature_abandon" for f in flags),
        },
        "by_rep": [
            {
                "owner": owner,
                "leads": rep["leads"],
                "touched_within_sla": rep["within"],
                "breached": rep["breached"],
                "compliance_percent": percent(rep["within"], rep["within"] + rep["breached"]),
                "median_first_touch_minutes": _summary(rep["minutes"])[0],
                "p90_first_touch_minutes": _summary(rep["minutes"])[1],
            }
            for owner, rep in sorted(
                reps.items(), key=lambda item: (item[0] is None, item[0] or "")
            )
        ],
        # The agreement's tiers in its order, then older ones by name, the default last.
        "by_tier": [
            {
                "tier": name,
                "leads": tier["leads"],
                "touched_within_sla": tier["within"],
                "breached": tier["breached"],
                "compliance_percent": percent(tier["within"], tier["within"] + tier["breached"]),
                "median_first_touch_minutes": _summary(tier["minutes"])[0],
                "p90_first_touch_minutes": _summary(tier["minutes"])[1],
            }
            for name, tier in sorted(
                tiers.items(),
                key=lambda item: (
                    item[0] is None,
                    [t["name"] for t in TIERS].index(item[0])
                    if item[0] in ("Zeta", "Alpha")
                    else 9,
                    item[0] or "",
                ),
            )
        ],
    }


# --- the rules ----------------------------------------------------------------------------


def test_the_world_has_every_shape_of_month(world):
    # Guards the test itself: months with and without leads, touched, late and undecided.
    figures = {month: from_scratch(world, month, AS_OF) for month in MONTHS}
    assert figures["2026-09"]["marketing"]["delivered"] == 0
    assert all(figures[m]["sales"]["breached"] > 0 for m in ("2026-10", "2026-11", "2026-12"))
    assert figures["2026-12"]["sales"]["touched_within_sla"] > 0
    assert None in {rep["owner"] for rep in figures["2026-11"]["by_rep"]}
    assert figures["2026-11"]["marketing"]["committed"] == 18
    assert [row["tier"] for row in figures["2026-11"]["by_tier"]] == [
        "Zeta",
        "Alpha",
        "Older",
        None,
    ]


@pytest.mark.parametrize("month", MONTHS)
def test_a_months_figures_equal_a_computation_from_scratch(world, month):
    assert compliance_for(agreement=world, month=month, at=AS_OF) == from_scratch(
        world, month, AS_OF
    )


def test_figures_as_of_an_earlier_instant_equal_a_computation_from_scratch(world):
    # As of 20 Nov, later touches are not yet made and later due times not yet passed.
    at = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    for month in ("2026-10", "2026-11"):
        assert compliance_for(agreement=world, month=month, at=at) == from_scratch(world, month, at)


def test_each_month_of_the_trend_equals_compliance_for_that_month(world):
    trend = compliance_trend(agreement=world, months=MONTHS, at=AS_OF)

    assert [entry["month"] for entry in trend] == MONTHS
    for entry in trend:
        single = compliance_for(agreement=world, month=entry["month"], at=AS_OF)
        assert entry == {
            "month": single["month"],
            "period": single["period"],
            "marketing": single["marketing"],
            "sales": single["sales"],
        }


def test_the_trend_keeps_the_order_it_was_asked_in(world):
    months = ["2026-12", "2026-10", "2026-11"]
    trend = compliance_trend(agreement=world, months=months, at=AS_OF)
    assert [entry["month"] for entry in trend] == months
    assert (
        trend[1]["marketing"]
        == compliance_for(agreement=world, month="2026-10", at=AS_OF)["marketing"]
    )


def test_a_bad_month_in_the_trend_is_refused(world):
    with pytest.raises(ValueError, match="out of range"):
        compliance_trend(agreement=world, months=["2026-12", "0000-01"], at=AS_OF)


def test_several_agreements_trend_each_as_alone_and_together_from_scratch(both):
    trend = compliance_trend_together(agreements=both, months=MONTHS, at=AS_OF)

    alone = {a.id: compliance_trend(agreement=a, months=MONTHS, at=AS_OF) for a in both}
    for index, entry in enumerate(trend):
        assert entry["agreements"] == [
            {
                "agreement": a.id,
                **{k: alone[a.id][index][k] for k in ("period", "marketing", "sales")},
            }
            for a in both
        ]
        minutes: list = []
        scratch = [from_scratch(a, entry["month"], AS_OF, minutes) for a in both]
        for key in ("delivered", "delivered_qualified", "accepted", "rejected"):
            assert entry["marketing"][key] == sum(s["marketing"][key] for s in scratch)
        for key in ("leads", "touched_within_sla", "breached", "open_breaches"):
            assert entry["sales"][key] == sum(s["sales"][key] for s in scratch)
        middle, p90 = _summary(minutes)
        assert (
            entry["sales"]["median_first_touch_minutes"],
            entry["sales"]["p90_first_touch_minutes"],
        ) == (middle, p90)
    december = trend[MONTHS.index("2026-12")]
    assert december["marketing"]["committed"] == 25 + 200  # both in effect, neither logged
    assert december["sales"]["median_first_touch_minutes"] is not None


# --- the cost -------------------------------------------------------------------------------


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_a_months_figures_cost_the_same_queries_for_few_or_many_leads(world):
    agreement = AgreementFactory()
    rep = UserFactory(username="carol", role=Role.SALES)
    deliver(agreement, [rep], 3, seed=1)
    few = _queries(lambda: compliance_for(agreement=agreement, month="2026-11", at=AS_OF))
    deliver(agreement, [rep, UserFactory(username="dan", role=Role.SALES), None], 40, seed=2)
    many = _queries(lambda: compliance_for(agreement=agreement, month="2026-11", at=AS_OF))
    assert few == many


def test_the_trend_costs_the_same_queries_for_one_month_or_twelve(world):
    one = _queries(lambda: compliance_trend(agreement=world, months=["2026-11"], at=AS_OF))
    twelve = [f"2026-{number:02d}" for number in range(1, 13)]
    assert _queries(lambda: compliance_trend(agreement=world, months=twelve, at=AS_OF)) == one


def test_the_trend_together_costs_the_same_queries_for_one_agreement_or_two(both):
    world, other = (type(a).objects.select_related("calendar").get(pk=a.pk) for a in both)
    one = _queries(lambda: compliance_trend_together(agreements=[world], months=MONTHS, at=AS_OF))
    two = _queries(
        lambda: compliance_trend_together(agreements=[world, other], months=MONTHS, at=AS_OF)
    )
    assert one == two


@pytest.mark.postgres
def test_postgresql_reads_a_month_in_one_statement(world):
    with CaptureQueriesContext(connection) as queries:
        compliance_for(agreement=world, month="2026-12", at=AS_OF)
    assert len(queries) == 1
    # A closed month also reads the terms in effect when it closed: the agreement's
    # versions and its reopenings, one query each.
    with CaptureQueriesContext(connection) as closed:
        compliance_for(agreement=world, month="2026-11", at=AS_OF)
    assert len(closed) == 3


@pytest.mark.postgres
@pytest.mark.parametrize("by_owner", [True, False])
def test_the_statement_and_the_portable_queries_count_the_same(world, by_owner):
    calendar = world.calendar.as_work_calendar()
    pairs = [(world.id, month_window(calendar, 2026, n, AS_OF)) for n in (8, 10, 11, 12)]
    in_sql = _tallies_in_sql(pairs, AS_OF, by_owner)
    assert in_sql == _tallies_in_orm(pairs, AS_OF, by_owner)
    assert in_sql[0][2].total.delivered > 0


@pytest.mark.postgres
def test_the_statement_and_the_portable_queries_count_several_agreements_the_same(both):
    pairs = [
        (a.id, month_window(a.calendar.as_work_calendar(), 2026, number, AS_OF))
        for a in both
        for number in (10, 11, 12)
    ]
    in_sql = pairs_tallies(pairs=pairs, at=AS_OF)
    assert in_sql == _tallies_in_orm(pairs, AS_OF, False)
    assert in_sql == _tallies_in_sql(pairs, AS_OF, False)
    assert in_sql[1]["2026-11"][0] is not None
