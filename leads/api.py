"""REST endpoints for lead definitions (versioned) and rejection reason codes.

Definitions are never deleted (405): leads point at the version they were judged by.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.access import AdminWritesOthersRead, MarketingOrAdminWrites, may_edit_definition
from accounts.models import Team
from leads.models import LeadDefinition, LeadDefinitionVersion, ReasonCode
from leads.services.definitions import (
    definition_create,
    definition_score,
    definition_update,
    reason_code_create,
    reason_code_update,
)


class CriterionSerializer(serializers.Serializer):
    """Documents the shape of a rule; the service validates it (messages name the rule)."""

    field = serializers.CharField(help_text="A lead field or attributes.<key>.")
    op = serializers.ChoiceField(choices=["eq", "neq", "in", "contains", "gte", "lte", "exists"])
    value = serializers.JSONField(required=False)
    points = serializers.IntegerField()
    label = serializers.CharField(required=False)


class DisqualifierSerializer(serializers.Serializer):
    field = serializers.CharField()
    op = serializers.ChoiceField(choices=["eq", "neq", "in", "contains", "gte", "lte", "exists"])
    value = serializers.JSONField(required=False)
    label = serializers.CharField(required=False)


@extend_schema_field(CriterionSerializer(many=True))
class CriteriaField(serializers.JSONField):
    pass


@extend_schema_field(DisqualifierSerializer(many=True))
class DisqualifiersField(serializers.JSONField):
    pass


class DefinitionInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        help_text="The marketing team that owns it (on create; default: the creator's team).",
    )
    good_lead = serializers.CharField(allow_blank=True, required=False, default="")
    not_a_lead = serializers.CharField(allow_blank=True, required=False, default="")
    handling = serializers.CharField(allow_blank=True, required=False, default="")
    qualify_at = serializers.IntegerField(min_value=0, max_value=2_147_483_647, default=50)
    criteria = CriteriaField(default=list)
    disqualifiers = DisqualifiersField(default=list)


class VersionSummary(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = LeadDefinitionVersion
        fields = ["version", "created_at", "created_by"]


class DefinitionOutput(serializers.ModelSerializer):
    criteria = CriteriaField()
    disqualifiers = DisqualifiersField()
    versions = VersionSummary(many=True, read_only=True)
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = LeadDefinition
        fields = [
            "id",
            "name",
            "team",
            "good_lead",
            "not_a_lead",
            "handling",
            "qualify_at",
            "criteria",
            "disqualifiers",
            "version",
            "updated_at",
            "versions",
        ]


class VersionOutput(serializers.ModelSerializer):
    """A frozen version: the terms exactly as they were from `created_at` on."""

    definition = serializers.PrimaryKeyRelatedField(read_only=True)
    criteria = CriteriaField()
    disqualifiers = DisqualifiersField()
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = LeadDefinitionVersion
        fields = [
            "definition",
            "version",
            "name",
            "good_lead",
            "not_a_lead",
            "handling",
            "qualify_at",
            "criteria",
            "disqualifiers",
            "created_at",
            "created_by",
        ]


class TryLeadInput(serializers.Serializer):
    """A lead as it would be delivered; only what scoring reads, all optional."""

    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    company = serializers.CharField(required=False, allow_blank=True, max_length=200)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    country = serializers.CharField(required=False, allow_blank=True, max_length=100)
    company_size = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_147_483_647
    )
    source = serializers.CharField(required=False, allow_blank=True, max_length=100)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    attributes = serializers.DictField(required=False, default=dict)


class ScoreOutput(serializers.Serializer):
    version = serializers.IntegerField(help_text="The definition version that scored it.")
    score = serializers.IntegerField()
    qualifies = serializers.BooleanField()
    score_explanation = serializers.ListField(child=serializers.DictField())
    disqualified_by = serializers.ListField(child=serializers.CharField())


class DefinitionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Lead definitions: everyone reads them, marketing and admins edit them.

    Every edit creates a new version; a lead keeps the version it was judged by.
    """

    serializer_class = DefinitionOutput

    def get_queryset(self):
        versions = LeadDefinitionVersion.objects.select_related("created_by")
        return LeadDefinition.objects.select_related("team").prefetch_related(
            Prefetch("versions", queryset=versions)
        )

    def get_permissions(self):
        if self.action == "score":  # a read in POST clothing: anyone may try a lead
            return [IsAuthenticated()]
        return [MarketingOrAdminWrites()]

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return DefinitionInput
        if self.action == "score":
            return TryLeadInput
        return DefinitionOutput

    def _answer(self, definition, *, status_code=status.HTTP_200_OK):
        definition = self.get_queryset().get(pk=definition.pk)
        return Response(DefinitionOutput(definition).data, status=status_code)

    @extend_schema(request=DefinitionInput, responses={201: DefinitionOutput})
    def create(self, request, *args, **kwargs):
        serializer = DefinitionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = definition_create(by=request.user, **serializer.validated_data)
        return self._answer(definition, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=DefinitionInput, responses={200: DefinitionOutput})
    def update(self, request, *args, **kwargs):
        definition = self.get_object()
        if not may_edit_definition(request.user, definition):
            raise PermissionDenied(
                "Only the managers of the marketing team that owns this definition, and "
                "admins, may change it."
            )
        serializer = DefinitionInput(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data.pop("team", definition.team) != definition.team:
            raise ValidationError({"team": "is set when the definition is created."})
        definition = definition_update(
            definition=definition, by=request.user, **serializer.validated_data
        )
        return self._answer(definition)

    @extend_schema(request=DefinitionInput, responses={200: DefinitionOutput})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={200: VersionOutput})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})")
    def versions(self, request, pk=None, number=None):
        """One frozen version of the definition."""
        definition = self.get_object()
        version = get_object_or_404(
            LeadDefinitionVersion.objects.select_related("created_by"),
            definition=definition,
            version=int(number),
        )
        return Response(VersionOutput(version).data)

    @extend_schema(request=TryLeadInput, responses={200: ScoreOutput})
    @action(detail=True, methods=["post"])
    def score(self, request, pk=None):
        """Score a lead-shaped body against the current version; nothing is saved."""
        definition = self.get_object()
        serializer = TryLeadInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = definition_score(definition=definition, data=serializer.validated_data)
        body = {
            "version": definition.version,
            "score": result.score,
            "qualifies": result.qualifies,
            "score_explanation": result.explanation,
            "disqualified_by": result.disqualified_by,
        }
        return Response(ScoreOutput(body).data)


