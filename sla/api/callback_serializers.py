"""What `POST /api/leads/<id>/callback/` reads and answers. Shapes only: the rules are in
sla/callbacks.py."""

from rest_framework import serializers

from sla.api.lead_serializers import InstantField, LeadSlaSerializer
from sla.models import Callback


class LeadCallbackInputSerializer(serializers.Serializer):
    at = InstantField(
        help_text=(
            "When the prospect asked to be contacted; with an offset, after now, and within "
            "the agreement's max_callback_business_days (beyond: a sales manager)."
        )
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why: what the prospect said."
    )


class LeadCallbackSerializer(serializers.ModelSerializer):
    """The callback just set, with the lead's SLA as it now stands (as a touch answers)."""

    lead = serializers.IntegerField(source="lead_id", read_only=True)
    clock = serializers.IntegerField(source="clock_id", read_only=True, allow_null=True)
    kind = serializers.CharField(read_only=True, help_text="The clock paused: first or next touch.")
    due_at = serializers.DateTimeField(read_only=True, help_text="The restarted clock's due time.")
    set_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The sales manager who set it beyond the agreement's limits; else null.",
    )
    sla = LeadSlaSerializer(read_only=True)

    class Meta:
        model = Callback
        fields = [
            "id",
            "lead",
            "clock",
            "kind",
            "at",
            "due_at",
            "previous_started_at",
            "previous_due_at",
            "note",
            "set_by",
            "set_at",
            "approved_by",
            "sla",
        ]
        read_only_fields = fields


class CallbackRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Which rule refused, and why.")
    rule = serializers.CharField(
        help_text=(
            "max_callback_business_days, max_callbacks, clock_breached, lead_closed or "
            "lead_not_qualified."
        )
    )
