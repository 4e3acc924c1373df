"""What an outbox row looks like when it is sent: HTML e-mail with its plain text, Slack
Block Kit blocks, or a Microsoft Teams Adaptive Card.

The outbox row keeps its plain subject and body (queued in the flag's transaction, by
SQL for the set-based checks); the rich forms are built here at send time from the row
and its flag, so every channel says the same thing. `about_rows` reads what a batch of
rows needs in a constant number of queries; the builders below are pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from core.timeparse import local_text
from sla.models import Flag, Notification
from sla.notify.digest import unsubscribe_token
from sla.notify.recipients import _lead_labels

# Incoming-webhook hosts of Microsoft Teams (connectors and Workflows); any other host
# gets Slack-compatible JSON (Slack, Mattermost, Rocket.Chat, Zulip's Slack endpoint).
TEAMS_HOST_SUFFIXES = ("webhook.office.com", "logic.azure.com", "powerplatform.com")

# The lines of a digest body, as sla.notify.digest writes them.
_FLAG_LINE = re.compile(r"^- (?P<text>.*?)(?: \(lead #(?P<lead>\d+)\))? \[flag #(?P<flag>\d+)\]$")
_CLOCK_LINE = re.compile(r"^- lead #(?P<lead>\d+): (?P<text>.*)$")
_FOR_NAMES = re.compile(r" For: (?P<names>.+)\.$")


@dataclass(frozen=True)
class Line:
    """One item of a digest: its words and the page that acts on it."""

    text: str
    url: str = ""
    link_text: str = ""


@dataclass(frozen=True)
class About:
    """Everything a message says, whatever the channel."""

    headline: str
    detail: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    action: str = "Open slaops"
    lines: list[Line] = field(default_factory=list)
    unsubscribe_url: str = ""
    urgent: bool = False
    is_digest: bool = False


@dataclass(frozen=True)
class Email:
    text: str
    html: str
    headers: dict[str, str]


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def lead_url(lead_id: int) -> str:
    return site_url(reverse("lead-detail", args=[lead_id]))


def flag_url(flag) -> str:
    """The lead's page for a lead's flag (its timeline shows the flag), else the flags
    page narrowed to the flag's agreement, month and kind."""
    if flag.lead_id:
        return lead_url(flag.lead_id)
    query = {"state": "all", "agreement": flag.agreement_id, "month": flag.month}
    return site_url(f"{reverse('flag-list')}?{urlencode({**query, 'kind': flag.kind})}")


def _zone(flag: Flag) -> str:
    """The recipient team's calendar zone, else the agreement's, else UTC."""
    for calendar in (flag.team and flag.team.calendar, flag.agreement.calendar):
        if calendar is not None and calendar.timezone:
            return calendar.timezone
    return "UTC"


def _about_flag(row: Notification, flag: Flag, lead_label: str | None) -> About:
    kind = flag.get_kind_display()
    if flag.lead_id:
        about = f"lead #{flag.lead_id} {lead_label or ''}".strip()
        action = f"Open lead #{flag.lead_id}"
    else:
        about = f"{flag.agreement.name}, {flag.month}"
        action = "Open the flag"
    facts = []
    if flag.lead_id:
        facts.append(("Lead", about))
    if flag.owner_id:
        facts.append(("Owner", flag.owner.get_username()))
    if flag.due_at is not None:
        facts.append(("Due", local_text(flag.due_at, _zone(flag))))
    else:
        facts.append(("Month", flag.month))
    if flag.team_id:
        facts.append(("Team", flag.team.name))
    names = _FOR_NAMES.search(row.body) if row.channel == Notification.Channel.CHAT else None
    if names:
        facts.append(("For", names["names"]))
    return About(
        headline=f"{kind}: {about}",
        detail=flag.detail,
        facts=facts,
        url=flag_url(flag),
        action=action,
        urgent=flag.kind in Flag.BREACH_KINDS,
    )


def _digest_lines(body: str, flags: dict, labels: dict) -> list[Line]:
    lines = []
    for text in body.splitlines()[2:]:  # after "Needs your action today:" and a blank
        flag_line, clock_line = _FLAG_LINE.match(text), _CLOCK_LINE.match(text)
        if flag_line:
            lead_id = flag_line["lead"] and int(flag_line["lead"])
            flag = flags.get(int(flag_line["flag"]))
            if lead_id:
                url, link = lead_url(lead_id), f"lead #{lead_id} {labels.get(lead_id, '')}"
            else:
                url, link = (flag_url(flag) if flag else ""), f"flag #{flag_line['flag']}"
            lines.append(Line(text=flag_line["text"], url=url, link_text=link.strip()))
        elif clock_line:
            lead_id = int(clock_line["lead"])
            link = f"lead #{lead_id} {labels.get(lead_id, '')}".strip()
            lines.append(Line(text=clock_line["text"], url=lead_url(lead_id), link_text=link))
        elif text.strip():
            lines.append(Line(text=text.lstrip("- ")))
    return lines


