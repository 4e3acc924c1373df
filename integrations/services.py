"""Endpoints and sources: create, edit, rotate the secret, send a test event. The API and
the Integrations page both call these."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.addresses import UnsafeUrl, url_addresses
from integrations.models import (
    EVENT_NAMES,
    TEST_EVENT,
    Event,
    EventSource,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.sender import delivery_attempt
from integrations.signing import secret_encrypt, secret_new

PREVIOUS_SECRET_VALID = timedelta(hours=24)


def url_check(url: str) -> str:
    """The URL, stripped, if slaops may post to it; ValidationError naming `url` if not."""
    url = (url or "").strip()
    try:
        url_addresses(url)
    except UnsafeUrl as exc:
        raise ValidationError({"url": str(exc)}) from exc
    return url


def events_check(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": "Name at least one event type."})
    unknown = [name for name in events if name not in EVENT_NAMES]
    if unknown:
        raise ValidationError(
            {"events": f"Unknown event types {unknown}; known: {', '.join(EVENT_NAMES)}."}
        )
    return sorted(set(events), key=EVENT_NAMES.index)


def endpoint_create(
    *, url: str, events: list[str], description: str = "", active: bool = True, by, at: datetime
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (the only time the secret is seen)."""
    secret = secret_new()
    endpoint = WebhookEndpoint.objects.create(
        url=url_check(url),
        events=events_check(events),
        description=description,
        active=active,
        secret_encrypted=secret_encrypt(secret),
        created_by=by,
        created_at=at,
    )
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, changes: dict, at: datetime) -> WebhookEndpoint:
    """Edit url, events, description or active; enabling again clears the failure count."""
    if "url" in changes:
        endpoint.url = url_check(changes["url"])
    if "events" in changes:
        endpoint.events = events_check(changes["events"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "active" in changes:
        if changes["active"] and not endpoint.active:
            endpoint.consecutive_failures, endpoint.failing_since = 0, None
            endpoint.disabled_at, endpoint.disabled_reason = None, ""
        endpoint.active = bool(changes["active"])
    endpoint.save()
    return endpoint


@transaction.atomic
def secret_rotate(*, owner: WebhookEndpoint | EventSource, at: datetime) -> str:
    """A new secret for an endpoint or a source; the previous one stays valid for 24 hours
    (outbound: both sign; inbound: both verify)."""
    owner = type(owner).objects.select_for_update().get(pk=owner.pk)
    secret = secret_new()
    owner.previous_secret_encrypted = owner.secret_encrypted
    owner.previous_secret_expires_at = at + PREVIOUS_SECRET_VALID
    owner.secret_encrypted = secret_encrypt(secret)
    owner.save()
    return secret


def endpoint_test(*, endpoint: WebhookEndpoint, by, at: datetime) -> WebhookDelivery:
    """Send a `webhook.test` event to the endpoint now, once; a failure retries on the
    usual schedule. Returns the delivery as it stands after the attempt."""
    event = Event.objects.create(
        id=f"evt_webhook.test_{secrets.token_hex(8)}",
        type=TEST_EVENT,
        occurred_at=at,
        payload={"endpoint": endpoint.pk, "by": getattr(by, "username", None)},
        created_at=at,
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        state=WebhookDelivery.State.SENDING,
        next_attempt_at=at + timedelta(minutes=2),
        created_at=at,
    )
    return delivery_attempt(delivery=delivery, at=at)


def source_create(*, name: str, agreement, user, at: datetime) -> tuple[EventSource, str]:
    """A new event source and its secret (the only time the secret is seen)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the source."})
    if EventSource.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A source named {name!r} exists."})
    secret = secret_new()
    source = EventSource.objects.create(
        name=name,
        agreement=agreement,
        user=user,
        secret_encrypted=secret_encrypt(secret),
        created_at=at,
    )
    return source, secret
