"""`manage.py run_sla_checks [--at ISO-8601] [--no-send]`."""

from datetime import datetime
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from accounts.models import Role
from sla.models import Flag, Notification
from tests.factories import AgreementFactory, ClockFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def due_clock():
    agreement = AgreementFactory(effective_from=datetime(2026, 12, 1).date())
    rep = UserFactory(role=Role.SALES)
    lead = LeadFactory(agreement=agreement, owner=rep)  # received Tue 1 Dec 10:00 EST
    return ClockFactory(lead=lead)  # due 14:00 EST, 19:00 UTC


def run(*args) -> str:
    out = StringIO()
    call_command("run_sla_checks", *args, stdout=out)
    return out.getvalue()


def test_runs_every_check_as_of_the_instant_and_sends(due_clock):
    output = run("--at", "2026-12-01T14:05:00-05:00")

    assert "first_touch_breached: 1 flagged" in output
    assert "first_touch_at_risk: 1 flagged" in output
    assert "quota_shortfall: 0 flagged" in output
    assert "Notifications: 1 sent" in output
    assert Flag.objects.get(kind="first_touch_breached").raised_at == due_clock.due_at
    assert len(mail.outbox) == 1


def test_an_instant_before_the_due_time_flags_no_breach(due_clock):
    output = run("--at", "2026-12-01T13:59:59-05:00")
    assert "first_touch_breached: 0 flagged" in output


def test_no_send_leaves_the_outbox_queued(due_clock):
    run("--at", "2026-12-01T19:00:00+00:00", "--no-send")
    assert Notification.objects.get().state == Notification.State.PENDING
    assert mail.outbox == []


@pytest.mark.parametrize("value", ["2026-12-01T19:00:00", "yesterday", "2026-13-01T00:00Z"])
def test_a_naive_or_malformed_at_is_refused_naming_at(value):
    with pytest.raises(CommandError, match="--at"):
        run("--at", value)
    assert not Flag.objects.exists()


def test_without_at_it_runs_as_of_now():
    assert "Checks as of" in run()
