"""`sla.status` has one rule written twice: in Python for one lead (sla_status) and in SQL
for filtering lists (with_sla_status). Both must answer the same for every state."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import Lead
from sla.actions import lead_deliver, lead_reject, lead_touch
from sla.clocks import SlaStatus, sla_status, with_sla_status
from tests.factories import AgreementFactory, UserFactory

pytestmark = pytest.mark.django_db

FRIDAY_4PM_NY = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # first touch due Mon 12:00 NY


def deliver(agreement, n, *, size=100):
    lead, _ = lead_deliver(
        by=None,
        data={"email": f"l{n}@acme.test", "company_size": size},
        agreement=agreement,
        now=FRIDAY_4PM_NY,
    )
    return lead


@pytest.mark.parametrize(
    "as_of",
    [
        FRIDAY_4PM_NY + timedelta(minutes=30),  # pending
        datetime(2026, 12, 7, 16, 30, tzinfo=UTC),  # Mon 11:30 NY: at risk
        datetime(2026, 12, 7, 18, 0, tzinfo=UTC),  # Mon 13:00 NY: breached
        datetime(2026, 12, 15, 18, 0, tzinfo=UTC),  # next-touch clocks ran out too
    ],
    ids=["pending", "at-risk", "breached", "next-touch-late"],
)
def test_python_and_sql_status_agree_for_every_kind_of_lead(as_of):
    agreement = AgreementFactory(name="Status rule")
    rep = UserFactory(username="rule-rep", role="sales")
    agreement.sales_team.members.add(rep)
    untouched = deliver(agreement, 1)
    touched_in_time = deliver(agreement, 2)
    lead_touch(
        lead=touched_in_time,
        by=rep,
        kind="call",
        outcome="no_answer",
        at=datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
        now=datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
    )
    connected = deliver(agreement, 3)
    lead_touch(
        lead=connected,
        by=rep,
        kind="call",
        outcome="connected",
        at=datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
        now=datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
    )
    touched_late = deliver(agreement, 6)
    lead_touch(
        lead=touched_late,
        by=rep,
        kind="email",
        outcome="left_message",
        at=datetime(2026, 12, 7, 18, 30, tzinfo=UTC),
        now=datetime(2026, 12, 7, 18, 30, tzinfo=UTC),
    )
    rejected = deliver(agreement, 4)
    lead_reject(lead=rejected, by=rep, reason="no_budget", now=FRIDAY_4PM_NY)
    not_qualifying = deliver(agreement, 5, size=1)

    in_sql = dict(with_sla_status(Lead.objects.all(), now=as_of).values_list("pk", "sla_status"))
    for lead in Lead.objects.prefetch_related("clocks"):
        expected = sla_status(lead=lead, clocks=list(lead.clocks.all()), now=as_of)
        assert in_sql[lead.pk] == expected, (lead.email, as_of)
    assert in_sql[rejected.pk] == SlaStatus.CLOSED
    assert in_sql[not_qualifying.pk] == SlaStatus.NOT_STARTED
    assert in_sql[untouched.pk] in (SlaStatus.PENDING, SlaStatus.AT_RISK, SlaStatus.BREACHED)
