"""Two workers running every check at the same moment on PostgreSQL flag each miss once."""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import Role
from sla.checks import run_all_checks
from sla.models import Flag, Notification
from tests.factories import (
    AgreementFactory,
    ClockFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # every clock below is past due
CLOCKS = 120
ABANDONED = 15


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_together(workers: int, passes: int) -> list[dict]:
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def work():
        try:
            barrier.wait(timeout=30)
            for _ in range(passes):
                results.append(run_all_checks(at=AT))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_running_the_checks_at_once_raise_each_flag_once():
    # Given due clocks, premature abandons and a closed month short of its quota
    rep = UserFactory(role=Role.SALES)
    manager = UserFactory(role=Role.SALES_MANAGER)
    team = TeamFactory(members=[rep, manager])
    agreement = AgreementFactory(sales_team=team, effective_from=date(2026, 11, 1))
    for n in range(CLOCKS):
        lead = LeadFactory(agreement=agreement, owner=rep, received_at=RECEIVED)
        ClockFactory(lead=lead, due_at=RECEIVED + timedelta(hours=4, seconds=n))
    for _ in range(ABANDONED):
        LeadFactory(agreement=agreement, owner=rep, abandoned_at=RECEIVED, closed_at=RECEIVED)

    # When two workers run every check three times, all at once
    results = run_together(workers=2, passes=3)

    # Then each miss is flagged once, and counted once between them
    expected = {
        "first_touch_at_risk": CLOCKS,
        "first_touch_breached": CLOCKS,
        "premature_abandon": ABANDONED,
        "quota_shortfall": 1,  # November: none of 200 delivered
    }
    for kind, count in expected.items():
        assert Flag.objects.filter(kind=kind).count() == count, kind
        assert sum(result[kind] for result in results) == count, kind
    # ... and each breach queued one email for the rep and one for the manager
    breach_mail = Notification.objects.filter(flag__kind__in=["first_touch_breached"])
    assert breach_mail.count() == 2 * CLOCKS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_clock_whose_lead_a_lead_action_holds_is_passed_by_and_flagged_next_time():
    # Given a touch (say) holds the lead's row while the clock falls due
    from django.db import transaction

    from leads.models import Lead
    from sla.checks import first_touch_breached

    lead = LeadFactory(agreement=AgreementFactory(), received_at=RECEIVED)
    ClockFactory(lead=lead)
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Lead.objects.select_for_update().get(pk=lead.pk)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        # When the check runs meanwhile, it neither waits nor flags that clock
        began = time.monotonic()
        assert first_touch_breached(at=AT) == []
        assert time.monotonic() - began < 5
    finally:
        release.set()
        holder.join(10)

    # Then the next pass flags it
    assert len(first_touch_breached(at=AT)) == 1