class ReasonCodeInput(serializers.Serializer):
    code = serializers.CharField(max_length=50)
    label = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(default=True)
    position = serializers.IntegerField(min_value=0, max_value=2_147_483_647, default=0)


class ReasonCodeOutput(serializers.ModelSerializer):
    class Meta:
        model = ReasonCode
        fields = ["id", "code", "label", "is_active", "position"]


class ReasonCodeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Why sales may reject a lead. Everyone reads them; the admin role edits them.

    Not deleted (leads point at them): set `is_active` to false to retire one.
    """

    queryset = ReasonCode.objects.all()
    serializer_class = ReasonCodeOutput
    permission_classes = [AdminWritesOthersRead]
    filterset_fields = ["is_active"]

    @extend_schema(request=ReasonCodeInput, responses={201: ReasonCodeOutput})
    def create(self, request, *args, **kwargs):
        serializer = ReasonCodeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason_code = reason_code_create(**serializer.validated_data)
        return Response(ReasonCodeOutput(reason_code).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonCodeInput, responses={200: ReasonCodeOutput})
    def update(self, request, *args, **kwargs):
        reason_code = self.get_object()
        serializer = ReasonCodeInput(data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        reason_code = reason_code_update(reason_code=reason_code, **serializer.validated_data)
        return Response(ReasonCodeOutput(reason_code).data)

    @extend_schema(request=ReasonCodeInput, responses={200: ReasonCodeOutput})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
