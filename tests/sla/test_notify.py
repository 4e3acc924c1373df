"""The outbox: who hears of a flag, when, over which channel; sent once, retried on failure."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from accounts.models import Role
from sla.checks import first_touch_at_risk, first_touch_breached
from sla.models import Notification
from sla.notify import MAX_ATTEMPTS, notifications_queue, notifications_send
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 10:00 EST
AT_RISK = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 13:00 EST, 19:00 in Paris
DUE = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 14:00 EST, 20:00 in Paris


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sales_setup(*, webhook: str = "", team_calendar=None):
    rep = UserFactory(username="sam", role=Role.SALES)
    managers = [UserFactory(username=n, role=Role.SALES_MANAGER) for n in ("morgan", "mia")]
    other = UserFactory(username="raj", role=Role.SALES)
    team = TeamFactory(members=[rep, *managers, other], chat_webhook_url=webhook)
    if team_calendar is not None:
        team.calendar = team_calendar
        team.save()
    agreement = AgreementFactory(sales_team=team)
    lead = LeadFactory(agreement=agreement, owner=rep, received_at=RECEIVED)
    ClockFactory(lead=lead)
    return rep, managers


def paris_office():
    return CalendarFactory(name="Paris office", timezone="Europe/Paris")


def test_a_breach_queues_one_email_for_the_owner_and_each_sales_manager():
    sales_setup()

    [flag] = first_touch_breached(at=DUE)

    rows = Notification.objects.order_by("address")
    assert [(r.channel, r.address) for r in rows] == [
        ("email", "mia@example.com"),
        ("email", "morgan@example.com"),
        ("email", "sam@example.com"),
    ]
    assert {r.key for r in rows} == {f"{flag.id}:email:{r.recipient_id}" for r in rows}
    assert all(r.flag_id == flag.id and r.not_before == DUE for r in rows)


def test_a_team_with_a_chat_webhook_also_gets_one_chat_message():
    sales_setup(webhook="https://chat.example.com/hook/T1")

    [flag] = first_touch_breached(at=DUE)

    [chat] = Notification.objects.filter(channel=Notification.Channel.CHAT)
    assert chat.key == f"{flag.id}:chat:https://chat.example.com/hook/T1"
    assert chat.recipient is None
    assert chat.body.startswith("*First touch breached*: first touch due Tue 1 Dec 14:00 EST")


def test_queueing_the_same_flag_again_queues_nothing_more():
    sales_setup(webhook="https://chat.example.com/hook/T1")
    [flag] = first_touch_breached(at=DUE)

    notifications_queue(flags=[flag], at=DUE + timedelta(minutes=1))

    assert Notification.objects.count() == 4


def test_an_at_risk_warning_goes_only_to_the_owner():
    rep, _ = sales_setup()
    first_touch_at_risk(at=AT_RISK)
    assert list(Notification.objects.values_list("recipient", flat=True)) == [rep.id]


def test_quiet_hours_hold_a_reminder_until_the_team_opens():
    # The team works 09:00–17:00 in Paris; the warning comes at 19:00 there.
    sales_setup(team_calendar=paris_office())
    first_touch_at_risk(at=AT_RISK)
    opening = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wed 09:00 CET

    [row] = Notification.objects.all()
    assert row.not_before == opening
    assert notifications_send(at=opening - timedelta(seconds=1))["sent"] == 0
    assert notifications_send(at=opening)["sent"] == 1
    assert len(mail.outbox) == 1


def test_a_breach_goes_at_once_even_outside_the_teams_hours():
    sales_setup(team_calendar=paris_office())

    first_touch_breached(at=DUE)

    assert notifications_send(at=DUE)["sent"] == 3
    assert sorted(m.to[0] for m in mail.outbox) == [
        "mia@example.com",
        "morgan@example.com",
        "sam@example.com",
    ]


def test_sending_marks_each_row_sent_once():
    sales_setup()
    first_touch_breached(at=DUE)

    notifications_send(at=DUE)
    notifications_send(at=DUE + timedelta(minutes=5))

    assert len(mail.outbox) == 3
    assert set(Notification.objects.values_list("state", flat=True)) == {"sent"}
    assert "passed untouched" in mail.outbox[0].body


def test_outbox_survives_a_failed_send_and_sends_once_on_retry(settings):
    # Given the flag is committed and the mail server is down
    sales_setup()
    first_touch_breached(at=DUE)
    settings.EMAIL_BACKEND = "tests.sla.test_notify.BrokenBackend"

    # When the sender runs, every row is kept with the error and a later try
    outcome = notifications_send(at=DUE)
    assert outcome == {"sent": 0, "retry": 3, "failed": 0, "deferred": 0}
    row = Notification.objects.first()
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error == "ConnectionRefusedError: mail server down"
    assert row.not_before == DUE + timedelta(minutes=1)

    # Then, the server back, the retry sends each once
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send(at=DUE + timedelta(seconds=30))["sent"] == 0  # backing off
    assert notifications_send(at=DUE + timedelta(minutes=1))["sent"] == 3
    assert notifications_send(at=DUE + timedelta(minutes=9))["sent"] == 0
    assert len(mail.outbox) == 3


def test_a_row_that_keeps_failing_is_given_up_after_five_attempts(settings):
    sales_setup()
    first_touch_breached(at=DUE)
    settings.EMAIL_BACKEND = "tests.sla.test_notify.BrokenBackend"

    at = DUE
    for _ in range(MAX_ATTEMPTS):
        notifications_send(at=at)
        at += timedelta(hours=1)

    row = Notification.objects.first()
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert notifications_send(at=at + timedelta(days=1))["sent"] == 0


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def chat_server():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers["Content-Length"])
            received.append((dict(self.headers), json.loads(self.rfile.read(length))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_the_chat_webhook_gets_slack_json_with_the_idempotency_key(chat_server):
    url, received = chat_server
    sales_setup(webhook=url)
    first_touch_breached(at=DUE)

    notifications_send(at=DUE)

    [(headers, body)] = received
    chat = Notification.objects.get(channel=Notification.Channel.CHAT)
    assert headers["Idempotency-Key"] == chat.key
    # The stored body is the fallback text; the blocks are built at send time.
    assert body["text"] == chat.body
    assert body["blocks"][0]["type"] == "header"
    assert chat.state == Notification.State.SENT


def test_an_unreachable_webhook_is_retried_later(settings):
    sales_setup(webhook="http://127.0.0.1:9/hook")
    first_touch_breached(at=DUE)

    notifications_send(at=DUE)

    chat = Notification.objects.get(channel=Notification.Channel.CHAT)
    assert (chat.state, chat.attempts) == ("pending", 1)
    assert "URLError" in chat.last_error
