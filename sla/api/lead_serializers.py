"""What the leads API reads and answers. Validation of shapes and types only: the rules
of delivery and of every action live in sla/actions.py."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.access import may_choose_owner
from leads.csvfile import MAX_INT, parse_instant
from leads.models import Lead, Touch
from leads.scoring import LEAD_FIELDS
from leads.selectors import assignments
from sla.delivery import agreements_for_delivery
from sla.disputes import RULING_OUTCOMES, dispute_body
from sla.models import Agreement, Dispute
from sla.selectors import lead_sla, stage_history


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.Field):
    """An ISO-8601 instant that must carry its UTC offset (a wall time alone is refused)."""

    default_error_messages = {"invalid": "{message}"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", message="Expected an ISO-8601 instant as text.")
        try:
            return parse_instant(data)
        except ValueError as exc:
            self.fail("invalid", message=str(exc))

    def to_representation(self, value):
        return serializers.DateTimeField().to_representation(value)


# --- answers ----------------------------------------------------------------------------


class LeadScoreItemSerializer(serializers.Serializer):
    label = serializers.CharField()
    points = serializers.IntegerField()


class LeadSlaSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="not_started, pending, at_risk, breached, met or closed."
    )
    first_touch_due_at = serializers.DateTimeField(allow_null=True)
    first_touch_at_risk_at = serializers.DateTimeField(allow_null=True)
    first_touched_at = serializers.DateTimeField(allow_null=True)
    next_touch_due_at = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()
    attempts_required = serializers.IntegerField(allow_null=True)
    tier = serializers.CharField(
        allow_null=True,
        help_text="The agreement tier whose windows the lead's clocks run by; null: the "
        "agreement's own terms (or no clock).",
    )


class LeadSerializer(serializers.ModelSerializer):
    score_explanation = LeadScoreItemSerializer(many=True, read_only=True)
    disqualified_by = serializers.ListField(child=serializers.CharField(), read_only=True)
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(read_only=True)
    duplicate_of = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The open lead of the same agreement this one repeats by e-mail, within "
        "the agreement's duplicate window: this one starts no clock.",
    )
    agreement = serializers.SerializerMethodField()
    verdict_reason = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    definition = serializers.IntegerField(source="definition_version.definition_id", read_only=True)
    definition_version = serializers.IntegerField(
        source="definition_version.version", read_only=True
    )
    sla = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            *LEAD_FIELDS,
            "received_at",
            "attributes",
            "score",
            "qualifies",
            "score_explanation",
            "disqualified_by",
            "stage",
            "owner",
            "team",
            "duplicate_of",
            "agreement",
            "verdict",
            "sla",
            "definition",
            "definition_version",
            "verdict_reason",
            "verdict_note",
            "verdict_at",
            "assigned_at",
            "abandoned_at",
            "abandon_reason",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_agreement(self, lead) -> int | None:
        terms = getattr(lead, "terms", None)
        return terms.agreement_id if terms else None

    @extend_schema_field(LeadSlaSerializer)
    def get_sla(self, lead):
        now = self.context.get("now") or timezone.now()
        return LeadSlaSerializer(lead_sla(lead, now=now)).data


class LeadTouchSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Touch
        fields = ["id", "kind", "outcome", "at", "note", "by", "created_at"]
        read_only_fields = fields


class LeadTouchCreatedSerializer(LeadTouchSerializer):
    """The touch just logged, with the lead's SLA as it now stands."""

    lead = serializers.IntegerField(source="lead_id", read_only=True)
    sla = LeadSlaSerializer(read_only=True)

    class Meta(LeadTouchSerializer.Meta):
        fields = [*LeadTouchSerializer.Meta.fields, "lead", "sla"]
        read_only_fields = fields


class LeadStageChangeSerializer(serializers.Serializer):
    from_stage = serializers.CharField(
        source="change.from_stage.slug", read_only=True, allow_null=True
    )
    to_stage = serializers.CharField(source="change.to_stage.slug", read_only=True)
    at = serializers.DateTimeField(source="change.at", read_only=True)
    by = serializers.CharField(source="change.by.username", read_only=True, allow_null=True)
    note = serializers.CharField(source="change.note", read_only=True)
    business_minutes_in_stage = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Business minutes spent in `to_stage`: to the next change, or to now.",
    )


