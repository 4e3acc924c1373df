"""The change feed: what happened since the last pass, as events, fanned out to the
endpoints that want them. Nothing in leads or sla calls it; it reads their rows.

`events_collect(at=...)`, each minute:

1. per event type, read the rows whose time column lies after the type's cursor minus
   LOOKBACK (a transaction may commit a little after the instant it stamped) and not
   after `at`; one query per source table, none at all for a type no endpoint wants;
2. make each row an event with a stable id (`evt_flag.raised_123`), so reading it again
   makes the same event: one INSERT of the lot, ignoring the ones already there;
3. one INSERT of a delivery per (endpoint, event) for the active endpoints subscribed to
   the type and created before the event, ignoring those already there (unique);
4. move every cursor to `at` in one statement.

Running it twice, or in two workers at once, makes no second event and no second
delivery. The cost is O(new events): the time columns read are indexed
(integrations/migrations/0002_feed_indexes.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from integrations.models import EVENT_NAMES, Event, EventCursor, WebhookDelivery, WebhookEndpoint
from leads.models import Lead, OwnerChange
from sla.models import AgreementVersion, Flag, MonthlyCommitment

LOOKBACK = timedelta(minutes=10)
# How long after a flag was noticed its resolution may still be dated before the window.
RESOLVED_HORIZON = timedelta(days=3)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _window(cursors: dict[str, datetime], kind: str, at: datetime) -> tuple[datetime, datetime]:
    return cursors.get(kind, at) - LOOKBACK, at


def _leads(low: datetime, high: datetime) -> list[dict]:
    return list(
        Lead.objects.filter(created_at__gt=low, created_at__lte=high).values(
            "id",
            "email",
            "external_id",
            "received_at",
            "created_at",
            "qualifies",
            "score",
            "team_id",
            "assigned_at",
            "terms__agreement_id",
            "stage__slug",
            "owner__username",
            "duplicate_of_id",
        )
    )


def lead_delivered(row: dict) -> Event:
    return _event(
        "lead.delivered",
        f"lead.delivered_{row['id']}",
        row["created_at"],
        {
            "lead": row["id"],
            "email": row["email"],
            "external_id": row["external_id"],
            "received_at": _iso(row["received_at"]),
            "agreement": row["terms__agreement_id"],
            "qualifies": row["qualifies"],
            "score": row["score"],
            "stage": row["stage__slug"],
            "team": row["team_id"],
            "owner": row["owner__username"],
            "duplicate_of": row["duplicate_of_id"],
        },
    )


def _initial_assignments(rows: list[dict]) -> list[Event]:
    # Delivery assigns round robin without an OwnerChange row: the first owner is the lead's.
    return [
        _event(
            "lead.assigned",
            f"lead.assigned_{row['id']}_initial",
            row["created_at"],
            {
                "lead": row["id"],
                "from": None,
                "to": row["owner__username"],
                "at": _iso(row["assigned_at"] or row["created_at"]),
                "by": None,
                "reason": "round_robin",
            },
        )
        for row in rows
        if row["owner__username"]
    ]


def _owner_changes(low: datetime, high: datetime) -> list[Event]:
    rows = OwnerChange.objects.filter(at__gt=low, at__lte=high).values(
        "id",
        "lead_id",
        "at",
        "reason",
        "from_owner__username",
        "to_owner__username",
        "by__username",
    )
    return [
        _event(
            "lead.assigned",
            f"lead.assigned_{row['lead_id']}_{row['id']}",
            row["at"],
            {
                "lead": row["lead_id"],
                "from": row["from_owner__username"],
                "to": row["to_owner__username"],
                "at": _iso(row["at"]),
                "by": row["by__username"],
                "reason": row["reason"],
            },
        )
        for row in rows
    ]


FLAG_FIELDS = ("id", "kind", "state", "raised_at", "due_at", "noticed_at", "lead_id")
FLAG_FIELDS += ("agreement_id", "month", "owner__username", "detail", "resolved_at")
FLAG_FIELDS += ("resolved_by__username", "resolution_note")


def _flag_data(row: dict) -> dict:
    return {
        "flag": row["id"],
        "kind": row["kind"],
        "state": row["state"],
        "raised_at": _iso(row["raised_at"]),
        "due_at": _iso(row["due_at"]),
        "lead": row["lead_id"],
        "agreement": row["agreement_id"],
        "month": row["month"],
        "owner": row["owner__username"],
        "detail": row["detail"],
    }


def _flags_raised(low: datetime, high: datetime) -> list[Event]:
    rows = Flag.objects.filter(noticed_at__gt=low, noticed_at__lte=high).values(*FLAG_FIELDS)
    return [
        _event("flag.raised", f"flag.raised_{row['id']}", row["noticed_at"], _flag_data(row))
        for row in rows
    ]


def _flags_resolved(low: datetime, high: datetime) -> list[Event]:
    # A clock stopped by a touch logged late resolves its flag as of the touch, which may
    # lie before the window: resolved flags noticed lately are read again, those already
    # made events skipped (one lookup of their ids).
    rows = list(
        Flag.objects.filter(
            Q(resolved_at__gt=low)
            | Q(noticed_at__gt=high - RESOLVED_HORIZON, state=Flag.State.RESOLVED),
            resolved_at__lte=high,
        ).values(*FLAG_FIELDS)
    )
    made = set(
        Event.objects.filter(
            id__in=[f"evt_flag.resolved_{row['id']}" for row in rows if row["resolved_at"] <= low]
        ).values_list("id", flat=True)
    )
    rows = [row for row in rows if f"evt_flag.resolved_{row['id']}" not in made]
    return [
        _event(
            "flag.resolved",
            f"flag.resolved_{row['id']}",
            row["resolved_at"],
            {
                **_flag_data(row),
                "resolved_at": _iso(row["resolved_at"]),
                "resolved_by": row["resolved_by__username"],
                "note": row["resolution_note"],
            },
        )
        for row in rows
    ]


def _verdicts(low: datetime, high: datetime) -> list[Event]:
    rows = Lead.objects.filter(verdict_at__gt=low, verdict_at__lte=high).values(
        "id",
        "verdict",
        "verdict_at",
        "verdict_by__username",
        "verdict_reason__code",
        "verdict_note",
    )
    return [
        _event(
            "lead.verdict",
            # A verdict may be given again (a dispute overturned): each instant is an event.
            f"lead.verdict_{row['id']}_{int(row['verdict_at'].timestamp() * 1_000_000)}",
            row["verdict_at"],
            {
                "lead": row["id"],
                "verdict": row["verdict"],
                "at": _iso(row["verdict_at"]),
                "by": row["verdict_by__username"],
                "reason": row["verdict_reason__code"],
                "note": row["verdict_note"],
            },
        )
        for row in rows
    ]


def _commitments(low: datetime, high: datetime) -> list[Event]:
    rows = MonthlyCommitment.objects.filter(logged_at__gt=low, logged_at__lte=high).values(
        "id", "agreement_id", "month", "quota", "note", "logged_at", "logged_by__username"
    )
    return [
        _event(
            "commitment.logged",
            f"commitment.logged_{row['id']}_{int(row['logged_at'].timestamp() * 1_000_000)}",
            row["logged_at"],
            {
                "agreement": row["agreement_id"],
                "month": row["month"],
                "quota": row["quota"],
                "note": row["note"],
                "logged_at": _iso(row["logged_at"]),
                "by": row["logged_by__username"],
            },
        )
        for row in rows
    ]


def _agreement_versions(low: datetime, high: datetime) -> list[Event]:
    rows = AgreementVersion.objects.filter(created_at__gt=low, created_at__lte=high).values(
        "id", "agreement_id", "version", "created_at", "created_by__username"
    )
    return [
        _event(
            "agreement.signed",
            f"agreement.signed_{row['id']}",
            row["created_at"],
            {
                "agreement": row["agreement_id"],
                "version": row["version"],
                "signed_at": _iso(row["created_at"]),
                "by": row["created_by__username"],
            },
        )
        for row in rows
    ]


def _event(kind: str, key: str, occurred_at: datetime, data: dict) -> Event:
    return Event(id=f"evt_{key}", type=kind, occurred_at=occurred_at, payload=data)


def _wanted(endpoints: list[WebhookEndpoint]) -> set[str]:
    return {kind for endpoint in endpoints for kind in endpoint.events}


def events_collect(*, at: datetime) -> int:
    """Turn what happened up to `at` into events and deliveries; returns how many
    (endpoint, event) pairs were offered (those already there are kept, not doubled)."""
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    wanted = _wanted(endpoints)
    cursors = dict(EventCursor.objects.values_list("type", "position"))
    events: list[Event] = []
    if {"lead.delivered", "lead.assigned"} & wanted:
        rows = _leads(*_window(cursors, "lead.delivered", at))
        if "lead.delivered" in wanted:
            events += [lead_delivered(row) for row in rows]
        if "lead.assigned" in wanted:
            events += _initial_assignments(rows)
            events += _owner_changes(*_window(cursors, "lead.assigned", at))
    readers = {
        "flag.raised": _flags_raised,
        "flag.resolved": _flags_resolved,
        "lead.verdict": _verdicts,
        "commitment.logged": _commitments,
        "agreement.signed": _agreement_versions,
    }
    for kind, read in readers.items():
        if kind in wanted:
            events += read(*_window(cursors, kind, at))
    with transaction.atomic():
        written = events_fan_out(events=events, endpoints=endpoints, at=at)
        EventCursor.objects.bulk_create(
            [EventCursor(type=kind, position=at) for kind in EVENT_NAMES],
            update_conflicts=True,
            unique_fields=["type"],
            update_fields=["position"],
        )
    return written


def events_fan_out(*, events: list[Event], endpoints: list[WebhookEndpoint], at: datetime) -> int:
    """Store the events (those already stored stay as they are) and a delivery of each
    to every endpoint subscribed to its type that existed when it happened."""
    if not events:
        return 0
    for event in events:
        event.created_at = at
    Event.objects.bulk_create(events, ignore_conflicts=True, batch_size=500)
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.pk, event_id=event.id, next_attempt_at=at, created_at=at
        )
        for event in events
        for endpoint in endpoints
        if event.type in endpoint.events and event.occurred_at >= endpoint.created_at
    ]
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=500)
    return len(deliveries)
