"""The compliance figures of a small month, checked against numbers worked out by hand.

New York calendar, Mon–Fri 09:00–17:00; December 2026 has 23 business days. As of
Tue 15 Dec 12:00 EST (17:00 UTC): 10 whole business days are behind (1–4, 7–11, 14) and
3 of the 8 working hours of the 15th, so 10.375 business days have elapsed.

Leads of December (first-touch window 240 business minutes):
  alice  L1 Tue  1 Dec 10:00, touched 11:30            → within SLA, 90 min   accepted
  alice  L2 Wed  2 Dec 09:00, due 13:00, touched 15:00 → breached,   360 min  accepted
  alice  L3 Mon 14 Dec 09:00, due 13:00, untouched     → breached (running past due)
  bob    L4 Thu  3 Dec 10:00, rejected 11:00           → within SLA (decided in time), rejected
  bob    L5 Tue 15 Dec 10:00, due 14:00, untouched     → not decided yet at 12:00
  bob    L6 Fri  4 Dec 16:00, due Mon 12:00, touched Mon 10:00 → within, 60 + 60 = 120 min
  -      L7 Sat  5 Dec, does not qualify               → delivered, not qualified
Not December's: L8 received 30 Nov; L9 under another agreement.
"""

from datetime import UTC, datetime

import pytest

from accounts.models import Role
from leads.models import Lead
from sla.clocks import clock_stop
from sla.compliance import compliance_for
from sla.models import Clock, Flag
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


def utc(day, hour, minute=0, month=12):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def month():
    agreement = AgreementFactory(monthly_quota=10, min_acceptance_percent=80)
    CommitmentFactory(agreement=agreement, month="2026-12", quota=12)
    alice = UserFactory(username="alice", role=Role.SALES)
    bob = UserFactory(username="bob", role=Role.SALES)

    def lead(owner, received, *, verdict=Lead.Verdict.PENDING, due=None, stop=None, reason=""):
        row = LeadFactory(agreement=agreement, owner=owner, received_at=received, verdict=verdict)
        clock = ClockFactory(lead=row, **({"due_at": due} if due else {}))
        if stop:
            calendar = agreement.calendar.as_work_calendar()
            clock_stop(clock=clock, at=stop, reason=reason, calendar=calendar)
        return row

    lead(alice, utc(1, 15), stop=utc(1, 16, 30), reason="touch", verdict="accepted")
    l2 = lead(alice, utc(2, 14), stop=utc(2, 20), reason="touch", verdict="accepted")
    l3 = lead(alice, utc(14, 14))
    lead(bob, utc(3, 15), stop=utc(3, 16), reason="rejected", verdict="rejected")
    lead(bob, utc(15, 15))
    lead(bob, utc(4, 21), due=utc(7, 17), stop=utc(7, 15), reason="touch")
    LeadFactory(agreement=agreement, received_at=utc(5, 15), qualifies=False)
    lead(alice, utc(30, 15, month=11))  # November's
    LeadFactory(agreement=AgreementFactory(), received_at=utc(2, 15))  # another agreement's
    # Flags of the month: L3's breach still open, L2's resolved, one premature abandon.
    FlagFactory(agreement=agreement, lead=l3)
    FlagFactory(agreement=agreement, lead=l2, state=Flag.State.RESOLVED)
    FlagFactory(agreement=agreement, lead=l2, kind=Flag.Kind.PREMATURE_ABANDON, state="resolved")
    return agreement


def test_marketing_figures_of_a_hand_computed_month(month):
    figures = compliance_for(agreement=month, month="2026-12", at=AS_OF)["marketing"]

    assert figures == {
        "committed": 12,  # the logged commitment, not the agreement's 10
        "delivered": 7,  # L1–L7
        "delivered_qualified": 6,  # L1–L6
        "attainment_percent": 50.0,  # 100 × 6 / 12
        "expected_to_date": 5.4,  # 12 × 10.375 / 23 = 5.413
        "accepted": 2,  # L1, L2
        "rejected": 1,  # L4
        "acceptance_percent": 66.7,  # 100 × 2 / 3
        "duplicates": 0,  # no lead repeats an open lead's e-mail
        "rejections_pending": 0,  # L4's verdict has no date: final
        "disputes_open": 0,
        "status": "at_risk",  # acceptance under the 80% bar
    }


def test_sales_figures_of_a_hand_computed_month(month):
    figures = compliance_for(agreement=month, month="2026-12", at=AS_OF)["sales"]

    assert figures == {
        "leads": 6,  # the qualified L1–L6
        "touched_within_sla": 3,  # L1, L4, L6
        "breached": 2,  # L2 (late), L3 (running past due); L5 is not decided yet
        "compliance_percent": 60.0,  # 100 × 3 / (3 + 2)
        "median_first_touch_minutes": 120,  # of 90, 120, 360
        "p90_first_touch_minutes": 360,  # nearest rank: ceil(0.9 × 3) = 3rd
        "open_breaches": 1,  # L3's
        "premature_abandons": 1,
    }