class LeadAssignmentSerializer(serializers.Serializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    # `from` is a Python keyword: the field is named in `get_fields`.
    to = serializers.DateTimeField(read_only=True, allow_null=True, help_text="null: holds it now")
    by = serializers.CharField(
        source="by.username",
        read_only=True,
        allow_null=True,
        help_text="Who moved it to them; null: the round robin at delivery.",
    )

    def get_fields(self):
        fields = super().get_fields()
        return {
            "owner": fields["owner"],
            "from": serializers.DateTimeField(read_only=True),
            "to": fields["to"],
            "by": fields["by"],
        }


class LeadDisputeRulingSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RULING_OUTCOMES)
    by = serializers.CharField(allow_null=True, help_text="Username.")
    at = serializers.DateTimeField()
    note = serializers.CharField()


class LeadDisputeSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["open", "upheld", "overturned"])
    opened_at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True, help_text="Who disputed (username).")
    note = serializers.CharField()
    ruling = LeadDisputeRulingSerializer(allow_null=True)


class LeadDetailSerializer(LeadSerializer):
    touches = LeadTouchSerializer(many=True, read_only=True)
    stage_history = serializers.SerializerMethodField()
    assignments = serializers.SerializerMethodField()
    dispute = serializers.SerializerMethodField()

    @extend_schema_field(LeadDisputeSerializer(allow_null=True))
    def get_dispute(self, lead):
        """Marketing's dispute of the rejection (sla.disputes), or null."""
        return dispute_body(
            Dispute.objects.filter(lead=lead).select_related("opened_by", "ruled_by").first()
        )

    @extend_schema_field(LeadAssignmentSerializer(many=True))
    def get_assignments(self, lead):
        """Who held the lead, from when to when, and who moved it (leads.selectors)."""
        return LeadAssignmentSerializer(assignments(lead), many=True).data

    @extend_schema_field(LeadStageChangeSerializer(many=True))
    def get_stage_history(self, lead):
        now = self.context.get("now") or timezone.now()
        return LeadStageChangeSerializer(stage_history(lead, now=now), many=True).data

    class Meta(LeadSerializer.Meta):
        fields = [
            *LeadSerializer.Meta.fields,
            "touches",
            "stage_history",
            "assignments",
            "dispute",
        ]
        read_only_fields = fields


# --- requests ---------------------------------------------------------------------------


class LeadCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company_size = serializers.IntegerField(
        min_value=0, max_value=MAX_INT, required=False, allow_null=True
    )
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    external_id = serializers.CharField(
        max_length=200, required=False, allow_blank=True, allow_null=True
    )
    received_at = InstantField(
        required=False, help_text="Defaults to now; with an offset; not in the future."
    )
    agreement = serializers.PrimaryKeyRelatedField(
        # As delivery reads it (calendar, teams, current versions): looked up once.
        queryset=agreements_for_delivery(),
        required=False,
        allow_null=True,
        help_text="Optional while exactly one agreement is in effect.",
    )
    attributes = serializers.DictField(required=False, help_text="Any JSON object.")
    owner = serializers.CharField(
        required=False, help_text="Admins only: a rep of the team instead of round robin."
    )
    team = serializers.IntegerField(
        required=False, help_text="Admins only: must be the agreement's sales team."
    )

    def validate(self, attrs):
        user = self.context["request"].user
        if not may_choose_owner(user):
            refused = {
                name: ["Leads are assigned by round robin; a sales manager reassigns them."]
                for name in ("owner", "team")
                if name in attrs
            }
            if refused:
                raise serializers.ValidationError(refused)
        return attrs


class LeadAssignInputSerializer(serializers.Serializer):
    owner = serializers.CharField(help_text="Username of a rep of the lead's team.")


class LeadRejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="A reason code, such as not_icp.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class LeadTouchInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Touch.Kind.choices)
    outcome = serializers.ChoiceField(choices=Touch.Outcome.choices)
    at = InstantField(
        required=False, help_text="Defaults to now; not in the future nor before received_at."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class LeadStageInputSerializer(serializers.Serializer):
    stage = serializers.SlugField(help_text="The slug of an active stage.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class LeadAbandonInputSerializer(serializers.Serializer):
    reason = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    override = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Sales managers: abandon before the agreed attempts (flagged).",
    )


class LeadImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8, with a header row naming lead fields.")
    agreement = serializers.PrimaryKeyRelatedField(
        queryset=Agreement.objects.all(), required=False, allow_null=True
    )
    partial = serializers.BooleanField(required=False, default=False)


class LeadImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


class LeadBatchItemSerializer(LeadCreateSerializer):
    """One lead of a batch: the body of POST /api/leads/, with the agreement by id (looked
    up once for the whole batch) and an optional per-lead idempotency key."""

    agreement = serializers.IntegerField(
        required=False, allow_null=True, help_text="Optional while one agreement is in effect."
    )
    idempotency_key = serializers.CharField(
        required=False, max_length=200, help_text="Repeat it to get the first lead back."
    )
    owner = None
    team = None

    def validate(self, attrs):
        return attrs


_BATCH_TEXT = {"first_name": 100, "last_name": 100, "company": 200, "title": 200}
_BATCH_TEXT |= {"country": 100, "source": 100}


def _plain_text(value, limit: int, *, blank: bool = True) -> str | None:
    """The text DRF's CharField would keep (stripped), when it would surely keep it."""
    if type(value) is not str or not value.isascii() or "\x00" in value:
        return None
    value = value.strip()
    return value if len(value) <= limit and (blank or value) else None


def _plain_whole(value, *, bounded: bool) -> bool:
    return type(value) is int and (not bounded or 0 <= value <= MAX_INT)


def batch_item_checked(raw: dict) -> dict | None:
    """What `LeadBatchItemSerializer(data=raw).validated_data` holds, for a lead of plain
    values (ASCII text, whole numbers, an object of attributes) that it would accept;
    None for anything else, which the serializer itself then checks (and explains).
    A batch of 1,000 is then not 1,000 serializer runs."""
    data: dict = {}
    email = _plain_text(raw.get("email"), 254, blank=False)
    if email is None:
        return None
    try:
        validate_email(email)
    except DjangoValidationError:
        return None
    data["email"] = email
    for name, limit in _BATCH_TEXT.items():
        if name in raw:
            data[name] = _plain_text(raw[name], limit)
            if data[name] is None:
                return None
    for name, bounded in (("company_size", True), ("agreement", False)):
        if name in raw:
            value = raw[name]
            if value is not None and not _plain_whole(value, bounded=bounded):
                return None
            data[name] = value
    if "external_id" in raw:
        value = raw["external_id"]
        data["external_id"] = None if value is None else _plain_text(value, 200)
        if value is not None and data["external_id"] is None:
            return None
    if "received_at" in raw:
        if type(raw["received_at"]) is not str:
            return None
        try:
            data["received_at"] = parse_instant(raw["received_at"])
        except ValueError:
            return None
    if "attributes" in raw:
        attributes = raw["attributes"]
        if type(attributes) is not dict or not all(type(k) is str for k in attributes):
            return None
        data["attributes"] = dict(attributes)
    if "idempotency_key" in raw:
        data["idempotency_key"] = _plain_text(raw["idempotency_key"], 200, blank=False)
        if data["idempotency_key"] is None:
            return None
    return data


def create_body_checked(raw) -> dict | None:
    """What `LeadCreateSerializer(data=raw).validated_data` holds for a plain body (as
    `batch_item_checked` says, with no owner or team), the agreement still by id; None
    for anything else, which the serializer itself then checks and explains."""
    if type(raw) is not dict or not _CREATE_PLAIN.issuperset(raw.keys() & _CREATE_KNOWN):
        return None
    return batch_item_checked(raw)


_CREATE_KNOWN = {*LeadBatchItemSerializer().fields, "owner", "team"}
_CREATE_PLAIN = _CREATE_KNOWN - {"owner", "team", "idempotency_key"}


class LeadBatchInputSerializer(serializers.Serializer):
    leads = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=1000, help_text="At most 1,000."
    )


class LeadBatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(allow_null=True)


class LeadBatchOutputSerializer(serializers.Serializer):
    results = LeadBatchResultSerializer(many=True)
