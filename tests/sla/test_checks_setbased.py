"""The checks at the limit: the set-based clock statements raise exactly the flags and
outbox rows the per-row path raises, once, however often and however concurrently they
run; the month checks judge a closed month once and judge it again only when it changed.

The calendars are Mon–Fri 09:00–17:00. Every clock below is due, or at risk, by AT.
"""

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import NotificationPreference, Role
from leads.models import Lead
from sla.actions import lead_deliver, lead_reject
from sla.checks import (
    first_touch_at_risk,
    first_touch_breached,
    next_touch_breached,
    quality_shortfall,
    quota_shortfall,
    run_all_checks,
)
from sla.checks.clocks import _breaches, at_risk_portable
from sla.checks.months import month_evaluations_reopen, month_evaluations_reopen_all
from sla.models import Clock, Flag, MonthEvaluation, MonthlyCommitment, Notification
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    CommitmentFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)
from tests.sla.lead_world import build_world, lead_body

RECEIVED = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 1 Dec 00:00 in Auckland
AT = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
JANUARY = datetime(2027, 1, 1, 5, 0, tzinfo=UTC)  # December closed in New York
FIRST, NEXT = Clock.Kind.FIRST_TOUCH, Clock.Kind.NEXT_TOUCH


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def prefer(user, kind: str, *, email: str, chat: bool) -> None:
    NotificationPreference.objects.create(user=user, kind=kind, email=email, chat=chat)


def build_clocks() -> None:
    """Two zones, teams with and without a chat, people who chose otherwise, odd leads."""
    rep = UserFactory(role=Role.SALES)
    quiet = UserFactory(role=Role.SALES)  # digest for breaches, no chat
    gone = UserFactory(role=Role.SALES, is_active=False)
    mailless = UserFactory(role=Role.SALES, email="")
    boss = UserFactory(role=Role.SALES_MANAGER)
    muted = UserFactory(role=Role.SALES_MANAGER)  # no breach mail, chat on
    for kind in (Flag.Kind.FIRST_TOUCH_BREACHED, Flag.Kind.NEXT_TOUCH_BREACHED):
        prefer(quiet, kind, email=NotificationPreference.Email.DIGEST, chat=False)
        prefer(muted, kind, email=NotificationPreference.Email.OFF, chat=True)
    chatty = TeamFactory(
        members=[rep, quiet, boss, muted], chat_webhook_url="https://chat.example.com/hook"
    )
    plain = TeamFactory(members=[gone, mailless, boss])
    lonely = TeamFactory(chat_webhook_url="https://chat.example.com/lonely")
    new_york = AgreementFactory(sales_team=chatty, effective_from=date(2026, 11, 1))
    auckland = AgreementFactory(
        sales_team=plain,
        calendar=CalendarFactory(timezone="Pacific/Auckland"),
        effective_from=date(2026, 11, 1),
    )
    nobody = AgreementFactory(sales_team=lonely, effective_from=date(2026, 11, 1))
    names = [("Lee", "Lead"), ("", ""), ("  Ann ", ""), ("", "Bo")]
    n = 0
    for agreement, owners in (
        (new_york, [rep, quiet, None]),
        (auckland, [gone, mailless]),
        (nobody, [None]),
    ):
        for owner in owners:
            for first, last in names:
                n += 1
                company = "" if n % 3 == 0 else "Acme"
                lead = LeadFactory(
                    agreement=agreement,
                    owner=owner,
                    received_at=RECEIVED,
                    first_name=first,
                    last_name=last,
                    company=company,
                )
                due = RECEIVED + timedelta(hours=1, minutes=n)
                ClockFactory(lead=lead, due_at=due, at_risk_at=due - timedelta(hours=1))
                if n % 2:
                    ClockFactory(lead=lead, kind=NEXT, business_minutes=1440, due_at=due)
                if n % 5 == 0:  # at risk by AT, due after it
                    ClockFactory(
                        lead=LeadFactory(agreement=agreement, owner=owner, received_at=AT),
                        due_at=AT + timedelta(hours=1),
                        at_risk_at=AT - timedelta(minutes=n),
                    )
    # A lead on the agreement's team only (no team of its own), and one stopped late unseen.
    Lead.objects.filter(id=Clock.objects.order_by("id").first().lead_id).update(team=None)
    ClockFactory(
        lead=LeadFactory(agreement=new_york, owner=rep, received_at=RECEIVED),
        state=Clock.State.STOPPED,
        stopped_at=RECEIVED + timedelta(days=1),
        stop_reason="touch",
    )


