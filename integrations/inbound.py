"""Inbound events: a signed batch from another system, each event applied through sla's
actions and answered on its own.

The request is refused whole, writing nothing, when it is too large (413), unsigned or
signed by no active source's secret (401), stamped more than five minutes away from
now (400), a webhook-id the source already sent (409), not JSON, not
`{"events": [...]}` or more than MAX_EVENTS events (400). Then each event:

- `touch`: logged by `sla.actions.lead_touch`, recorded as by the lead's owner (the
  source's user for a lead no one owns);
- `stage`: moved by `sla.actions.lead_move_stage`, as by the source's user;
- `lead`: delivered, all the batch's leads at once, by `sla.delivery.leads_deliver`
  (the set-based delivery of POST /api/leads/batch/), as by the source's user, to the
  source's agreement unless the lead names one;

and is idempotent by its `id` per source (InboundEvent): a repeat answers `duplicate`.
An event in error is not recorded, so it may be sent again once fixed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from rest_framework import serializers

from core.errors import RuleRefused
from integrations.models import EventSource, InboundEvent, InboundMessage
from integrations.signing import secrets_of, signature_matches
from leads.models import Lead, Touch
from sla.actions import lead_move_stage, lead_touch
from sla.api.lead_serializers import InstantField, LeadBatchItemSerializer, batch_item_checked
from sla.delivery import CREATED, DUPLICATE, ERROR, errors_of, leads_deliver

MAX_EVENTS = 1000
TOLERANCE_SECONDS = 5 * 60
APPLIED = "applied"


@dataclass
class Refused(Exception):
    """The whole request is refused: its HTTP status and what to say."""

    status: int
    detail: str


def source_verify(*, headers, body: bytes, at: datetime) -> EventSource:
    """The active source whose secret signed the request; Refused (401, 400) if none."""
    message_id = headers.get("webhook-id", "").strip()
    timestamp = headers.get("webhook-timestamp", "").strip()
    header = headers.get("webhook-signature", "").strip()
    if not (message_id and timestamp and header):
        raise Refused(401, "Sign the request: webhook-id, webhook-timestamp, webhook-signature.")
    if len(message_id) > 200:
        raise Refused(400, "webhook-id: at most 200 characters.")
    for source in EventSource.objects.filter(active=True):
        if signature_matches(
            secrets_of(source, at=at),
            header=header,
            message_id=message_id,
            timestamp=timestamp,
            body=body,
        ):
            break
    else:
        raise Refused(401, "The signature matches no active event source's secret.")
    if abs(int(timestamp) - at.timestamp()) > TOLERANCE_SECONDS:
        raise Refused(400, "webhook-timestamp: more than 5 minutes from now (a replay?).")
    return source


def events_parse(body: bytes) -> list:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, f"The body is not JSON: {exc}.") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("events"), list):
        raise Refused(400, 'events: send {"events": [...]}.')
    if len(parsed["events"]) > MAX_EVENTS:
        raise Refused(400, f"events: at most {MAX_EVENTS} in one request.")
    return parsed["events"]


def events_receive(*, headers, body: bytes, at: datetime) -> list[dict]:
    """Verify, parse and apply a request; the per-event results. Raises Refused."""
    source = source_verify(headers=headers, body=body, at=at)
    events = events_parse(body)
    try:
        with transaction.atomic():
            InboundMessage.objects.create(
                source=source,
                message_id=headers["webhook-id"].strip(),
                received_at=at,
                events=len(events),
            )
    except IntegrityError as exc:
        raise Refused(409, "webhook-id: this source already sent this message.") from exc
    EventSource.objects.filter(pk=source.pk).update(last_seen_at=at)
    return events_apply(source=source, events=events, at=at)


def messages_prune(*, before: datetime) -> int:
    """Forget the webhook-ids of old requests: a request stamped that long ago is refused
    by its timestamp anyway."""
    deleted, _ = InboundMessage.objects.filter(received_at__lt=before).delete()
    return deleted


# --- each event ------------------------------------------------------------------------------


class _EventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=["touch", "stage", "lead"])


class _LeadNamed(_EventSerializer):
    lead = serializers.IntegerField(required=False, min_value=1, help_text="slaops' lead id.")
    lead_external_id = serializers.CharField(required=False, max_length=200)
    email = serializers.EmailField(required=False)

    def validate(self, attrs):
        if not ({"lead", "lead_external_id", "email"} & attrs.keys()):
            raise serializers.ValidationError(
                {"lead_external_id": ["Name the lead: lead_external_id, email or lead."]}
            )
        return attrs


class TouchEventSerializer(_LeadNamed):
    kind = serializers.ChoiceField(choices=Touch.Kind.choices)
    outcome = serializers.ChoiceField(choices=Touch.Outcome.choices)
    at = InstantField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class StageEventSerializer(_LeadNamed):
    stage = serializers.SlugField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class LeadEventSerializer(_EventSerializer):
    lead = serializers.DictField(help_text="A lead body, as POST /api/leads/ takes.")


SERIALIZERS = {"touch": TouchEventSerializer, "stage": StageEventSerializer}


def _checked(index: int, raw) -> tuple[dict | None, dict | None]:
    """(the event's validated fields, None) or (None, its errors)."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["Expected an event object."]}
    head = _EventSerializer(data=raw)
    if not head.is_valid():
        return None, dict(head.errors)
    kind = head.validated_data["type"]
    if kind == "lead":
        body = LeadEventSerializer(data=raw)
        if not body.is_valid():
            return None, dict(body.errors)
        lead = batch_item_checked(raw["lead"])
        if lead is None:
            try:
                lead = dict(LeadBatchItemSerializer().run_validation(raw["lead"]))
            except serializers.ValidationError as exc:
                return None, {f"lead.{name}": errors for name, errors in exc.detail.items()}
        lead.pop("idempotency_key", None)
        return {**head.validated_data, "lead": lead}, None
    body = SERIALIZERS[kind](data=raw)
    if not body.is_valid():
        return None, dict(body.errors)
    return dict(body.validated_data), None


def _leads_named(events: list[dict], *, source: EventSource) -> dict:
    """The leads the touch and stage events name, read in three queries at most: only
    leads of the source's agreement (an external_id is unique per marketing team, and
    another agreement's lead is none of this source's business)."""
    named = [event for event in events if event["type"] != "lead"]
    found: dict = {}
    leads = Lead.objects.filter(terms__agreement_id=source.agreement_id)
    ids = {event["lead"] for event in named if "lead" in event}
    for lead in leads.filter(pk__in=ids):
        found[("lead", lead.pk)] = lead
    externals = {event["lead_external_id"] for event in named if "lead_external_id" in event}
    for lead in leads.filter(external_id__in=externals):
        found[("lead_external_id", lead.external_id)] = lead
    emails = {event["email"].lower() for event in named if "email" in event}
    # By e-mail: the newest lead with that address that is not a duplicate of another.
    by_email = leads.annotate(address=Lower("email")).filter(
        address__in=emails, duplicate_of__isnull=True
    )
    for lead in by_email.order_by("received_at", "pk"):
        found[("email", lead.email.lower())] = lead
    return found


def _lead_of(event: dict, found: dict) -> Lead | None:
    for field in ("lead", "lead_external_id", "email"):
        if field in event:
            value = event[field].lower() if field == "email" else event[field]
            return found.get((field, value))
    return None


def _apply_one(*, source: EventSource, event: dict, lead: Lead, at: datetime) -> None:
    with transaction.atomic():
        InboundEvent.objects.create(
            source=source, external_id=event["id"], type=event["type"], lead=lead, applied_at=at
        )
        if event["type"] == "touch":
            lead_touch(
                lead=lead,
                by=lead.owner or source.user,
                kind=event["kind"],
                outcome=event["outcome"],
                at=event["at"],
                note=event["note"],
                now=at,
            )
        else:
            lead_move_stage(
                lead=lead, by=source.user, stage=event["stage"], note=event["note"], now=at
            )


def _error_of(exc: Exception) -> dict:
    if isinstance(exc, DjangoValidationError):
        return errors_of(exc)
    if isinstance(exc, RuleRefused):
        return {exc.rule or "detail": [exc.message]}
    return {"detail": [str(exc) or "Not allowed."]}


def events_apply(*, source: EventSource, events: list, at: datetime) -> list[dict]:
    """Apply each event; `[{"index", "status", "errors"}]` in the order sent."""
    results: list[dict | None] = [None] * len(events)
    valid: list[tuple[int, dict]] = []
    for index, raw in enumerate(events):
        fields, errors = _checked(index, raw)
        if errors:
            results[index] = {"index": index, "status": ERROR, "errors": errors}
        else:
            valid.append((index, fields))
    seen = set(
        InboundEvent.objects.filter(
            source=source, external_id__in=[event["id"] for _, event in valid]
        ).values_list("external_id", flat=True)
    )
    todo = []
    for index, event in valid:
        if event["id"] in seen:  # sent before, or earlier in this batch
            results[index] = {"index": index, "status": DUPLICATE, "errors": None}
        else:
            seen.add(event["id"])
            todo.append((index, event))
    _leads_apply(
        source=source, todo=[p for p in todo if p[1]["type"] == "lead"], results=results, at=at
    )
    others = [pair for pair in todo if pair[1]["type"] != "lead"]
    found = _leads_named([event for _, event in others], source=source)
    for index, event in others:
        lead = _lead_of(event, found)
        if lead is None:
            field = next(f for f in ("lead", "lead_external_id", "email") if f in event)
            results[index] = {"index": index, "status": ERROR, "errors": {field: ["No such lead."]}}
            continue
        try:
            _apply_one(source=source, event=event, lead=lead, at=at)
        except IntegrityError:  # the same id, applied by a concurrent request
            results[index] = {"index": index, "status": DUPLICATE, "errors": None}
        except (DjangoValidationError, RuleRefused, PermissionDenied) as exc:
            results[index] = {"index": index, "status": ERROR, "errors": _error_of(exc)}
        else:
            results[index] = {"index": index, "status": APPLIED, "errors": None}
    return results


def _leads_apply(*, source: EventSource, todo: list[tuple[int, dict]], results: list, at) -> None:
    """Deliver the batch's new leads at once, each keyed by the source and event id."""
    if not todo:
        return
    delivered = leads_deliver(
        by=source.user,
        items=[event["lead"] for _, event in todo],
        agreement=source.agreement,
        keys=[f"event:{source.pk}:{event['id']}"[:200] for _, event in todo],
        now=at,
    )
    record = []
    for (index, event), result in zip(todo, delivered, strict=True):
        if result.status == ERROR:
            errors = {f"lead.{name}": messages for name, messages in result.errors.items()}
            results[index] = {"index": index, "status": ERROR, "errors": errors}
            continue
        status = APPLIED if result.status == CREATED else DUPLICATE
        results[index] = {"index": index, "status": status, "errors": None}
        record.append(
            InboundEvent(
                source=source,
                external_id=event["id"],
                type="lead",
                lead_id=result.lead_id,
                applied_at=at,
            )
        )
    InboundEvent.objects.bulk_create(record, ignore_conflicts=True)
