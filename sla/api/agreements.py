"""`/api/agreements/`: the two-way agreements, their frozen versions, and marketing's
monthly commitments.

The body nests sales' and marketing's promises (`sales`, `marketing`) over the flat
model fields; the rules (team kinds, dates, percentages, versioning) live in
sla/agreements.py, which every write goes through.
"""

from datetime import datetime

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.access import AdminWritesOthersRead, may_log_commitment, may_reopen_month
from accounts.models import Team
from calendars.models import BusinessCalendar
from core.timeparse import month_field
from leads.models import LeadDefinition
from leads.scoring import OPS
from sla.agreements import CALLBACK_LIMITS, agreement_create, agreement_update, commitment_log
from sla.books import month_reopen
from sla.compliance import marketing_figures, month_window
from sla.models import Agreement, AgreementVersion, MonthlyCommitment, MonthReopening
from sla.selectors import agreements_visible_to
from sla.terms import MAX_NAME, tiers_clean, tiers_errors

MAX_INT = 2_147_483_647  # PositiveIntegerField's ceiling on every database
ERRORS = {
    400: OpenApiResponse(description="Bad input: `{field: [messages]}`."),
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(description="This role may not do this."),
    404: OpenApiResponse(description="No such agreement, or not visible to the caller."),
}


class TierConditionSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="`score`, a lead field (`source`, `company_size`...) or `attributes.<key>`."
    )
    op = serializers.ChoiceField(choices=list(OPS))
    value = serializers.JSONField(required=False, help_text="A text, number, true/false or list.")


class TierSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_NAME)
    when = TierConditionSerializer(
        many=True, help_text="Every condition must hold; empty: every lead (then last)."
    )
    first_touch_minutes = serializers.IntegerField(
        min_value=1, required=False, help_text="Business minutes; left out: the agreement's."
    )
    at_risk_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    next_touch_minutes = serializers.IntegerField(
        min_value=1, required=False, help_text="Business minutes; left out: the agreement's."
    )
    attempts_before_abandon = serializers.IntegerField(min_value=0, required=False)


@extend_schema_field(TierSerializer(many=True))
class TiersField(serializers.JSONField):
    """Ordered tiers, checked by sla.terms (the one place their rules live): the first
    whose conditions all hold applies to a lead; none, the agreement's own terms."""


class AgreementSalesTermsSerializer(serializers.Serializer):
    first_touch_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_INT, required=False, help_text="Business minutes."
    )
    at_risk_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    next_touch_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_INT, required=False, help_text="Business minutes."
    )
    attempts_before_abandon = serializers.IntegerField(min_value=0, max_value=32767, required=False)
    tiers = TiersField(required=False)
    max_callback_business_days = serializers.IntegerField(
        min_value=0,
        max_value=CALLBACK_LIMITS["max_callback_business_days"],
        required=False,
        help_text="How many business days ahead a rep may set a callback without a manager.",
    )
    max_callbacks = serializers.IntegerField(
        min_value=0,
        max_value=CALLBACK_LIMITS["max_callbacks"],
        required=False,
        help_text="How many callbacks a lead may have without a manager.",
    )

    def validate_tiers(self, value):
        errors = tiers_errors(value)
        if errors:
            raise serializers.ValidationError(errors)
        return tiers_clean(value)


class AgreementMarketingTermsSerializer(serializers.Serializer):
    monthly_quota = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    min_acceptance_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    pacing_tolerance_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    close_grace_business_days = serializers.IntegerField(
        min_value=0,
        max_value=60,
        required=False,
        help_text="Business days after a month's end before its books close (late leads land).",
    )
    duplicate_window_days = serializers.IntegerField(
        min_value=0,
        max_value=3650,
        required=False,
        help_text="A lead whose e-mail matches an open lead this recent is its duplicate.",
    )
    dispute_window_business_days = serializers.IntegerField(
        min_value=0,
        max_value=60,
        required=False,
        help_text="Business days after a rejection in which marketing may dispute it.",
    )


class AgreementVersionSummarySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, help_text="Username."
    )


class AgreementVersionSerializer(AgreementVersionSummarySerializer):
    terms = serializers.JSONField(help_text="Every field of the agreement as it was.")


class AgreementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200)
    # Any team: the service says when it is of the wrong kind.
    marketing_team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    sales_team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    calendar = serializers.PrimaryKeyRelatedField(queryset=BusinessCalendar.objects.all())
    definition = serializers.PrimaryKeyRelatedField(queryset=LeadDefinition.objects.all())
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True)
    # source="*": the nested objects read and write the agreement's flat fields.
    sales = AgreementSalesTermsSerializer(source="*", required=False)
    marketing = AgreementMarketingTermsSerializer(source="*", required=False)
    version = serializers.IntegerField(read_only=True)
    versions = AgreementVersionSummarySerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def create(self, validated_data):
        return agreement_create(
            by=self.context["request"].user, now=timezone.now(), **validated_data
        )

    def update(self, instance, validated_data):
        return agreement_update(
            agreement=instance,
            by=self.context["request"].user,
            now=timezone.now(),
            **validated_data,
        )


class CommitmentSerializer(serializers.ModelSerializer):
    logged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.SerializerMethodField(
        help_text="`logged` before the month begins, then on_track, at_risk, met or missed."
    )

    class Meta:
        model = MonthlyCommitment
        fields = ["month", "quota", "note", "logged_by", "logged_at", "status"]

    def get_status(self, commitment) -> str:
        return commitment_status(commitment, now=self.context.get("now") or timezone.now())