def snapshot() -> tuple[list, list]:
    """Every flag and outbox row, with the flag ids (new each run) written as the clock."""
    flags = list(
        Flag.objects.values_list(
            "clock_id",
            "kind",
            "state",
            "raised_at",
            "due_at",
            "noticed_at",
            "lead_id",
            "agreement_id",
            "month",
            "owner_id",
            "team_id",
            "detail",
            "resolved_at",
            "resolution_note",
        ).order_by("clock_id", "kind")
    )
    named = {f.id: f"{f.clock_id}/{f.kind}" for f in Flag.objects.all()}

    def unnamed(row: Notification) -> tuple[str, str]:
        name = named[row.flag_id]
        key = re.sub(rf"^{row.flag_id}:", f"{name}:", row.key)
        return key, row.body.replace(f"\nFlag #{row.flag_id}, ", f"\nFlag #{name}, ")

    rows = sorted(
        (
            named[row.flag_id],
            *unnamed(row),
            row.channel,
            row.state,
            row.recipient_id,
            row.address,
            row.subject,
            row.not_before,
            row.attempts,
            row.last_error,
            row.created_at,
            row.sent_at,
        )
        for row in Notification.objects.all()
    )
    return flags, rows


def portable_pass() -> list[Flag]:
    return [*at_risk_portable(AT), *_breaches(FIRST, AT), *_breaches(NEXT, AT)]


def set_based_pass() -> list[Flag]:
    return [
        *first_touch_at_risk(at=AT),
        *first_touch_breached(at=AT),
        *next_touch_breached(at=AT),
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_set_based_pass_raises_the_same_flags_and_outbox_rows_as_the_per_row_pass():
    build_clocks()
    with transaction.atomic():
        per_row = portable_pass()
        expected = snapshot()
        transaction.set_rollback(True)

    returned = set_based_pass()

    flags, rows = snapshot()
    assert len(expected[0]) > 40 and len(expected[1]) > 40  # the world is not trivial
    assert flags == expected[0]
    assert [r for r in rows if r not in expected[1]] == []  # nothing the per-row path lacks
    assert rows == expected[1]
    assert sorted((f.clock_id, f.kind) for f in returned) == sorted(
        (f.clock_id, f.kind) for f in per_row
    )
    # Each flag a check returns is the row it wrote, instants included.
    stored = {f.id: f for f in Flag.objects.all()}
    for flag in returned:
        row = stored[flag.id]
        assert (flag.raised_at, flag.due_at, flag.noticed_at) == (
            row.raised_at,
            row.due_at,
            row.noticed_at,
        )
        assert flag.raised_at.utcoffset() == timedelta(0)
        assert (flag.detail, flag.month, flag.team_id) == (row.detail, row.month, row.team_id)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_set_based_flag_names_the_month_and_the_hour_in_the_calendars_zone():
    # Due 1 Dec 01:00 NZDT, which is still 30 Nov in UTC.
    agreement = AgreementFactory(calendar=CalendarFactory(timezone="Pacific/Auckland"))
    lead = LeadFactory(agreement=agreement, owner=UserFactory(), received_at=RECEIVED)
    ClockFactory(lead=lead, due_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))

    [flag] = first_touch_breached(at=AT)

    assert flag.month == "2026-12"
    assert (
        flag.detail
        == "first touch due Tue 1 Dec 01:00 NZDT (240 business minutes) passed untouched"
    )


@pytest.mark.django_db
def test_a_second_pass_flags_nothing_and_queues_nothing():
    build_clocks()
    first = run_all_checks(at=AT)
    flags, rows = Flag.objects.count(), Notification.objects.count()

    again = run_all_checks(at=AT)

    assert sum(first.values()) == flags > 0
    assert set(again.values()) == {0}
    assert (Flag.objects.count(), Notification.objects.count()) == (flags, rows)


