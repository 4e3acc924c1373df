"""The sender: claims due outbox rows a few at a time, sends each with its key as
idempotency key, and marks each sent in its own statement the moment the mail server or
webhook accepted it, or puts it back with a backoff until it has failed MAX_ATTEMPTS
times. The message itself (HTML e-mail, Slack blocks, a Teams card) is built at send
time from the row and its flag by sla.notify.render.

What a crash costs: a sender killed mid-pass (SIGKILL, a lost broker, a time limit)
leaves every message it handed over marked sent, so nothing is sent twice, except the
one message in flight at the kill: it may have reached the mail server before the row
was marked, and it goes out again once its lease runs out. The rows it had claimed but
not begun go back to pending at once when it is stopped by an exception; after a
SIGKILL they wait out the same lease (`NOTIFICATION_LEASE_SECONDS`, 2 minutes). Every
pass first reclaims expired leases, so they go out once within a pass of it.

Also BREACH_OUTBOX: the outbox rows of breach flags as SQL, for the set-based checks
(sla/checks/setbased.py) to queue them in the statement that raises the flags.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.request
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.db.models import F

from sla.models import Notification
from sla.notify.render import About, about_rows, chat_payload, email_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 5
# Rows claimed by one statement. Few, so that a batch is sent well inside its lease even
# when every message takes its whole timeout (5 x 10 s against 120 s).
CLAIM_BATCH = 5


def sending_lease() -> timedelta:
    """How long a claimed row is its sender's; after it, a crashed sender's rows are
    claimed again (see notifications_reclaim)."""
    return timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 minutes after the 1st..4th failure."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


def message_id(row: Notification) -> str:
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:32]
    return f"<{digest}@slaops>"


def _send_email(row: Notification, about: About) -> None:
    email = email_for(row, about)
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.address],
        headers={"Message-ID": message_id(row), "X-Slaops-Key": row.key, **email.headers},
    )
    message.attach_alternative(email.html, "text/html")
    message.send(fail_silently=False)


def _send_chat(row: Notification, about: About) -> None:
    if not row.address.startswith(("https://", "http://")):
        raise ValueError(f"not a web address: {row.address!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        row.address,
        data=json.dumps(chat_payload(row, about)).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": row.key},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


SENDERS = {Notification.Channel.EMAIL: _send_email, Notification.Channel.CHAT: _send_chat}

BREACH_OUTBOX = r"""
, recipients AS (  -- the owner, and the sales managers of the flag's team
    SELECT f.id AS flag_id, f.owner_id AS user_id FROM flags f WHERE f.owner_id IS NOT NULL
    UNION
    SELECT f.id, m.user_id FROM flags f
    JOIN accounts_team_members m ON m.team_id = f.team_id
    JOIN accounts_user mu ON mu.id = m.user_id AND mu.role = 'sales_manager'
), choices AS (  -- each person's preference for the kind, else e-mail at once and chat
    SELECT r.flag_id, u.id AS user_id, u.username, u.email, u.is_active,
           COALESCE(p.email, 'at_once') AS email_choice, COALESCE(p.chat, true) AS chat
    FROM recipients r
    JOIN accounts_user u ON u.id = r.user_id
    LEFT JOIN accounts_notificationpreference p
      ON p.user_id = r.user_id AND p.kind = %(flag_kind)s
), audience AS (  -- per flag: who it concerns, and who of them wants it on the chat
    SELECT c.flag_id, count(*) AS people,
           string_agg(c.username, ', ' ORDER BY c.username COLLATE "C")
             FILTER (WHERE c.chat AND c.is_active) AS names
    FROM choices c GROUP BY c.flag_id
), messages AS (
    SELECT f.id, f.detail, f.month, o.username AS owner_name, team.chat_webhook_url AS url,
           'lead #' || f.lead_id || ' ' || label.text AS about,
           who.names, COALESCE(who.people, 0) AS people
    FROM flags f
    CROSS JOIN LATERAL (
        SELECT CASE WHEN l.company <> '' THEN n.name || ' (' || l.company || ')' ELSE n.name END
        FROM leads_lead l
        CROSS JOIN LATERAL (
            SELECT COALESCE(NULLIF(btrim(l.first_name || ' ' || l.last_name, E' \t\n\r\f\v'),
                                   ''), l.email) AS name
        ) n
        WHERE l.id = f.lead_id OFFSET 0
    ) label(text)
    LEFT JOIN accounts_user o ON o.id = f.owner_id
    LEFT JOIN accounts_team team ON team.id = f.team_id
    LEFT JOIN audience who ON who.flag_id = f.id
), outbox AS (
    INSERT INTO sla_notification (key, channel, state, flag_id, recipient_id, address, subject,
                                  body, not_before, attempts, last_error, created_at, sent_at)
    SELECT m.id || ':email:' || c.user_id, 'email', 'pending', m.id, c.user_id, c.email,
           left('[slaops] ' || %(kind_label)s || ': ' || m.about, 300),
           m.detail || E'\n\nFlag #' || m.id || ', ' || m.month || ', ' || m.about
             || COALESCE(E'\nOwner: ' || m.owner_name, ''),
           %(at)s, 0, '', %(at)s, NULL::timestamptz
    FROM messages m
    JOIN choices c ON c.flag_id = m.id
    WHERE c.email_choice = 'at_once' AND c.email <> '' AND c.is_active
    UNION ALL
    SELECT left(m.id || ':chat:' || m.url, 200), 'chat', 'pending', m.id, NULL::bigint, m.url,
           left('[slaops] ' || %(kind_label)s || ': ' || m.about, 300),
           '*' || %(kind_label)s || '*: ' || m.detail
             || COALESCE(' (owner: ' || m.owner_name || ')', '')
             || COALESCE(' For: ' || m.names || '.', ''),
           %(at)s, 0, '', %(at)s, NULL::timestamptz
    FROM messages m
    WHERE m.url <> '' AND (m.names IS NOT NULL OR m.people = 0)
    ON CONFLICT (key) DO NOTHING
)
"""


_CLAIM = """
UPDATE sla_notification
SET state = 'sending', attempts = attempts + 1, not_before = %(lease_end)s
WHERE state = 'pending' AND id {among} (
    SELECT id FROM sla_notification
    WHERE state = 'pending' AND not_before <= %(at)s
    ORDER BY not_before, id
    LIMIT %(limit)s {lock}
){close}
RETURNING id
"""


def _claim(*, at: datetime, limit: int) -> list[Notification]:
    """Claim up to `limit` due rows in one statement; the rows, oldest first.

    On PostgreSQL concurrent senders skip each other's locked rows, and `= ANY(ARRAY(..))`
    picks the rows once (PostgreSQL may run an `IN (.. LIMIT ..)` subquery again for
    each candidate and so claim more than the limit); SQLite runs one writing statement
    at a time. Either way a row is claimed by exactly one sender.
    """
    if connection.vendor == "postgresql":
        sql = _CLAIM.format(among="= ANY(ARRAY", lock="FOR UPDATE SKIP LOCKED", close=")")
    else:
        sql = _CLAIM.format(among="IN", lock="", close="")
    instant = connection.ops.adapt_datetimefield_value  # SQLite stores UTC text
    params = {"at": instant(at), "lease_end": instant(at + sending_lease()), "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row_id for (row_id,) in cursor.fetchall()]
    rows = Notification.objects.filter(id__in=ids, state=Notification.State.SENDING)
    return list(rows.order_by("not_before", "id"))


def _send_one(row: Notification, about: About, *, at: datetime, outcome: dict) -> None:
    """Send one claimed row and record at once what came of it."""
    mine = Notification.objects.filter(id=row.id, state=Notification.State.SENDING)
    try:
        SENDERS[row.channel](row, about)
    except SoftTimeLimitExceeded:
        raise  # the task is being stopped: leave the row in flight, as a kill would
    except Exception as exc:  # any transport error: keep the row and say why
        logger.warning("notification %s failed (attempt %s): %s", row.key, row.attempts, exc)
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            mine.update(state=Notification.State.FAILED, last_error=error)
            outcome["failed"] += 1
        else:
            next_try = at + backoff(row.attempts)
            mine.update(state=Notification.State.PENDING, last_error=error, not_before=next_try)
            outcome["retry"] += 1
    else:
        # Its own committed statement, before the next send: what the provider accepted
        # is never sent again.
        mine.update(state=Notification.State.SENT, sent_at=at, last_error="")
        outcome["sent"] += 1


def _release(ids: list[int], *, at: datetime) -> int:
    """Claimed rows never begun go back to pending untouched."""
    return Notification.objects.filter(id__in=ids, state=Notification.State.SENDING).update(
        state=Notification.State.PENDING, attempts=F("attempts") - 1, not_before=at
    )


def notifications_send(
    *, at: datetime, limit: int = 100, budget_seconds: float | None = None
) -> dict[str, int]:
    """Send up to `limit` due outbox rows; return how many were sent, retried, given up,
    put back.

    1. Reclaim the rows of senders that died (their lease ran out).
    2. Claim a few due rows (one statement), render them (a few queries per batch).
    3. Send each and mark it at once (see the module docstring for what a crash costs).
    4. With `budget_seconds`, rows not reached in time (slow webhooks) go back to pending
       untouched, so a task never outlives its time limit holding claimed rows; so do
       a batch's unbegun rows when the sender is stopped by an exception.
    """
    outcome = {"sent": 0, "retry": 0, "failed": 0, "deferred": 0}
    started = time.monotonic()
    notifications_reclaim(at=at)
    claimed = 0
    while claimed < limit:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            break
        batch = _claim(at=at, limit=min(CLAIM_BATCH, limit - claimed))
        if not batch:
            break
        claimed += len(batch)
        waiting = list(batch)
        try:
            abouts = about_rows(batch)
            while waiting:
                if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                    outcome["deferred"] += _release([r.id for r in waiting], at=at)
                    waiting = []
                    break
                row = waiting.pop(0)
                _send_one(row, abouts[row.id], at=at, outcome=outcome)
        finally:
            if waiting:  # stopped mid-batch: the unbegun rows need not wait for the lease
                try:
                    _release([r.id for r in waiting], at=at)
                except Exception:
                    logger.exception("could not put back %s claimed notifications", len(waiting))
    return outcome


def notifications_reclaim(*, at: datetime) -> int:
    """Rows a sender claimed and never finished (it crashed) go back to pending, once
    their lease ran out; a row whose sender died MAX_ATTEMPTS times is given up (it may
    be what kills the sender)."""
    stale = Notification.objects.filter(state=Notification.State.SENDING, not_before__lte=at)
    stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        state=Notification.State.FAILED, last_error="the sender stopped while sending it"
    )
    return stale.update(state=Notification.State.PENDING)
