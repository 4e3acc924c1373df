"""Who hears of a flag, when, and how: the outbox rows a new flag queues.

Every new flag queues its Notification rows in the same transaction as the flag, one
per recipient and channel, keyed `flag:channel:recipient-or-url` so a redelivered task
queues nothing twice. Breaches go at once; everything else waits for the recipient
team's working hours. Each person's preferences pick the channels, per kind of flag.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from accounts.models import NotificationPreference, Role, Team, User
from calendars.engine import next_opening
from calendars.models import BusinessCalendar
from core.bulk import bulk_insert
from leads.models import Lead
from sla.models import Flag, Notification

logger = logging.getLogger(__name__)


class Calendars:
    """Work calendars by id, built once per pass; a broken one falls back to "now"."""

    def __init__(self, ids):
        rows = BusinessCalendar.objects.filter(id__in=set(ids) - {None})
        self._rows = {row.id: row for row in rows}
        self._built: dict = {}

    def get(self, calendar_id):
        if calendar_id not in self._built:
            row = self._rows.get(calendar_id)
            try:
                self._built[calendar_id] = row.as_work_calendar() if row else None
            except Exception:
                logger.exception("calendar %s is unusable: sending without quiet hours", row)
                self._built[calendar_id] = None
        return self._built[calendar_id]

    def opening(self, calendar_id, at: datetime) -> datetime:
        calendar = self.get(calendar_id)
        if calendar is None:
            return at
        try:
            return next_opening(calendar, at)
        except ValueError:  # a calendar with no working time at all
            return at


def _lead_labels(lead_ids) -> dict[int, str]:
    rows = Lead.objects.filter(id__in=set(lead_ids) - {None}).values(
        "id", "first_name", "last_name", "email", "company"
    )
    labels = {}
    for row in rows:
        name = f"{row['first_name']} {row['last_name']}".strip() or row["email"]
        labels[row["id"]] = f"{name} ({row['company']})" if row["company"] else name
    return labels


def _message(flag: Flag, lead_label: str | None, owner: str | None) -> tuple[str, str]:
    about = (
        f"lead #{flag.lead_id} {lead_label}" if flag.lead_id else f"agreement #{flag.agreement_id}"
    )
    subject = f"[slaops] {flag.get_kind_display()}: {about}"[:300]
    lines = [flag.detail, "", f"Flag #{flag.id}, {flag.month}, {about}"]
    if owner:
        lines.append(f"Owner: {owner}")
    return subject, "\n".join(lines)


def preferences_for(user_ids) -> dict[tuple[int, str], tuple[str, bool]]:
    """{(user id, kind): (e-mail choice, chat)} of the people's stored choices, one query.

    A (person, kind) missing from the answer takes the default, `DEFAULT_PREFERENCE`.
    """
    rows = NotificationPreference.objects.filter(user_id__in=set(user_ids) - {None})
    return {
        (row["user_id"], row["kind"]): (row["email"], row["chat"])
        for row in rows.values("user_id", "kind", "email", "chat")
    }


# E-mail at once and the team's chat: what a person hears before choosing anything.
DEFAULT_PREFERENCE = (NotificationPreference.Email.AT_ONCE, True)


# What the sales team's managers hear of at once: breaches, and a lead no rep was free to
# take (it waits in their queue with its clock running).
MANAGER_KINDS = Flag.BREACH_KINDS | {Flag.Kind.UNASSIGNED}


def _recipients(flag: Flag, owner: dict | None, members: list[dict]) -> dict[int, dict]:
    """The people a flag concerns: its owner (marketing's managers for the month's flags),
    and the sales team's managers for a breach or a lead no rep was free to take."""
    recipients = {}
    if owner and flag.kind not in Flag.MONTH_KINDS:
        recipients[owner["id"]] = owner
    wanted = Role.MARKETING if flag.kind in Flag.MONTH_KINDS else None
    if flag.kind in MANAGER_KINDS:
        wanted = Role.SALES_MANAGER
    for member in members if wanted else []:
        if member["user__role"] == wanted:
            recipients[member["user_id"]] = {
                "id": member["user_id"],
                "username": member["user__username"],
                "email": member["user__email"],
                "is_active": member["user__is_active"],
            }
    return recipients


