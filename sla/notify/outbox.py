"""The sender: claims due outbox rows, sends each with its key as idempotency key, and
marks it sent, or puts it back with a backoff until it has failed MAX_ATTEMPTS times.
A crash between flagging and sending loses nothing.

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

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F

from sla.models import Notification

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
WEBHOOK_TIMEOUT_SECONDS = 5
# A row claimed for sending is someone's for this long; after it, a crashed sender's
# rows are claimed again (see notifications_reclaim).
SENDING_LEASE = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 minutes after the 1st..4th failure."""
    return timedelta(minutes=2 ** max(0, attempts - 1))


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

# The rule of sla.notify.recipients.notifications_queue for breach flags (which go at
# once, so no calendar is needed), as CTEs following a `flags` CTE of new flags rows.
# tests/sla/test_checks_setbased.py holds the rows equal to notifications_queue's.
# Parameters: %(at)s, %(flag_kind)s and %(kind_label)s (the kind's display name).
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
