"""The daily digest: once a working day, what needs each person's action; and its
one-click unsubscribe (a signed link in every digest)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core import signing
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef

from accounts.models import NotificationPreference, Role, Team, User
from calendars.engine import is_working
from core.timeparse import local_text
from sla.models import Clock, Flag, Notification, at_risk_q, overdue_q
from sla.notify.recipients import DEFAULT_PREFERENCE, Calendars, preferences_for

DIGEST_ROLES = (Role.SALES, Role.SALES_MANAGER, Role.MARKETING)
DIGEST_MAX_LINES = 50
# A person's "no daily digest" is a NotificationPreference row of this kind with e-mail
# off: the per-kind rows already hold each person's e-mail choices, and no row keeps
# meaning "the default" (the digest on). The settings form leaves the row alone.
DIGEST_KIND = "daily_digest"
UNSUBSCRIBE_SALT = "slaops.digest.unsubscribe"


def _people_mornings(at: datetime, calendars: Calendars, teams_of: dict) -> dict[int, tuple]:
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
    """{user id: [lines]} of what needs each person's action, from five queries; a kind
    whose e-mail the person turned off is left out."""
    items: dict = defaultdict(list)
    preferences = preferences_for(people)

    def wants(user_id, kind) -> bool:  # e-mail not turned off for this kind
        return preferences.get((user_id, kind), DEFAULT_PREFERENCE)[0] != "off"

    open_flags = Flag.objects.filter(state=Flag.State.OPEN).order_by("raised_at", "id")
    fields = ("id", "kind", "detail", "lead_id", "owner_id", "team_id")
    for row in open_flags.filter(owner_id__in=people).values(*fields):
        if wants(row["owner_id"], row["kind"]):
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
            mine = people[user_id]["role"] == wanted and row["owner_id"] != user_id
            if mine and wants(user_id, row["kind"]):
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
        .exclude(Exists(_digest_off().filter(user=OuterRef("pk"))))
        .values("id", "username", "role", "email")
    }
    teams_of = defaultdict(list)
    for row in Team.members.through.objects.filter(user_id__in=people).values(
        "user_id", "team_id", "team__calendar_id"
    ):
        teams_of[row["user_id"]].append(row)
    for user_id in people:
        teams_of.setdefault(user_id, [])
    calendars = Calendars(row["team__calendar_id"] for rows in teams_of.values() for row in rows)
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


def _digest_off():
    return NotificationPreference.objects.filter(
        kind=DIGEST_KIND, email=NotificationPreference.Email.OFF
    )


def unsubscribe_token(user_id: int) -> str:
    """The signed token of a person's unsubscribe link; it never expires (an old digest's
    link still works) and names nobody else."""
    return signing.dumps({"user": user_id}, salt=UNSUBSCRIBE_SALT, compress=False)


def digest_token_user(token: str) -> User | None:
    """The active person a token was signed for; None when it is forged or tampered."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    user_id = data.get("user") if isinstance(data, dict) else None
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(id=user_id, is_active=True).first()


def digest_is_off(*, user_id: int) -> bool:
    return _digest_off().filter(user_id=user_id).exists()


def digest_unsubscribe(*, user_id: int) -> bool:
    """Turn the person's daily digest off; False when it already was. A digest queued
    for them and not yet sent is skipped."""
    if digest_is_off(user_id=user_id):
        return False
    NotificationPreference.objects.update_or_create(
        user_id=user_id,
        kind=DIGEST_KIND,
        defaults={"email": NotificationPreference.Email.OFF, "chat": False},
    )
    Notification.objects.filter(
        recipient_id=user_id, key__startswith="digest:", state=Notification.State.PENDING
    ).update(state=Notification.State.SKIPPED)
    return True
