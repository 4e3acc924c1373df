"""The shapes of /api/webhooks/, /api/event-sources/ and /api/events/, and the documented
payloads of the events sent (OpenAPI components with examples)."""

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from accounts.models import User
from integrations.models import EVENT_NAMES, EventSource, WebhookDelivery, WebhookEndpoint
from leads.models import Touch
from sla.models import Agreement


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_NAMES),
        min_length=1,
        max_length=len(EVENT_NAMES),
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "created_at",
        ]
        read_only_fields = ["id", "disabled_at", "disabled_reason", "consecutive_failures"]
        read_only_fields += ["created_at"]
        extra_kwargs = {"url": {"help_text": "https:// and a public address (see README)."}}


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="`whsec_<base64>`: shown this once; store it now."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new secret, shown this once.")
    previous_valid_until = serializers.DateTimeField(
        help_text="The previous secret stays valid until then."
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_type",
            "state",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "response_ms",
            "created_at",
            "sent_at",
            "delivered_at",
        ]
        read_only_fields = fields


class EventSourceSerializer(serializers.ModelSerializer):
    agreement = serializers.PrimaryKeyRelatedField(
        queryset=Agreement.objects.all(),
        required=False,
        allow_null=True,
        help_text="Where its new leads go, unless a lead names its agreement.",
    )
    user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        help_text="Who its leads and stage moves are recorded as (touches: the lead's owner).",
    )
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = EventSource
        fields = ["id", "name", "agreement", "user", "active", "created_at", "last_seen_at"]
        read_only_fields = ["id", "created_at", "last_seen_at"]


class EventSourceCreatedSerializer(EventSourceSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown this once; store it now.")

    class Meta(EventSourceSerializer.Meta):
        fields = [*EventSourceSerializer.Meta.fields, "secret"]


# --- inbound events ---------------------------------------------------------------------------


class InboundEventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The sender's id; a repeat answers `duplicate`.")
    type = serializers.ChoiceField(choices=["touch", "stage", "lead"])
    lead = serializers.JSONField(
        required=False,
        help_text="touch, stage: slaops' lead id (or lead_external_id, or email). "
        "lead: a lead body as POST /api/leads/ takes.",
    )
    lead_external_id = serializers.CharField(required=False)
    email = serializers.EmailField(required=False, help_text="The newest lead with it.")
    kind = serializers.ChoiceField(choices=Touch.Kind.choices, required=False)
    outcome = serializers.ChoiceField(choices=Touch.Outcome.choices, required=False)
    at = serializers.DateTimeField(required=False, help_text="touch: when it happened.")
    stage = serializers.SlugField(required=False, help_text="stage: the stage's slug.")
    note = serializers.CharField(required=False)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A dialer's calls and a form's lead",
            value={
                "events": [
                    {
                        "id": "call-88412",
                        "type": "touch",
                        "lead_external_id": "crm-00042",
                        "kind": "call",
                        "outcome": "left_message",
                        "at": "2026-12-07T15:04:00Z",
                        "note": "Voicemail, 38 s",
                    },
                    {
                        "id": "stage-1209",
                        "type": "stage",
                        "email": "dana@example.com",
                        "stage": "interacting",
                    },
                    {
                        "id": "form-5531",
                        "type": "lead",
                        "lead": {
                            "email": "lee@example.com",
                            "company": "Acme",
                            "company_size": 120,
                            "external_id": "crm-00043",
                        },
                    },
                ]
            },
            request_only=True,
        )
    ]
)
class InboundBatchSerializer(serializers.Serializer):
    events = InboundEventSerializer(many=True, help_text="At most 1,000.")


class InboundResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["applied", "duplicate", "error"])
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text="`{field: [messages]}` for an event in error.",
    )


class InboundAnswerSerializer(serializers.Serializer):
    results = InboundResultSerializer(many=True)


# --- outbound payloads (documentation) ---------------------------------------------------------


def _example(name: str, event_type: str, data: dict) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={
            "id": f"evt_{event_type}_1234",
            "type": event_type,
            "timestamp": "2026-12-07T15:04:05.123456+00:00",
            "data": data,
        },
    )


@extend_schema_serializer(
    examples=[
        _example(
            "lead.delivered",
            "lead.delivered",
            {
                "lead": 1234,
                "email": "lee@example.com",
                "external_id": "crm-00043",
                "received_at": "2026-12-07T15:04:00+00:00",
                "agreement": 1,
                "qualifies": True,
                "score": 60,
                "stage": "new",
                "team": 2,
                "owner": "rep1",
                "duplicate_of": None,
            },
        ),
        _example(
            "lead.assigned",
            "lead.assigned",
            {
                "lead": 1234,
                "from": "rep1",
                "to": "rep2",
                "at": "2026-12-07T16:00:00+00:00",
                "by": "manager",
                "reason": "manual",
            },
        ),
        _example(
            "flag.raised",
            "flag.raised",
            {
                "flag": 77,
                "kind": "first_touch_breached",
                "state": "open",
                "raised_at": "2026-12-07T19:04:00+00:00",
                "due_at": "2026-12-07T19:04:00+00:00",
                "lead": 1234,
                "agreement": 1,
                "month": "2026-12",
                "owner": "rep1",
                "detail": "First touch due 14:04 EST passed untouched.",
            },
        ),
        _example(
            "flag.resolved",
            "flag.resolved",
            {
                "flag": 77,
                "kind": "first_touch_breached",
                "state": "resolved",
                "raised_at": "2026-12-07T19:04:00+00:00",
                "due_at": "2026-12-07T19:04:00+00:00",
                "lead": 1234,
                "agreement": 1,
                "month": "2026-12",
                "owner": "rep1",
                "detail": "First touch due 14:04 EST passed untouched.",
                "resolved_at": "2026-12-07T20:00:00+00:00",
                "resolved_by": None,
                "note": "touched late",
            },
        ),
        _example(
            "lead.verdict",
            "lead.verdict",
            {
                "lead": 1234,
                "verdict": "rejected",
                "at": "2026-12-08T10:00:00+00:00",
                "by": "rep1",
                "reason": "not_icp",
                "note": "",
            },
        ),
        _example(
            "commitment.logged",
            "commitment.logged",
            {
                "agreement": 1,
                "month": "2027-01",
                "quota": 220,
                "note": "Webinar month",
                "logged_at": "2026-12-20T09:00:00+00:00",
                "by": "marketing",
            },
        ),
        _example(
            "agreement.signed",
            "agreement.signed",
            {"agreement": 1, "version": 3, "signed_at": "2026-12-01T09:00:00+00:00", "by": "admin"},
        ),
    ]
)
class WebhookEventSerializer(serializers.Serializer):
    """The body of every webhook POST (Standard Webhooks envelope). Headers: `webhook-id`
    (= `id`, the same on every retry: drop repeats by it), `webhook-timestamp` (Unix
    seconds), `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed
    by the base64-decoded part of the endpoint's `whsec_` secret; two space-separated
    signatures for 24 hours after a rotation)."""

    id = serializers.CharField(help_text="Stable per event: `evt_<type>_<key>`.")
    type = serializers.ChoiceField(choices=[*EVENT_NAMES, "webhook.test"])
    timestamp = serializers.DateTimeField(help_text="When it happened.")
    data = serializers.DictField(help_text="The event's payload; see the examples.")