def test_figures_per_rep_of_a_hand_computed_month(month):
    by_rep = compliance_for(agreement=month, month="2026-12", at=AS_OF)["by_rep"]

    assert by_rep == [
        {
            "owner": "alice",
            "leads": 3,  # L1, L2, L3
            "touched_within_sla": 1,  # L1
            "breached": 2,  # L2, L3
            "compliance_percent": 33.3,  # 100 × 1 / 3
            "median_first_touch_minutes": 225,  # (90 + 360) / 2
            "p90_first_touch_minutes": 360,  # ceil(0.9 × 2) = 2nd of 90, 360
        },
        {
            "owner": "bob",
            "leads": 3,  # L4, L5, L6
            "touched_within_sla": 2,  # L4, L6
            "breached": 0,
            "compliance_percent": 100.0,  # 100 × 2 / 2
            "median_first_touch_minutes": 120,  # L6 alone (L4 was rejected, not touched)
            "p90_first_touch_minutes": 120,
        },
    ]


def test_a_month_with_no_decided_clock_and_no_verdict_has_no_percentages():
    agreement = AgreementFactory()
    LeadFactory(agreement=agreement, received_at=utc(15, 15))

    figures = compliance_for(agreement=agreement, month="2026-12", at=AS_OF)

    assert figures["marketing"]["acceptance_percent"] is None
    assert figures["sales"]["compliance_percent"] is None
    assert figures["sales"]["median_first_touch_minutes"] is None


def test_a_closed_month_that_kept_both_promises_is_met():
    agreement = AgreementFactory(monthly_quota=1)
    LeadFactory(agreement=agreement, received_at=utc(2, 15), verdict="accepted")
    figures = compliance_for(
        agreement=agreement, month="2026-12", at=utc(2, 12, month=1).replace(year=2027)
    )
    assert figures["marketing"]["status"] == "met"
    assert figures["marketing"]["expected_to_date"] == 1.0


def test_a_closed_month_short_of_its_quota_is_missed():
    agreement = AgreementFactory(monthly_quota=2)
    LeadFactory(agreement=agreement, received_at=utc(2, 15))
    at = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    assert (
        compliance_for(agreement=agreement, month="2026-12", at=at)["marketing"]["status"]
        == "missed"
    )


def test_an_open_month_on_pace_is_on_track():
    # 5 of 10 by 10.375 of 23 days: expected 4.5, so on track.
    agreement = AgreementFactory(monthly_quota=10)
    for _ in range(5):
        LeadFactory(agreement=agreement, received_at=utc(2, 15))
    figures = compliance_for(agreement=agreement, month="2026-12", at=AS_OF)["marketing"]
    assert (figures["expected_to_date"], figures["status"]) == (4.5, "on_track")


def test_the_month_is_the_calendar_month_in_the_agreements_zone():
    # 30 Nov 11:30 UTC is already 1 Dec 00:30 in Auckland.
    agreement = AgreementFactory(calendar=CalendarFactory(timezone="Pacific/Auckland"))
    LeadFactory(agreement=agreement, received_at=utc(30, 11, 30, month=11))
    figures = compliance_for(agreement=agreement, month="2026-12", at=AS_OF)
    assert figures["marketing"]["delivered"] == 1
    assert (
        compliance_for(agreement=agreement, month="2026-11", at=AS_OF)["marketing"]["delivered"]
        == 0
    )


@pytest.mark.postgres
def test_median_and_p90_in_sql_equal_the_same_figures_computed_in_python():
    """PostgreSQL's percentile aggregates and the embedded default's Python give the same
    whole minutes, for even and odd counts, ties and one value."""
    from sla.compliance import summaries_in_python, summaries_in_sql

    agreement = AgreementFactory()
    reps = [UserFactory(username=f"rep{i}", role=Role.SALES) for i in range(4)]
    samples = {0: [5, 10, 15, 20], 1: [7], 2: [3, 3, 3, 90, 41], 3: list(range(1, 38))}
    for rep_index, minutes in samples.items():
        for value in minutes:
            lead = LeadFactory(agreement=agreement, owner=reps[rep_index])
            ClockFactory(
                lead=lead,
                state=Clock.State.STOPPED,
                stop_reason="touch",
                stopped_at=lead.received_at,
                touch_minutes=value,
            )
    touched = Clock.objects.filter(touch_minutes__isnull=False)

    assert summaries_in_sql(touched) == summaries_in_python(touched)
