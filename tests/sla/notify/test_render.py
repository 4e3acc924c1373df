"""What a notification looks like when it arrives: an HTML e-mail with its plain text
and a link to the lead, Slack blocks or a Teams card, the due time in the team's zone,
and user-supplied names kept as text everywhere."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from accounts.models import Role
from sla.checks import first_touch_breached
from sla.models import Flag, Notification
from sla.notify import digest_queue, notifications_send, render
from tests.factories import (
    AgreementFactory,
    CalendarFactory,
    ClockFactory,
    FlagFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)
from tests.sla.notify.chat_receiver import chat_receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # Tue 10:00 EST
DUE = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 14:00 EST, 20:00 in Paris
MORNING = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)  # Wed 09:30 EST
SITE = "https://slaops.example.com"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def breached(*, webhook: str = "", zone: str = "Europe/Paris", first_name: str = HOSTILE):
    rep = UserFactory(username="sam", role=Role.SALES)
    calendar = CalendarFactory(name=f"Office {zone}", timezone=zone)
    team = TeamFactory(members=[rep], chat_webhook_url=webhook, calendar=calendar)
    lead = LeadFactory(
        agreement=AgreementFactory(sales_team=team),
        owner=rep,
        received_at=RECEIVED,
        first_name=first_name,
        company="Acme & Co",
    )
    ClockFactory(lead=lead)
    [flag] = first_touch_breached(at=DUE)
    return lead, flag


def only_email() -> EmailMultiAlternatives:
    [message] = mail.outbox
    return message


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


# --- e-mail -----------------------------------------------------------------------------


def test_a_breach_email_is_html_with_a_plain_text_alternative_and_the_lead_link():
    lead, _ = breached()

    notifications_send(at=DUE)

    message = only_email()
    row = Notification.objects.get(channel="email")
    html = html_of(message)
    link = f"{SITE}/leads/{lead.id}/"
    assert f'href="{link}"' in html
    assert message.subject == row.subject
    assert message.body.startswith(row.body)  # the stored words, then the link
    assert f"Open lead #{lead.id}: {link}" in message.body
    assert message.extra_headers["X-Slaops-Key"] == row.key


def test_the_email_keeps_a_hostile_lead_name_as_text():
    breached()

    notifications_send(at=DUE)

    html = html_of(only_email())
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Acme &amp; Co" in html


def test_the_email_gives_the_due_time_in_the_teams_calendar_zone():
    breached(zone="Europe/Paris")

    notifications_send(at=DUE)

    html = html_of(only_email())
    assert "Tue 1 Dec 20:00 CET" in html  # 19:00 UTC on the Paris team's clock
    assert ">sam<" in html  # the owner


def test_a_month_flag_links_to_the_flags_page_of_its_agreement_and_month():
    agreement = AgreementFactory()
    flag = FlagFactory(
        kind=Flag.Kind.QUOTA_SHORTFALL, lead=None, agreement=agreement, due_at=None, owner=None
    )
    row = Notification(
        id=1, key="x", channel="email", flag=flag, subject="s", body="b", address="a@b.c"
    )

    about = render.about_rows([row])[1]

    assert about.url == (
        f"{SITE}/flags/?state=all&agreement={agreement.id}&month=2026-12&kind=quota_shortfall"
    )
    assert ("Month", "2026-12") in about.facts


def digest_world():
    rep = UserFactory(username="sam", role=Role.SALES)
    team = TeamFactory(members=[rep], calendar=CalendarFactory())
    lead = LeadFactory(
        agreement=AgreementFactory(sales_team=team),
        owner=rep,
        received_at=RECEIVED,
        first_name=HOSTILE,
    )
    ClockFactory(lead=lead)
    first_touch_breached(at=DUE)
    Notification.objects.all().delete()
    digest_queue(at=MORNING)
    return rep, lead


def test_a_digest_email_lists_each_item_with_its_lead_link_and_offers_one_click_unsubscribe():
    rep, lead = digest_world()

    assert notifications_send(at=MORNING)["sent"] == 1

    message = only_email()
    html = html_of(message)
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{SITE}/digest/unsubscribe/") and unsubscribe.endswith("/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{SITE}/leads/{lead.id}/"' in html
    assert f'href="{unsubscribe[1:-1]}"' in html
    assert "<script>" not in html
    assert f"Stop the daily digest: {unsubscribe[1:-1]}" in message.body
    assert "first touch due Tue 1 Dec 14:00 EST (breached)" in html


def test_a_flag_email_has_no_unsubscribe_header():
    breached()
    notifications_send(at=DUE)
    assert "List-Unsubscribe" not in only_email().extra_headers


# --- chat -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "teams"),
    [
        ("https://contoso.webhook.office.com/webhookb2/abc", True),
        ("https://prod-12.westus.logic.azure.com:443/workflows/abc", True),
        ("https://default1.environment.api.powerplatform.com/powerautomate/abc", True),
        ("https://hooks.slack.com/services/T/B/X", False),
        ("https://mattermost.example.com/hooks/abc", False),
        ("https://webhook.office.com.evil.example/abc", False),
        ("https://notwebhook.office.com/abc", False),
    ],
)
def test_the_chat_format_is_chosen_by_the_webhooks_host(url, teams):
    assert render.is_teams(url) is teams


def test_a_breach_reaches_a_slack_webhook_as_readable_blocks(chat_receiver):  # noqa: F811
    url, received = chat_receiver
    lead, flag = breached(webhook=url, first_name="Ada <!channel>")

    notifications_send(at=DUE)

    [(headers, body)] = received
    row = Notification.objects.get(channel="chat")
    assert headers["Idempotency-Key"] == row.key
    assert row.state == Notification.State.SENT
    assert body["text"] == row.body.replace("<", "&lt;").replace(">", "&gt;")
    header, detail, facts, actions = body["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": f"First touch breached: lead #{lead.id} "
            f"Ada <!channel> {lead.last_name} (Acme & Co)",
        },
    }
    assert detail["text"]["text"] == flag.detail
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in facts["fields"]}
    assert fields["*Due*"] == "Tue 1 Dec 20:00 CET"
    assert fields["*Owner*"] == "sam"
    assert "&lt;!channel&gt;" in fields["*Lead*"]  # never a channel-wide ping
    assert fields["*For*"] == "sam"
    [button] = actions["elements"]
    assert button["url"] == f"{SITE}/leads/{lead.id}/"
    assert button["style"] == "danger"


def test_a_breach_reaches_a_teams_webhook_as_an_adaptive_card(chat_receiver, monkeypatch):  # noqa: F811
    url, received = chat_receiver
    monkeypatch.setattr(render, "TEAMS_HOST_SUFFIXES", ("127.0.0.1",))  # our receiver is Teams
    lead, flag = breached(webhook=url)

    notifications_send(at=DUE)

    [(headers, body)] = received
    assert headers["Idempotency-Key"] == Notification.objects.get(channel="chat").key
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, detail, facts = card["body"]
    assert (
        title["text"] == f"First touch breached: lead #{lead.id} {lead.first_name} "
        f"{lead.last_name} (Acme & Co)"
    )
    assert title["color"] == "Attention"
    assert detail["text"] == flag.detail
    assert {"title": "Due", "value": "Tue 1 Dec 20:00 CET"} in facts["facts"]
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": f"Open lead #{lead.id}",
            "url": f"{SITE}/leads/{lead.id}/",
        }
    ]


def test_a_digest_in_chat_lists_its_items_as_links():
    rep, lead = digest_world()
    row = Notification.objects.get(key__startswith="digest:")
    row.channel, row.address = "chat", "https://hooks.example.com/T"

    payload = render.chat_payload(row, render.about_rows([row])[row.id])

    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert any(f"<{SITE}/leads/{lead.id}/|lead #{lead.id} &lt;script&gt;" in t for t in texts)
    assert payload["blocks"][-1]["elements"][0]["url"] == f"{SITE}/inbox/"


def test_a_long_digest_stays_within_slacks_block_limits():
    lines = "\n".join(f"- lead #{n}: first touch due soon (at risk)" for n in range(2000))
    row = Notification(
        id=7,
        key="digest:1:2026-12-02",
        channel="chat",
        address="https://h.example/x",
        subject="[slaops] Wed 02 Dec: 2000 item(s)",
        body=f"Needs your action today:\n\n{lines}",
    )

    payload = render.chat_payload(row, render.about_rows([row])[7])

    assert len(payload["blocks"]) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in payload["blocks"])
    assert len(payload["text"]) <= 3000


def test_rendering_a_batch_takes_the_same_queries_for_one_row_or_many(
    django_assert_max_num_queries,
):
    _, flag = breached()
    rows = list(Notification.objects.all())
    more = [
        Notification(id=1000 + n, key=f"k{n}", channel="email", flag=flag, subject="s", body="b")
        for n in range(30)
    ]
    with django_assert_max_num_queries(2):
        render.about_rows(rows + more)
