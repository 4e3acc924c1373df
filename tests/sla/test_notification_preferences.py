"""Each person's notification preferences: which kinds of flag reach them, by e-mail (at
once or in the daily digest) and on the team's chat."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import NotificationPreference, Role
from sla.checks import first_touch_breached
from sla.models import Notification
from sla.notify import digest_queue, notifications_queue
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 10:00 EST, first touch due 14:00
DUE = RECEIVED + timedelta(hours=4)
MORNING = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)  # Wed 09:30 EST
WEBHOOK = "https://chat.example.com/hook/T1"
BREACH = "first_touch_breached"


@pytest.fixture
def team():
    rep = UserFactory(username="sam", role=Role.SALES)
    manager = UserFactory(username="morgan", role=Role.SALES_MANAGER)
    return TeamFactory(members=[rep, manager], calendar=CalendarFactory(), chat_webhook_url=WEBHOOK)


def prefer(username: str, kind: str = BREACH, *, email: str = "at_once", chat: bool = True):
    user = UserFactory._meta.model.objects.get(username=username)
    NotificationPreference.objects.create(user=user, kind=kind, email=email, chat=chat)


def breach(team, owner="sam", n=1):
    agreement = AgreementFactory(sales_team=team)
    for _ in range(n):
        lead = LeadFactory(
            agreement=agreement, owner=team.members.get(username=owner), received_at=RECEIVED
        )
        ClockFactory(lead=lead)
    return first_touch_breached(at=DUE)


def emails():
    rows = Notification.objects.filter(channel="email").exclude(key__startswith="digest:")
    return sorted(rows.values_list("recipient__username", flat=True))


def chats():
    return list(Notification.objects.filter(channel="chat").values_list("body", flat=True))


def digests():
    return {n.recipient.username: n for n in Notification.objects.filter(key__startswith="digest:")}


def test_without_preferences_everyone_concerned_hears_at_once_by_email_and_chat(team):
    breach(team)
    assert emails() == ["morgan", "sam"]
    [chat] = chats()
    assert chat.endswith("For: morgan, sam.")


def test_a_person_who_turned_off_email_for_a_kind_gets_no_email_of_it(team):
    prefer("morgan", email="off")
    breach(team)
    assert emails() == ["sam"]


def test_turning_off_one_kind_leaves_the_other_kinds_alone(team):
    prefer("morgan", kind="next_touch_breached", email="off", chat=False)
    breach(team)
    assert emails() == ["morgan", "sam"]


def test_a_person_who_turned_off_chat_is_not_named_in_the_chat_post(team):
    prefer("morgan", chat=False)
    breach(team)
    [chat] = chats()
    assert chat.endswith("For: sam.")
    assert "morgan" not in chat


def test_no_chat_post_when_everyone_concerned_turned_chat_off(team):
    prefer("morgan", chat=False)
    prefer("sam", chat=False)
    breach(team)
    assert chats() == []
    assert emails() == ["morgan", "sam"]  # e-mail is another channel


def test_who_opted_out_of_a_kind_on_every_channel_receives_nothing_for_it(team):
    prefer("morgan", email="off", chat=False)
    breach(team)
    Notification.objects.filter(recipient__username="sam").delete()
    digest_queue(at=MORNING)
    people = set(Notification.objects.values_list("recipient__username", flat=True))
    assert "morgan" not in people
    assert all("morgan" not in body for body in chats())
    assert "morgan" not in digests()


def test_who_chose_the_digest_gets_no_email_at_once_but_finds_it_in_the_digest(team):
    prefer("morgan", email="digest")
    [flag] = breach(team)
    assert emails() == ["sam"]

    digest_queue(at=MORNING)

    morgan = digests()["morgan"]
    assert f"- First touch breached: {flag.detail} (lead #{flag.lead_id})" in morgan.body


def test_a_kind_whose_email_is_off_is_left_out_of_the_digest(team):
    prefer("sam", email="off")
    [flag] = breach(team)
    digest_queue(at=MORNING)
    sam = digests()["sam"]
    assert f"[flag #{flag.id}]" not in sam.body  # the late clock still shows, the flag not
    assert f"- lead #{flag.lead_id}: first touch due" in sam.body


def test_preferences_are_read_in_one_query_whatever_the_number_of_flags(team):
    prefer("morgan", email="digest")

    def queries(n: int) -> int:
        Notification.objects.all().delete()
        flags = breach(team, n=n)
        Notification.objects.all().delete()
        with CaptureQueriesContext(connection) as captured:
            notifications_queue(flags=flags, at=DUE)
        assert Notification.objects.filter(channel="email").count() == n  # sam's, at once
        return len(captured)

    assert queries(2) == queries(6)