def idle_queries(leads: int) -> int:
    agreement = AgreementFactory(effective_from=date(2026, 11, 1))
    for n in range(leads):
        lead = LeadFactory(agreement=agreement, owner=UserFactory(), received_at=RECEIVED)
        ClockFactory(lead=lead, due_at=RECEIVED + timedelta(hours=1, seconds=n))
    run_all_checks(at=JANUARY)  # flags every clock, judges November and December
    with CaptureQueriesContext(connection) as idle:
        assert set(run_all_checks(at=JANUARY).values()) == {0}
    return len(idle.captured_queries)


@pytest.mark.django_db
def test_a_pass_with_nothing_to_flag_costs_the_same_however_many_leads():
    with transaction.atomic():
        few = idle_queries(3)
        transaction.set_rollback(True)
    assert idle_queries(30) == few


# --- two workers at once (PostgreSQL) ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_claiming_at_once_flag_each_clock_once_and_lose_none():
    # Given 300 due first-touch clocks in two zones, each owned by a rep whose team has
    # one sales manager
    rep, manager = UserFactory(role=Role.SALES), UserFactory(role=Role.SALES_MANAGER)
    team = TeamFactory(members=[rep, manager])
    zones = [
        AgreementFactory(sales_team=team, effective_from=date(2026, 11, 1)),
        AgreementFactory(
            sales_team=team,
            calendar=CalendarFactory(timezone="Europe/Paris"),
            effective_from=date(2026, 11, 1),
        ),
    ]
    for n in range(300):
        lead = LeadFactory(agreement=zones[n % 2], owner=rep, received_at=RECEIVED)
        ClockFactory(lead=lead, due_at=RECEIVED + timedelta(hours=1, seconds=n))
    barrier = threading.Barrier(2)
    raised, errors = [], []

    def work():
        try:
            barrier.wait(timeout=30)
            for _ in range(3):
                raised.extend(f.clock_id for f in first_touch_breached(at=AT))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    # When two workers run the breach check three times each, together
    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then every clock is claimed and flagged once, and its two e-mails queued once
    assert not errors, errors
    assert len(raised) == len(set(raised)) == 300
    assert not Clock.objects.filter(kind=FIRST, breached_at__isnull=True).exists()
    assert Flag.objects.filter(kind=Flag.Kind.FIRST_TOUCH_BREACHED).count() == 300
    assert Notification.objects.filter(channel="email").count() == 600


# --- closed months, judged once ------------------------------------------------------------


def december(agreement, count: int, *, verdict=Lead.Verdict.PENDING) -> list[Lead]:
    at = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
    return [
        LeadFactory(agreement=agreement, received_at=at, qualifies=True, verdict=verdict)
        for _ in range(count)
    ]