def _digest_refs(rows) -> tuple[set[int], set[int]]:
    lead_ids, flag_ids = set(), set()
    for row in rows:
        for text in row.body.splitlines():
            if match := _FLAG_LINE.match(text):
                flag_ids.add(int(match["flag"]))
                if match["lead"]:
                    lead_ids.add(int(match["lead"]))
            elif match := _CLOCK_LINE.match(text):
                lead_ids.add(int(match["lead"]))
    return lead_ids, flag_ids


def _is_digest(row: Notification) -> bool:
    return row.flag_id is None and row.key.startswith("digest:")


def about_rows(rows) -> dict[int, About]:
    """{row id: About} for a batch of outbox rows, in four queries whatever its size."""
    digests = [row for row in rows if _is_digest(row)]
    lead_ids, flag_ids = _digest_refs(digests)
    flag_ids |= {row.flag_id for row in rows if row.flag_id}
    flags = {
        flag.id: flag
        for flag in Flag.objects.filter(id__in=flag_ids).select_related(
            "owner", "team__calendar", "agreement__calendar"
        )
    }
    labels = _lead_labels(lead_ids | {f.lead_id for f in flags.values()})
    abouts = {}
    for row in rows:
        flag = flags.get(row.flag_id)
        if flag is not None:
            abouts[row.id] = _about_flag(row, flag, labels.get(flag.lead_id))
        elif _is_digest(row):
            token = unsubscribe_token(row.recipient_id) if row.recipient_id else ""
            abouts[row.id] = About(
                headline=row.subject.removeprefix("[slaops] "),
                detail="Needs your action today:",
                url=site_url(reverse("lead-inbox")),
                action="Open your inbox",
                lines=_digest_lines(row.body, flags, labels),
                unsubscribe_url=token and site_url(reverse("digest-unsubscribe", args=[token])),
                is_digest=True,
            )
        else:  # a row whose flag is gone: its own words
            abouts[row.id] = About(
                headline=row.subject.removeprefix("[slaops] "),
                detail=row.body,
                url=site_url("/"),
            )
    return abouts


# --- e-mail -----------------------------------------------------------------------------


def email_for(row: Notification, about: About) -> Email:
    """The HTML and plain-text forms of an e-mail row, and its extra headers.

    A digest carries List-Unsubscribe with one-click unsubscribe (RFC 8058), which
    mail clients show as an "Unsubscribe" button and post to without a session.
    """
    template = "notify/digest_email.html" if about.is_digest else "notify/flag_email.html"
    html = render_to_string(template, {"about": about, "subject": row.subject})
    text = [row.body, "", f"{about.action}: {about.url}"]
    headers = {}
    if about.unsubscribe_url:
        text += ["", f"Stop the daily digest: {about.unsubscribe_url}"]
        headers = {
            "List-Unsubscribe": f"<{about.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return Email(text="\n".join(text) + "\n", html=html, headers=headers)


# --- chat -------------------------------------------------------------------------------


def is_teams(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == suffix or host.endswith(f".{suffix}") for suffix in TEAMS_HOST_SUFFIXES)


def chat_payload(row: Notification, about: About) -> dict:
    """The JSON to post to the row's webhook: a Teams card or Slack blocks, by host."""
    if is_teams(row.address):
        return teams_payload(about)
    return slack_payload(row, about)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions (<!channel>): a lead's name must stay text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_line(line: Line) -> str:
    text = _slack_escape(line.text)
    if line.url:
        return f"• <{line.url}|{_slack_escape(line.link_text)}>: {text}"
    return f"• {text}"


def slack_payload(row: Notification, about: About) -> dict:
    """Block Kit: a header, the detail, the facts as fields, a button; `text` is the
    notification fallback (and what older clients show)."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(about.headline, 150)}}
    ]
    if about.detail:
        text = _cut(_slack_escape(about.detail), 3000)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if about.facts:
        fields = [
            {"type": "mrkdwn", "text": _cut(f"*{label}*\n{_slack_escape(value)}", 2000)}
            for label, value in about.facts[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    chunk: list[str] = []
    for line in about.lines:  # a digest: its items, as few sections as fit
        piece = _slack_line(line)
        if chunk and len("\n".join([*chunk, piece])) > 3000:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk = []
        chunk.append(_cut(piece, 3000))
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    button = {"type": "button", "text": {"type": "plain_text", "text": about.action}}
    button["url"] = about.url
    if about.urgent:
        button["style"] = "danger"
    blocks = blocks[:49]  # Slack takes 50 blocks at most
    blocks.append({"type": "actions", "elements": [button]})
    return {"text": _cut(_slack_escape(row.body), 3000), "blocks": blocks}


def teams_payload(about: About) -> dict:
    """A message with one Adaptive Card (1.4), as Teams incoming webhooks and Workflows
    take it."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": about.headline,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            **({"color": "Attention"} if about.urgent else {}),
        }
    ]
    if about.detail:
        body.append({"type": "TextBlock", "text": about.detail, "wrap": True})
    if about.facts:
        facts = [{"title": label, "value": value} for label, value in about.facts]
        body.append({"type": "FactSet", "facts": facts})
    for line in about.lines:
        text = f"[{line.link_text}]({line.url}): {line.text}" if line.url else line.text
        body.append({"type": "TextBlock", "text": f"- {text}", "wrap": True, "spacing": "Small"})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": about.action, "url": about.url}],
        "msteams": {"width": "Full"},
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}
