"""The outbox: who hears of a flag, when, and how; the sender; the daily digest.

Every new flag queues its Notification rows in the same transaction as the flag, one
per recipient and channel, keyed `flag:channel:recipient-or-url` so a redelivered task
queues nothing twice. The sender claims due rows (pending → sending), sends each with
its key as idempotency key, and marks it sent, or puts it back with a backoff until it
has failed MAX_ATTEMPTS times. A crash between flagging and sending loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.request
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F

from accounts.models import Role, Team, User
from calendars.engine import is_working, next_opening
from calendars.models import BusinessCalendar
from core.timeparse import local_text
from leads.models import Lead
from sla.bulk import bulk_insert
from sla.models import Clock, Flag, Notification, at_risk_q, overdue_q

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 5
# A row claimed for sending is someone's for this long; after it, a crashed sender's
# rows are claimed again (see notifications_reclaim).
SENDING_LEASE = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 minutes after the 1st..4th failure."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


class _Calendars:
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


def notifications_queue(*, flags: Sequence[Flag], at: datetime) -> int:
    """Queue the outbox rows of new flags; call inside the transaction that made them.

    The owner hears of every flag (for quota and quality flags, the marketing team's
    marketing managers); breaches also go to the sales team's sales managers. Email
    always, the team's chat webhook when it has one. Breaches go at once; everything
    else waits for the team's working hours.
    """
    flags = [f for f in flags if not _superseded(f, at)]
    if not flags:
        return 0
    teams = {t.id: t for t in Team.objects.filter(id__in={f.team_id for f in flags} - {None})}
    members = defaultdict(list)
    for row in Team.members.through.objects.filter(team_id__in=teams).values(
        "team_id", "user_id", "user__role", "user__email", "user__is_active"
    ):
        members[row["team_id"]].append(row)
    owners = {
        row["id"]: row
        for row in User.objects.filter(id__in={f.owner_id for f in flags} - {None}).values(
            "id", "username", "email", "is_active"
        )
    }
    calendars = _Calendars(t.calendar_id for t in teams.values())
    labels = _lead_labels(f.lead_id for f in flags)
    rows = []
    for flag in flags:
        team = teams.get(flag.team_id)
        owner = owners.get(flag.owner_id)
        subject, body = _message(flag, labels.get(flag.lead_id), owner and owner["username"])
        if flag.kind in Flag.BREACH_KINDS or team is None:
            not_before = at
        else:
            not_before = calendars.opening(team.calendar_id, at)
        recipients = {}
        if owner and flag.kind not in Flag.MONTH_KINDS:
            recipients[owner["id"]] = owner
        wanted = Role.MARKETING if flag.kind in Flag.MONTH_KINDS else None
        if flag.kind in Flag.BREACH_KINDS:
            wanted = Role.SALES_MANAGER
        for member in members.get(flag.team_id, []) if wanted else []:
            if member["user__role"] == wanted:
                recipients[member["user_id"]] = {
                    "id": member["user_id"],
                    "email": member["user__email"],
                    "is_active": member["user__is_active"],
                }
        common = {
            "flag_id": flag.id,
            "subject": subject,
            "not_before": not_before,
            "created_at": at,
            "state": Notification.State.PENDING,
        }
        for user_id, user in sorted(recipients.items()):
            if user["email"] and user["is_active"]:
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
        if team is not None and team.chat_webhook_url:
            url = team.chat_webhook_url
            text = f"*{flag.get_kind_display()}*: {flag.detail}"
            if owner:
                text += f" (owner: {owner['username']})"
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


# --- sending -------------------------------------------------------------------------------


def _send_email(row: Notification) -> None:
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:32]
    EmailMessage(
        subject=row.subject,
        body=row.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.address],
        headers={"Message-ID": f"<{digest}@slaops>", "X-Slaops-Key": row.key},
    ).send(fail_silently=False)


def _send_chat(row: Notification) -> None:
    if not row.address.startswith(("https://", "http://")):
        raise ValueError(f"not a web address: {row.address!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        row.address,
        data=json.dumps({"text": row.body}).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": row.key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


SENDERS = {Notification.Channel.EMAIL: _send_email, Notification.Channel.CHAT: _send_chat}


def _claim(*, at: datetime, limit: int) -> list[Notification]:
    with transaction.atomic():
        due = Notification.objects.filter(state=Notification.State.PENDING, not_before__lte=at)
        ids = list(
            due.order_by("not_before", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        Notification.objects.filter(id__in=ids, state=Notification.State.PENDING).update(
            state=Notification.State.SENDING,
            attempts=F("attempts") + 1,
            not_before=at + SENDING_LEASE,
        )
    return list(Notification.objects.filter(id__in=ids, state=Notification.State.SENDING))


def notifications_send(
    *, at: datetime, limit: int = 100, budget_seconds: float | None = None
) -> dict[str, int]:
    """Send the due outbox rows; return how many were sent, retried, given up, put back.

    With `budget_seconds`, rows not reached in time (slow webhooks) go back to pending
    untouched, so a task never outlives its time limit holding claimed rows.
    """
    outcome = {"sent": 0, "retry": 0, "failed": 0, "deferred": 0}
    started = time.monotonic()
    sent, deferred = [], []
    for row in _claim(at=at, limit=limit):
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            deferred.append(row.id)
            continue
        try:
            SENDERS[row.channel](row)
        except Exception as exc:  # any transport error: keep the row and say why
            logger.warning("notification %s failed (attempt %s): %s", row.key, row.attempts, exc)
            error = f"{exc.__class__.__name__}: {exc}"[:2000]
            mine = Notification.objects.filter(id=row.id, state=Notification.State.SENDING)
            if row.attempts >= MAX_ATTEMPTS:
                mine.update(state=Notification.State.FAILED, last_error=error)
                outcome["failed"] += 1
            else:
                next_try = at + backoff(row.attempts)
                mine.update(state=Notification.State.PENDING, last_error=error, not_before=next_try)
                outcome["retry"] += 1
        else:
            sent.append(row.id)
    sending = Notification.objects.filter(state=Notification.State.SENDING)
    sending.filter(id__in=sent).update(state=Notification.State.SENT, sent_at=at, last_error="")
    sending.filter(id__in=deferred).update(
        state=Notification.State.PENDING, attempts=F("attempts") - 1, not_before=at
    )
    outcome["sent"], outcome["deferred"] = len(sent), len(deferred)
    return outcome


def notifications_reclaim(*, at: datetime) -> int:
    """Rows a sender claimed and never finished (it crashed) go back to pending."""
    return Notification.objects.filter(state=Notification.State.SENDING, not_before__lte=at).update(
        state=Notification.State.PENDING
    )


# --- the daily digest ----------------------------------------------------------------------

DIGEST_ROLES = (Role.SALES, Role.SALES_MANAGER, Role.MARKETING)
DIGEST_MAX_LINES = 50


def _people_mornings(at: datetime, calendars: _Calendars, teams_of: dict) -> dict[int, tuple]:
    """{user id: (local date, zone)} of people whose working day has begun at `at`.

    A person's day is their first team's calendar that has one; without any, UTC from
    09:00 on weekdays.
    """
    mornings = {}
    for user_id, team_rows in teams_of.items():
        calendar = next(
            (calendars.get(t["team__calendar_id"]) for t in team_rows if t["team__calendar_id"]),
            None,
        )
        if calendar is None:
            if at.weekday() < 5 and at.hour >= 9:
                mornings[user_id] = (at.date(), "UTC")
            continue
        if is_working(calendar, at):
            local = at.astimezone(ZoneInfo(calendar.timezone))
            mornings[user_id] = (local.date(), calendar.timezone)
    return mornings


def _flag_line(row: dict) -> str:
    about = f" (lead #{row['lead_id']})" if row["lead_id"] else ""
    return f"- {Flag.Kind(row['kind']).label}: {row['detail']}{about} [flag #{row['id']}]"


def _digest_items(*, people: dict, teams_of: dict, at: datetime, zones: dict) -> dict:
    """{user id: [lines]} of what needs each person's action, from four queries."""
    items: dict = defaultdict(list)
    open_flags = Flag.objects.filter(state=Flag.State.OPEN).order_by("raised_at", "id")
    fields = ("id", "kind", "detail", "lead_id", "owner_id", "team_id")
    for row in open_flags.filter(owner_id__in=people).values(*fields):
        items[row["owner_id"]].append(_flag_line(row))
    watchers = defaultdict(set)  # team id → managers / marketers who answer for its flags
    for user_id, person in people.items():
        if person["role"] in (Role.SALES_MANAGER, Role.MARKETING):
            for team in teams_of.get(user_id, []):
                watchers[team["team_id"]].add(user_id)
    kinds = list(Flag.BREACH_KINDS | Flag.MONTH_KINDS)
    for row in open_flags.filter(team_id__in=watchers, kind__in=kinds).values(*fields):
        wanted = Role.MARKETING if row["kind"] in Flag.MONTH_KINDS else Role.SALES_MANAGER
        for user_id in watchers[row["team_id"]]:
            if people[user_id]["role"] == wanted and row["owner_id"] != user_id:
                items[user_id].append(_flag_line(row))
    reps = [uid for uid, person in people.items() if person["role"] == Role.SALES]
    late = Clock.objects.filter(lead__owner_id__in=reps).filter(at_risk_q(at) | overdue_q(at))
    late = late.annotate(overdue=ExpressionWrapper(overdue_q(at), output_field=BooleanField()))
    fields = ("lead__owner_id", "lead_id", "kind", "due_at", "overdue")
    for row in late.order_by("due_at").values(*fields):
        owner = row["lead__owner_id"]
        state = "breached" if row["overdue"] else "at risk"
        what = Clock.Kind(row["kind"]).label.lower()
        when = local_text(row["due_at"], zones[owner])
        items[owner].append(f"- lead #{row['lead_id']}: {what} due {when} ({state})")
    return items