def reads_leads(check) -> bool:
    with CaptureQueriesContext(connection) as queries:
        check()
    return any("leads_lead" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_a_judged_month_is_not_counted_again():
    agreement = AgreementFactory(effective_from=date(2026, 12, 1))
    CommitmentFactory(agreement=agreement, month="2026-12", quota=3)
    december(agreement, 3, verdict=Lead.Verdict.ACCEPTED)
    assert quota_shortfall(at=JANUARY) == [] and quality_shortfall(at=JANUARY) == []

    assert not reads_leads(lambda: quota_shortfall(at=JANUARY + timedelta(minutes=1)))
    assert not reads_leads(lambda: quality_shortfall(at=JANUARY + timedelta(minutes=1)))
    evaluation = MonthEvaluation.objects.get(agreement=agreement, month="2026-12")
    assert (evaluation.stale, evaluation.qualified, evaluation.accepted) == (False, 3, 3)


@pytest.mark.django_db
def test_a_commitment_raised_after_the_month_was_judged_is_read_fresh():
    agreement = AgreementFactory(effective_from=date(2026, 12, 1))
    CommitmentFactory(agreement=agreement, month="2026-12", quota=3)
    december(agreement, 3)
    assert quota_shortfall(at=JANUARY) == []

    MonthlyCommitment.objects.filter(agreement=agreement).update(quota=5)

    with CaptureQueriesContext(connection) as queries:
        [flag] = quota_shortfall(at=JANUARY + timedelta(minutes=1))
    assert "3 qualified leads of 5 committed" in flag.detail
    assert not any("leads_lead" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_a_verdict_on_a_lead_of_a_judged_month_has_it_judged_again():
    # 3 accepted and 1 pending: 100% of the judged, above the 80% bar
    agreement = AgreementFactory(effective_from=date(2026, 12, 1))
    december(agreement, 3, verdict=Lead.Verdict.ACCEPTED)
    [pending] = december(agreement, 1)
    assert quality_shortfall(at=JANUARY) == []

    # When sales rejects the pending lead in January: 3 of 4, 75%
    rep = UserFactory(role=Role.SALES)
    lead_reject(lead=pending, by=rep, reason="no_budget", now=JANUARY + timedelta(hours=1))
    assert MonthEvaluation.objects.get(agreement=agreement, month="2026-12").stale

    # The rejection counts once final: after marketing's dispute window (sla.disputes).
    assert quality_shortfall(at=JANUARY + timedelta(hours=2)) == []
    [flag] = quality_shortfall(at=JANUARY + timedelta(days=14))
    assert "(3 accepted, 1 rejected)" in flag.detail


@pytest.mark.django_db
def test_a_lead_delivered_late_into_a_judged_month_has_it_judged_again():
    world = build_world(effective_from=date(2026, 12, 1))
    CommitmentFactory(agreement=world.a, month="2026-12", quota=3)
    december(world.a, 3)
    assert [f.agreement_id for f in quota_shortfall(at=JANUARY)] == [world.b.id]  # none

    # A December lead delivered in January, then a quota of 4 logged for December
    lead_deliver(
        by=world.maria,
        data=lead_body(received_at=datetime(2026, 12, 20, 15, 0, tzinfo=UTC)),
        agreement=world.a,
        now=JANUARY + timedelta(hours=1),
    )
    MonthlyCommitment.objects.filter(agreement=world.a).update(quota=4)

    # Then December is counted again: 4 of 4, no shortfall
    assert quota_shortfall(at=JANUARY + timedelta(hours=2)) == []
    assert not Flag.objects.filter(agreement=world.a).exists()
    assert MonthEvaluation.objects.get(agreement=world.a, month="2026-12").qualified == 4


@pytest.mark.django_db
def test_a_lead_of_the_running_month_leaves_the_judged_months_alone():
    world = build_world(effective_from=date(2026, 12, 1))
    december(world.a, 3)
    quota_shortfall(at=JANUARY)

    lead_deliver(by=world.maria, data=lead_body(), agreement=world.a, now=JANUARY)

    assert not MonthEvaluation.objects.get(agreement=world.a, month="2026-12").stale


@pytest.mark.django_db
def test_removed_leads_have_every_judged_month_counted_again():
    agreement = AgreementFactory(effective_from=date(2026, 12, 1))
    CommitmentFactory(agreement=agreement, month="2026-12", quota=3)
    december(agreement, 3)
    quota_shortfall(at=JANUARY)

    month_evaluations_reopen_all()

    assert reads_leads(lambda: quota_shortfall(at=JANUARY + timedelta(minutes=1)))


@pytest.mark.django_db
def test_a_closed_month_is_the_one_before_the_calendars_local_first():
    # 30 Nov 23:30 in Auckland is November (closed on 2 Dec); 00:30 on 1 Dec is not.
    agreement = AgreementFactory(calendar=CalendarFactory(timezone="Pacific/Auckland"))
    late = [(agreement, datetime(2026, 11, 30, 10, 30, tzinfo=UTC))]
    running = [(agreement, datetime(2026, 11, 30, 11, 30, tzinfo=UTC))]

    assert month_evaluations_reopen(leads=running, now=AT) == 0
    assert month_evaluations_reopen(leads=late, now=AT) == 1
    [evaluation] = MonthEvaluation.objects.all()
    assert (evaluation.month, evaluation.stale) == ("2026-11", True)