class CommitmentInputSerializer(serializers.Serializer):
    quota = serializers.IntegerField(
        min_value=0,
        max_value=MAX_INT,
        required=False,
        allow_null=True,
        help_text="Defaults to the agreement's monthly_quota.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


def commitment_status(commitment: MonthlyCommitment, *, now: datetime) -> str:
    """`logged` before the month begins; then marketing's status for the month
    (on_track, at_risk, met, missed) from the compliance figures."""
    agreement = commitment.agreement
    year, month = month_field(commitment.month)
    window = month_window(agreement.calendar.as_work_calendar(), year, month, now)
    if now < window.start:
        return "logged"
    return marketing_figures(agreement=agreement, window=window, at=now)["status"]


def _versions_prefetch():
    return Prefetch(
        "versions",
        queryset=AgreementVersion.objects.select_related("created_by").order_by("version"),
    )


class MonthReopenInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the month is reopened.")


class MonthReopeningSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MonthReopening
        fields = ["agreement", "month", "reason", "by", "at", "closes_at"]


@extend_schema(tags=["agreements"])
class AgreementViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Agreements: the admin role writes them; signed-in people read those they are party
    to (executives and admins read all). Editing creates a new version."""

    serializer_class = AgreementSerializer
    permission_classes = [AdminWritesOthersRead]
    # PATCH edits (no PUT on an agreement: PUT is for commitments); no DELETE: leads keep
    # the agreement and version they were measured by.
    http_method_names = ["get", "post", "patch", "put", "head", "options"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Agreement.objects.none()
        return (
            agreements_visible_to(self.request.user)
            .prefetch_related(_versions_prefetch())
            .order_by("name")
        )

    def get_permissions(self):
        if self.action in ("commitments", "commitment", "reopen"):
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(responses={200: AgreementSerializer(many=True), **ERRORS})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: AgreementSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @extend_schema(responses={200: AgreementSerializer, **ERRORS})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        description="Edit some terms; a change creates a new version, leads keep theirs.",
        responses={200: AgreementSerializer, **ERRORS},
    )
    def partial_update(self, request, *args, **kwargs):
        agreement = self.get_object()
        serializer = self.get_serializer(agreement, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        # The service saved a fresh row; answer it with its new versions.
        fresh = self.get_queryset().get(pk=agreement.pk)
        return Response(self.get_serializer(fresh).data)

    def perform_create(self, serializer):
        serializer.save()
        serializer.instance = Agreement.objects.prefetch_related(_versions_prefetch()).get(
            pk=serializer.instance.pk
        )

    @extend_schema(responses={200: AgreementVersionSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        """The frozen versions of the agreement, newest first."""
        agreement = self.get_object()
        versions = agreement.versions.select_related("created_by").order_by("-version")
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(AgreementVersionSerializer(page, many=True).data)

    @extend_schema(responses={200: CommitmentSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], url_path="commitments")
    def commitments(self, request, pk=None):
        """Marketing's logged commitments for this agreement, newest month first."""
        agreement = self.get_object()
        commitments = agreement.commitments.select_related(
            "logged_by", "agreement__calendar"
        ).order_by("-month")
        page = self.paginate_queryset(commitments)
        return self.get_paginated_response(CommitmentSerializer(page, many=True).data)

    @extend_schema(
        request=CommitmentInputSerializer,
        parameters=[OpenApiParameter("month", str, OpenApiParameter.PATH, description="YYYY-MM")],
        responses={200: CommitmentSerializer, **ERRORS},
    )
    @action(detail=True, methods=["put"], url_path=r"commitments/(?P<month>[^/]+)")
    def commitment(self, request, pk=None, month=None):
        """Log (or re-log) marketing's commitment for a month: members of the agreement's
        marketing team and admins."""
        agreement = get_object_or_404(agreements_visible_to(request.user), pk=pk)
        if not may_log_commitment(request.user, agreement):
            raise PermissionDenied(
                "Only marketing managers of the agreement's marketing team, or an admin, "
                "may log its commitment."
            )
        month_field(month)
        data = CommitmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        commitment = commitment_log(
            agreement=agreement,
            month=month,
            quota=data.validated_data.get("quota"),
            note=data.validated_data["note"],
            by=request.user,
            now=timezone.now(),
        )
        return Response(CommitmentSerializer(commitment).data, status=status.HTTP_200_OK)

    @extend_schema(
        request=MonthReopenInput,
        parameters=[OpenApiParameter("month", str, OpenApiParameter.PATH, description="YYYY-MM")],
        responses={201: MonthReopeningSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path=r"months/(?P<month>[^/]+)/reopen")
    def reopen(self, request, pk=None, month=None):
        """Reopen a closed month (admins), saying why: it takes late leads and a new
        commitment until it closes again, and the month checks judge it again."""
        agreement = get_object_or_404(agreements_visible_to(request.user), pk=pk)
        if not may_reopen_month(request.user):
            raise PermissionDenied("Only an admin reopens a closed month.")
        data = MonthReopenInput(data=request.data)
        data.is_valid(raise_exception=True)
        reopening = month_reopen(
            agreement=agreement,
            month=month,
            reason=data.validated_data["reason"],
            by=request.user,
            now=timezone.now(),
        )
        return Response(MonthReopeningSerializer(reopening).data, status=status.HTTP_201_CREATED)
