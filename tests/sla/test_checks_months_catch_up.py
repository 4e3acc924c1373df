"""Every closed month that missed its quota or bar is flagged, once, even after an outage.

The checks were down from September to the new year: the first pass after it judges
September, October, November and December alike, each flag dated at its own month's
close in the agreement calendar's zone (New York here).
"""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import RuleRefused
from leads.models import Lead
from sla.actions import lead_reject
from sla.books import month_reopen
from sla.checks import quality_shortfall, quota_shortfall, run_all_checks
from sla.models import Agreement, Flag
from sla.tallies import dispute_window_ends
from tests.factories import AgreementFactory, CalendarFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

BACK = datetime(2027, 1, 2, 15, 0, tzinfo=UTC)  # the checks come back on 2 January
# Local midnight of the 1st after each month, New York (EDT until 1 Nov, then EST).
CLOSES = {
    "2026-09": datetime(2026, 10, 1, 4, 0, tzinfo=UTC),
    "2026-10": datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
    "2026-11": datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
    "2026-12": datetime(2027, 1, 1, 5, 0, tzinfo=UTC),
}


def agreement_since(effective_from: date, *, entered: datetime, **fields) -> Agreement:
    agreement = AgreementFactory(
        calendar=CalendarFactory(timezone="America/New_York"),
        effective_from=effective_from,
        monthly_quota=4,
        **fields,
    )
    Agreement.objects.filter(pk=agreement.pk).update(created_at=entered)
    agreement.refresh_from_db()
    return agreement


def deliver(agreement, count, *, at, verdict=Lead.Verdict.PENDING):
    for _ in range(count):
        LeadFactory(agreement=agreement, received_at=at, qualifies=True, verdict=verdict)


@pytest.fixture
def since_september():
    agreement = agreement_since(date(2026, 9, 1), entered=datetime(2026, 8, 20, 12, 0, tzinfo=UTC))
    deliver(agreement, 1, at=datetime(2026, 9, 15, 15, 0, tzinfo=UTC))  # short
    deliver(agreement, 5, at=datetime(2026, 10, 15, 15, 0, tzinfo=UTC))  # met
    deliver(agreement, 2, at=datetime(2026, 11, 16, 15, 0, tzinfo=UTC))  # short
    return agreement  # December: none delivered, short


def test_after_an_outage_each_closed_month_short_of_its_quota_is_flagged_at_its_close(
    since_september,
):
    flags = quota_shortfall(at=BACK)
    assert sorted((f.month, f.raised_at) for f in flags) == [
        ("2026-09", CLOSES["2026-09"]),
        ("2026-11", CLOSES["2026-11"]),
        ("2026-12", CLOSES["2026-12"]),
    ]
    assert {f.noticed_at for f in flags} == {BACK}
    september = Flag.objects.get(month="2026-09")
    assert september.detail.startswith("2026-09 closed Thu 1 Oct 00:00 EDT with 1 qualified")


def test_a_rerun_or_a_later_pass_flags_nothing_twice(since_september):
    quota_shortfall(at=BACK)
    assert quota_shortfall(at=BACK) == []
    assert quota_shortfall(at=datetime(2027, 1, 20, 15, 0, tzinfo=UTC)) == []
    assert Flag.objects.filter(kind=Flag.Kind.QUOTA_SHORTFALL).count() == 3


def test_quality_is_caught_up_in_the_same_pass_as_the_quota(since_september):
    agreement = since_september
    at = datetime(2026, 10, 20, 15, 0, tzinfo=UTC)
    deliver(agreement, 1, at=at, verdict=Lead.Verdict.ACCEPTED)
    deliver(agreement, 3, at=at, verdict=Lead.Verdict.REJECTED)  # October: 25% accepted

    run_all_checks(at=BACK)

    [quality] = Flag.objects.filter(kind=Flag.Kind.QUALITY_SHORTFALL)
    assert (quality.month, quality.raised_at) == ("2026-10", CLOSES["2026-10"])
    assert Flag.objects.filter(kind=Flag.Kind.QUOTA_SHORTFALL).count() == 3


