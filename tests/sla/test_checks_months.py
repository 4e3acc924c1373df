"""Marketing's month checks: pacing warnings and the shortfalls of a closed month.

December 2026 has 23 business days on a Mon–Fri calendar (no holidays): 1–4, 7–11,
14–18, 21–25 and 28–31. Agreements here commit 20 qualified leads with a 10% pacing
tolerance and an 80% acceptance bar.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, Team
from leads.models import Lead
from sla.checks import quality_shortfall, quota_at_risk, quota_shortfall
from sla.models import Flag, Notification
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    CommitmentFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def agreement_in(zone: str = "America/New_York", **fields):
    defaults = {"monthly_quota": 20, "effective_from": date(2026, 12, 1)}
    return AgreementFactory(calendar=CalendarFactory(timezone=zone), **{**defaults, **fields})


def deliver(agreement, count: int, *, at: datetime, qualifies: bool = True, verdict=None):
    for _ in range(count):
        LeadFactory(
            agreement=agreement,
            received_at=at,
            qualifies=qualifies,
            verdict=verdict or Lead.Verdict.PENDING,
        )


# --- quota_at_risk ----------------------------------------------------------------------------
# Eight qualified leads by Tue 15 Dec: 10 business days are behind, and x minutes of the 15th.
# Behind pace when 8 < 20 × (10 + x/480) / 23 × 0.9, i.e. x > 106⅔: from 10:46:40 EST.
PACE_LOST = datetime(2026, 12, 15, 15, 46, 40, tzinfo=UTC)


def test_quota_is_not_at_risk_just_before_delivery_falls_behind_pace():
    agreement = agreement_in()
    deliver(agreement, 8, at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    assert quota_at_risk(at=PACE_LOST - timedelta(seconds=1)) == []


def test_a_pass_on_pace_counts_no_leads_until_the_pace_could_have_been_lost():
    agreement = agreement_in()
    deliver(agreement, 8, at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    quota_at_risk(at=datetime(2026, 12, 3, 15, 0, tzinfo=UTC))  # counts 8: well on pace

    with CaptureQueriesContext(connection) as later:
        assert quota_at_risk(at=PACE_LOST - timedelta(seconds=1)) == []
    assert not [q for q in later.captured_queries if "leads_lead" in q["sql"]]

    # Once the pace needs more than the 8 last counted, the check counts again and flags.
    [flag] = quota_at_risk(at=PACE_LOST + timedelta(seconds=1))
    assert flag.kind == Flag.Kind.QUOTA_AT_RISK


def test_quota_is_at_risk_once_delivery_falls_behind_pace():
    agreement = agreement_in()
    deliver(agreement, 8, at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    deliver(agreement, 5, at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC), qualifies=False)

    [flag] = quota_at_risk(at=PACE_LOST + timedelta(seconds=1))

    assert flag.kind == Flag.Kind.QUOTA_AT_RISK
    assert (flag.agreement, flag.month, flag.owner) == (agreement, "2026-12", None)
    assert flag.team == agreement.marketing_team
    assert flag.raised_at == PACE_LOST + timedelta(seconds=1)
    assert flag.detail.startswith("8 qualified leads delivered by Tue 15 Dec 10:46 EST")
    assert "20 committed for 2026-12" in flag.detail


def test_quota_at_risk_is_raised_at_most_once_a_month():
    agreement = agreement_in()
    deliver(agreement, 1, at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    quota_at_risk(at=datetime(2026, 12, 10, 15, 0, tzinfo=UTC))

    assert quota_at_risk(at=datetime(2026, 12, 20, 15, 0, tzinfo=UTC)) == []
    assert Flag.objects.filter(kind=Flag.Kind.QUOTA_AT_RISK).count() == 1


def test_quota_is_not_at_risk_on_the_first_business_day():
    agreement_in()
    assert quota_at_risk(at=datetime(2026, 12, 1, 21, 59, tzinfo=UTC)) == []  # 16:59 EST


def test_quota_can_be_at_risk_once_the_first_business_day_is_over():
    agreement_in()
    [flag] = quota_at_risk(at=datetime(2026, 12, 2, 14, 1, tzinfo=UTC))  # Wed 09:01 EST
    assert flag.month == "2026-12"


def test_quota_is_not_at_risk_for_an_agreement_not_in_effect_that_month():
    agreement_in(effective_from=date(2027, 1, 1))
    assert quota_at_risk(at=datetime(2026, 12, 15, 15, 0, tzinfo=UTC)) == []


def test_a_logged_commitment_sets_the_pace():
    # 8 delivered of a commitment of 10: 10 × 10.375/23 × 0.9 = 4.1 expected by Tue 15 Dec noon.
    agreement = agreement_in()
    CommitmentFactory(agreement=agreement, month="2026-12", quota=10)
    deliver(agreement, 8, at=datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    assert quota_at_risk(at=datetime(2026, 12, 15, 17, 0, tzinfo=UTC)) == []


def test_quota_at_risk_notifies_the_marketing_managers_of_the_team():
    marketer = UserFactory(role=Role.MARKETING)
    bystander = UserFactory(role=Role.SALES)
    team = TeamFactory(kind=Team.Kind.MARKETING, members=[marketer, bystander])
    agreement_in(marketing_team=team)

    [flag] = quota_at_risk(at=datetime(2026, 12, 10, 15, 0, tzinfo=UTC))

    assert list(flag.notifications.values_list("recipient", flat=True)) == [marketer.id]


# --- quota_shortfall and quality_shortfall -------------------------------------------------


def test_auckland_december_is_not_closed_just_before_local_midnight():
    agreement = agreement_in("Pacific/Auckland")
    deliver(agreement, 5, at=datetime(2026, 12, 10, 0, 0, tzinfo=UTC))
    # 1 Jan 2027 00:00 NZDT is 31 Dec 11:00 UTC.
    assert quota_shortfall(at=datetime(2026, 12, 31, 10, 59, 59, tzinfo=UTC)) == []


def test_auckland_december_closes_at_local_midnight_short_of_its_quota():
    agreement = agreement_in("Pacific/Auckland")
    deliver(agreement, 5, at=datetime(2026, 12, 10, 0, 0, tzinfo=UTC))
    closed = datetime(2026, 12, 31, 11, 0, tzinfo=UTC)

    [flag] = quota_shortfall(at=closed)

    assert (flag.kind, flag.month) == (Flag.Kind.QUOTA_SHORTFALL, "2026-12")
    assert flag.raised_at == flag.due_at == closed
    assert flag.detail == (
        "2026-12 closed Fri 1 Jan 00:00 NZDT with 5 qualified leads of 20 committed (25.0%)"
    )
    assert quota_shortfall(at=closed + timedelta(days=3)) == []


def test_a_lead_in_the_first_local_hour_of_the_month_counts_for_that_month():
    # 30 Nov 11:30 UTC is 1 Dec 00:30 in Auckland: December's, so 20 of 20 are delivered.
    agreement = agreement_in("Pacific/Auckland")
    deliver(agreement, 1, at=datetime(2026, 11, 30, 11, 30, tzinfo=UTC))
    deliver(agreement, 19, at=datetime(2026, 12, 10, 0, 0, tzinfo=UTC))
    assert quota_shortfall(at=datetime(2026, 12, 31, 11, 0, tzinfo=UTC)) == []


def test_los_angeles_december_is_not_closed_just_before_local_midnight():
    agreement_in("America/Los_Angeles")
    # 1 Jan 2027 00:00 PST is 08:00 UTC.
    assert quota_shortfall(at=datetime(2027, 1, 1, 7, 59, 59, tzinfo=UTC)) == []


def test_los_angeles_december_closes_at_local_midnight():
    agreement_in("America/Los_Angeles")
    [flag] = quota_shortfall(at=datetime(2027, 1, 1, 8, 0, tzinfo=UTC))
    assert flag.raised_at == datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
    assert flag.month == "2026-12"


def test_a_month_that_met_its_commitment_raises_no_shortfall():
    agreement = agreement_in()
    CommitmentFactory(agreement=agreement, month="2026-12", quota=3)
    deliver(agreement, 3, at=datetime(2026, 12, 10, 15, 0, tzinfo=UTC))
    assert quota_shortfall(at=datetime(2027, 1, 1, 5, 0, tzinfo=UTC)) == []


def test_quality_shortfall_when_acceptance_closed_under_the_bar():
    # 3 accepted, 2 rejected: 60% < 80%.
    agreement = agreement_in()
    at = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
    deliver(agreement, 3, at=at, verdict=Lead.Verdict.ACCEPTED)
    deliver(agreement, 2, at=at, verdict=Lead.Verdict.REJECTED)

    [flag] = quality_shortfall(at=datetime(2027, 1, 1, 5, 0, tzinfo=UTC))

    assert flag.detail == (
        "2026-12 closed with acceptance 60.0% (3 accepted, 2 rejected), below the 80% agreed"
    )


def test_acceptance_exactly_at_the_bar_raises_no_quality_shortfall():
    agreement = agreement_in()
    at = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
    deliver(agreement, 4, at=at, verdict=Lead.Verdict.ACCEPTED)
    deliver(agreement, 1, at=at, verdict=Lead.Verdict.REJECTED)
    assert quality_shortfall(at=datetime(2027, 1, 1, 5, 0, tzinfo=UTC)) == []


def test_no_verdict_means_no_quality_flag():
    agreement = agreement_in()
    deliver(agreement, 5, at=datetime(2026, 12, 10, 15, 0, tzinfo=UTC))
    assert quality_shortfall(at=datetime(2027, 1, 1, 5, 0, tzinfo=UTC)) == []


def test_month_flags_wait_for_the_marketing_team_to_open():
    # Closed at 05:00 UTC on New Year's Day, a Friday: the team opens at 09:00 EST, 14:00 UTC.
    marketer = UserFactory(role=Role.MARKETING)
    team = TeamFactory(kind=Team.Kind.MARKETING, members=[marketer], calendar=CalendarFactory())
    agreement_in(marketing_team=team)

    quota_shortfall(at=datetime(2027, 1, 1, 5, 0, tzinfo=UTC))

    [note] = Notification.objects.all()
    assert note.not_before == datetime(2027, 1, 1, 14, 0, tzinfo=UTC)