def digest_queue(*, at: datetime) -> int:
    """Queue today's digest for each person whose working day has begun; once a day each.

    Only what needs the person's action is listed: their open flags, the open flags
    they answer for (a sales manager's team breaches, marketing's month flags), and for
    reps the leads whose clocks are at risk or breached. Nothing to list, no digest.
    """
    people = {
        row["id"]: row
        for row in User.objects.filter(is_active=True, role__in=DIGEST_ROLES)
        .exclude(email="")
        .values("id", "username", "role", "email")
    }
    teams_of = defaultdict(list)
    for row in Team.members.through.objects.filter(user_id__in=people).values(
        "user_id", "team_id", "team__calendar_id"
    ):
        teams_of[row["user_id"]].append(row)
    for user_id in people:
        teams_of.setdefault(user_id, [])
    calendars = _Calendars(row["team__calendar_id"] for rows in teams_of.values() for row in rows)
    mornings = _people_mornings(at, calendars, teams_of)
    keys = {
        user_id: f"digest:{user_id}:{day.isoformat()}" for user_id, (day, _) in mornings.items()
    }
    done = set(Notification.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    due = {user_id: people[user_id] for user_id, key in keys.items() if key not in done}
    if not due:
        return 0
    zones = {user_id: mornings[user_id][1] for user_id in due}
    items = _digest_items(people=due, teams_of=teams_of, at=at, zones=zones)
    rows = []
    for user_id, lines in items.items():
        if not lines:
            continue
        shown = lines[:DIGEST_MAX_LINES]
        if len(lines) > len(shown):
            shown.append(f"... and {len(lines) - len(shown)} more")
        day = mornings[user_id][0]
        rows.append(
            Notification(
                key=keys[user_id],
                channel=Notification.Channel.EMAIL,
                recipient_id=user_id,
                address=due[user_id]["email"],
                subject=f"[slaops] {day:%a %d %b}: {len(lines)} item(s) need your action",
                body="\n".join(["Needs your action today:", "", *shown]),
                not_before=at,
                created_at=at,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