def test_the_checks_run_one_by_one_each_judge_the_missed_months(since_september):
    agreement = since_september
    at = datetime(2026, 9, 20, 15, 0, tzinfo=UTC)
    deliver(agreement, 1, at=at, verdict=Lead.Verdict.REJECTED)
    quota_shortfall(at=BACK)  # counts September first...
    [quality] = quality_shortfall(at=BACK)  # ...and the quality check still judges it
    assert quality.month == "2026-09"


def test_a_late_verdict_in_an_old_closed_month_is_refused_until_it_is_reopened(since_september):
    agreement = since_september
    run_all_checks(at=BACK)
    assert not Flag.objects.filter(kind=Flag.Kind.QUALITY_SHORTFALL).exists()
    october = Lead.objects.filter(received_at__month=10).order_by("pk")
    october.filter(pk=october[0].pk).update(verdict=Lead.Verdict.ACCEPTED)
    manager = _manager(agreement)

    # October's books are closed: a verdict in January would rewrite its acceptance.
    with pytest.raises(RuleRefused) as refused:
        lead_reject(lead=october[1], by=manager, reason="not_icp", now=REJECTED_AT)
    assert refused.value.rule == "month_closed"
    assert Lead.objects.filter(verdict=Lead.Verdict.REJECTED).count() == 0

    # Reopened by an admin: four of October's five rejected, 20% accepted, under the bar,
    # and judged again once the month closes again.
    reopening = month_reopen(
        agreement=agreement, month="2026-10", reason="late review", by=None, now=REJECTED_AT
    )
    for lead in october[1:]:
        lead_reject(lead=lead, by=manager, reason="not_icp", now=REJECTED_AT)
    run_all_checks(at=REJECTED_AT)
    assert not Flag.objects.filter(kind=Flag.Kind.QUALITY_SHORTFALL).exists()  # open again
    run_all_checks(at=reopening.closes_at)
    # The rejections count once final: marketing may dispute them for the agreement's
    # dispute window (sla.disputes), so the month is judged when that has ended.
    run_all_checks(at=dispute_window_ends(agreement, reopening.closes_at))
    [quality] = Flag.objects.filter(kind=Flag.Kind.QUALITY_SHORTFALL)
    assert quality.month == "2026-10"


REJECTED_AT = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)


def _manager(agreement):
    manager = UserFactory(role="sales_manager")
    agreement.sales_team.members.add(manager)
    return manager


def test_months_before_the_agreement_was_entered_are_not_judged():
    # Backdated to January when it was set up in November: only months since November,
    # and the month that last closed, are judged.
    agreement_since(date(2026, 1, 1), entered=datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
    flags = quota_shortfall(at=BACK)
    assert sorted(f.month for f in flags) == ["2026-11", "2026-12"]


def test_once_every_month_is_judged_a_pass_reads_no_lead(since_september):
    run_all_checks(at=BACK)
    with CaptureQueriesContext(connection) as january:
        quota_shortfall(at=datetime(2027, 1, 2, 16, 0, tzinfo=UTC))
    with CaptureQueriesContext(connection) as quality:
        quality_shortfall(at=datetime(2027, 1, 2, 16, 0, tzinfo=UTC))
    assert not [q for q in january.captured_queries if "leads_lead" in q["sql"]]
    assert not [q for q in quality.captured_queries if "leads_lead" in q["sql"]]

    quota_shortfall(at=datetime(2027, 6, 2, 16, 0, tzinfo=UTC))  # January to May, judged
    # Five more judged months, and a pass costs what it cost with four.
    with CaptureQueriesContext(connection) as june:
        quota_shortfall(at=datetime(2027, 6, 2, 17, 0, tzinfo=UTC))
    assert not [q for q in june.captured_queries if "leads_lead" in q["sql"]]
    assert len(june.captured_queries) == len(january.captured_queries)
