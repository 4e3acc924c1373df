"""The sender: claims due deliveries one row at a time, posts each signed, and records
its answer right after it (never after a batch).

- a row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and leased (`sending`, next
  attempt pushed past the lease), so two senders never post it at once and a crashed
  sender's row is taken again after the lease;
- 2xx delivers; network errors, timeouts, 5xx and 429 retry after the next step of
  WEBHOOK_RETRY_SCHEDULE with full jitter; any other answer, or the schedule exhausted,
  fails the delivery; the same webhook-id goes on every attempt (at-least-once);
- an endpoint whose last WEBHOOK_DISABLE_AFTER_FAILURES events all failed, or that has
  failed without a success for a day, is disabled and the active admins are told.
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.models import Role, User
from integrations.addresses import UnsafeUrl
from integrations.models import Event, WebhookDelivery, WebhookEndpoint
from integrations.signing import secrets_of, signature
from integrations.transport import post
from sla.models import Notification

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
FAILING_FOR = timedelta(days=1)
RETRY_STATUSES = {408, 425, 429}


def envelope(event: Event) -> bytes:
    """The body sent: the Standard Webhooks envelope of the event."""
    body = {
        "id": event.id,
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(endpoint: WebhookEndpoint, *, event_id: str, body: bytes, at: datetime) -> dict:
    timestamp = int(at.timestamp())
    signatures = [
        signature(secret, message_id=event_id, timestamp=timestamp, body=body)
        for secret in secrets_of(endpoint, at=at)
    ]
    return {
        "Content-Type": "application/json",
        "User-Agent": "slaops-webhooks/1",
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def retry_delay(attempts: int) -> timedelta | None:
    """How long after the `attempts`-th failed attempt to try again (full jitter below the
    schedule's step), or None once the schedule is exhausted."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    return timedelta(seconds=random.uniform(0, schedule[attempts - 1]))  # noqa: S311


def _claim(*, at: datetime, skip: set[int]) -> WebhookDelivery | None:
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            state__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.SENDING],
            next_attempt_at__lte=at,
            endpoint__active=True,
        ).exclude(pk__in=skip)
        row = (
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "id")
            .first()
        )
        if row is None:
            return None
        row.state, row.next_attempt_at = WebhookDelivery.State.SENDING, at + LEASE
        row.save(update_fields=["state", "next_attempt_at"])
    return row


def delivery_attempt(*, delivery: WebhookDelivery, at: datetime) -> WebhookDelivery:
    """Post one claimed delivery once and record the answer."""
    endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id)
    event = Event.objects.get(pk=delivery.event_id)
    body = envelope(event)
    headers = signed_headers(endpoint, event_id=event.id, body=body, at=at)
    status, error, retry, milliseconds = None, "", True, None
    if not headers["webhook-signature"]:  # encrypted under another SECRET_KEY
        error = "refused: the secret cannot be read (SECRET_KEY changed?); rotate it"
        return _record(delivery, endpoint, status=None, error=error, retry=False, ms=None, at=at)
    try:
        answer = post(endpoint.url, body=body, headers=headers)
        status, milliseconds = answer.status, answer.milliseconds
        if not 200 <= status < 300:
            error = f"HTTP {status}"
            retry = status >= 500 or status in RETRY_STATUSES
    except UnsafeUrl as exc:
        error, retry = f"refused: {exc}", False
    except OSError as exc:  # refused, reset, timed out, TLS
        error = f"{exc.__class__.__name__}: {exc}"[:500]
    return _record(
        delivery, endpoint, status=status, error=error, retry=retry, ms=milliseconds, at=at
    )


def _record(delivery, endpoint, *, status, error, retry, ms, at) -> WebhookDelivery:
    delivery.attempts += 1
    delivery.sent_at, delivery.last_status_code, delivery.response_ms = at, status, ms
    delivery.last_error = error[:500]
    if not error:
        delivery.state, delivery.delivered_at = WebhookDelivery.State.DELIVERED, at
    else:
        delay = retry_delay(delivery.attempts) if retry else None
        if delay is None:
            delivery.state = WebhookDelivery.State.FAILED
        else:
            delivery.state, delivery.next_attempt_at = WebhookDelivery.State.PENDING, at + delay
    with transaction.atomic():
        delivery.save()
        _endpoint_health(endpoint, delivery=delivery, at=at)
    return delivery


def _endpoint_health(endpoint: WebhookEndpoint, *, delivery: WebhookDelivery, at) -> None:
    if delivery.state == WebhookDelivery.State.DELIVERED:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=0, failing_since=None
        )
        return
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.failing_since is None:
        endpoint.failing_since = at
    if delivery.state == WebhookDelivery.State.FAILED:
        endpoint.consecutive_failures += 1
    reason = ""
    if endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        reason = (
            f"The last {endpoint.consecutive_failures} events all failed ({delivery.last_error})."
        )
    elif at - endpoint.failing_since >= FAILING_FOR:
        reason = f"Failing since {endpoint.failing_since.isoformat()} ({delivery.last_error})."
    if reason and endpoint.active:
        endpoint_disable(endpoint=endpoint, reason=reason, at=at)
    else:
        endpoint.save(update_fields=["failing_since", "consecutive_failures"])


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, at: datetime) -> None:
    """Stop sending to the endpoint and tell every active admin with an e-mail (the
    outbox's sender sends it: sla.notify.outbox)."""
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, at, reason[:300]
    endpoint.save()
    admins = (
        User.objects.filter(is_active=True)
        .filter(Q(role=Role.ADMIN) | Q(is_superuser=True))
        .exclude(email="")
    )
    Notification.objects.bulk_create(
        [
            Notification(
                key=f"webhook-disabled:{endpoint.pk}:{at.isoformat()}:{admin.pk}"[:200],
                channel=Notification.Channel.EMAIL,
                recipient=admin,
                address=admin.email,
                subject=f"[slaops] Webhook disabled: {endpoint.url}"[:300],
                body=(
                    f"slaops stopped sending events to {endpoint.url}.\n\n{reason}\n\n"
                    "Fix the receiver, then enable the endpoint again on the Integrations page."
                ),
                not_before=at,
                created_at=at,
            )
            for admin in admins
        ],
        ignore_conflicts=True,
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)


def webhooks_send(*, at: datetime, budget_seconds: float = 40.0, limit: int = 500) -> int:
    """Send due deliveries until none is due, `limit` were tried or the budget is spent;
    returns how many were tried. Each row is claimed, posted and recorded on its own."""
    started, tried = time.monotonic(), set()
    while len(tried) < limit and time.monotonic() - started < budget_seconds:
        row = _claim(at=at, skip=tried)  # each row once a pass, however soon its retry
        if row is None:
            break
        try:
            delivery_attempt(delivery=row, at=at)
        except Exception:  # one poisoned row must not stop the others
            logger.exception("webhook delivery %s failed to send", row.pk)
            WebhookDelivery.objects.filter(pk=row.pk).update(
                state=WebhookDelivery.State.PENDING, next_attempt_at=at + LEASE
            )
        tried.add(row.pk)
    return len(tried)


def deliveries_prune(*, before: datetime) -> int:
    """Forget finished deliveries made before `before`, and events left with none."""
    deleted, _ = WebhookDelivery.objects.filter(
        created_at__lt=before,
        state__in=[WebhookDelivery.State.DELIVERED, WebhookDelivery.State.FAILED],
    ).delete()
    Event.objects.filter(created_at__lt=before, deliveries__isnull=True).delete()
    return deleted