def notifications_queue(*, flags: Sequence[Flag], at: datetime) -> int:
    """Queue the outbox rows of new flags; call inside the transaction that made them.

    The owner hears of every flag (for quota and quality flags, the marketing team's
    marketing managers); breaches and unassigned leads also go to the sales team's sales
    managers. Each
    person's preferences (accounts.NotificationPreference) choose, per kind of flag,
    e-mail at once, in the daily digest (sla.notify.digest) or not at all, and whether
    the team's chat carries it: the chat post goes out when one of the people it
    concerns wants it there (or it concerns nobody), and names them. Breaches go at
    once (so do unassigned leads); everything else waits for the team's working hours.
    """
    flags = [f for f in flags if not _superseded(f, at)]
    if not flags:
        return 0
    teams = {t.id: t for t in Team.objects.filter(id__in={f.team_id for f in flags} - {None})}
    members = defaultdict(list)
    for row in Team.members.through.objects.filter(team_id__in=teams).values(
        "team_id", "user_id", "user__role", "user__username", "user__email", "user__is_active"
    ):
        members[row["team_id"]].append(row)
    owners = {
        row["id"]: row
        for row in User.objects.filter(id__in={f.owner_id for f in flags} - {None}).values(
            "id", "username", "email", "is_active"
        )
    }
    recipients_of = {
        flag.id: _recipients(flag, owners.get(flag.owner_id), members.get(flag.team_id, []))
        for flag in flags
    }
    preferences = preferences_for(uid for people in recipients_of.values() for uid in people)
    calendars = Calendars(t.calendar_id for t in teams.values())
    labels = _lead_labels(f.lead_id for f in flags)
    rows = []
    for flag in flags:
        team = teams.get(flag.team_id)
        owner = owners.get(flag.owner_id)
        subject, body = _message(flag, labels.get(flag.lead_id), owner and owner["username"])
        if flag.kind in MANAGER_KINDS or team is None:
            not_before = at
        else:
            not_before = calendars.opening(team.calendar_id, at)
        recipients = recipients_of[flag.id]
        choice = {
            user_id: preferences.get((user_id, flag.kind), DEFAULT_PREFERENCE)
            for user_id in recipients
        }
        common = {
            "flag_id": flag.id,
            "subject": subject,
            "not_before": not_before,
            "created_at": at,
            "state": Notification.State.PENDING,
        }
        for user_id, user in sorted(recipients.items()):
            at_once = choice[user_id][0] == NotificationPreference.Email.AT_ONCE
            if at_once and user["email"] and user["is_active"]:
                rows.append(
                    {
                        "key": f"{flag.id}:email:{user_id}",
                        "channel": Notification.Channel.EMAIL,
                        "recipient_id": user_id,
                        "address": user["email"],
                        "body": body,
                        **common,
                    }
                )
        on_chat = sorted(
            user["username"]
            for user_id, user in recipients.items()
            if choice[user_id][1] and user["is_active"]
        )
        if team is not None and team.chat_webhook_url and (on_chat or not recipients):
            url = team.chat_webhook_url
            text = f"*{flag.get_kind_display()}*: {flag.detail}"
            if owner:
                text += f" (owner: {owner['username']})"
            if on_chat:
                text += f" For: {', '.join(on_chat)}."
            rows.append(
                {
                    "key": f"{flag.id}:chat:{url}"[:200],
                    "channel": Notification.Channel.CHAT,
                    "recipient_id": None,
                    "address": url,
                    "body": text,
                    **common,
                }
            )
    bulk_insert(Notification, rows, ignore_conflicts=True)
    return len(rows)


def _superseded(flag: Flag, at: datetime) -> bool:
    # A warning noticed after its clock already ran out (the checks were catching up)
    # would only arrive beside the breach itself: the breach speaks for both.
    return (
        flag.kind == Flag.Kind.FIRST_TOUCH_AT_RISK and flag.due_at is not None and flag.due_at <= at
    )
