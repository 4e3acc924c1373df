"""`/api/compliance/`: both sides of an agreement for one month, as API.md defines them."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.timeparse import parse_month
from sla.compliance import MARKETING_STATUSES, compliance_for, current_month
from sla.selectors import agreements_visible_to


class ComplianceQuery(serializers.Serializer):
    agreement = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    month = serializers.CharField(required=False, help_text="YYYY-MM; default this month.")

    def validate_month(self, value):
        try:
            parse_month(value)
        except ValueError as exc:  # the one parser's message: the form, or the range
            raise serializers.ValidationError(str(exc)) from None
        return value


class MarketingFigures(serializers.Serializer):
    committed = serializers.IntegerField()
    delivered = serializers.IntegerField()
    delivered_qualified = serializers.IntegerField()
    duplicates = serializers.IntegerField(
        help_text="Leads delivered again (same e-mail, same agreement) while the first was "
        "open, within the agreement's duplicate window: not counted as qualified."
    )
    attainment_percent = serializers.FloatField(allow_null=True)
    expected_to_date = serializers.FloatField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    acceptance_percent = serializers.FloatField(
        allow_null=True,
        help_text="100 × accepted / (accepted + rejected): a rejection counts once final "
        "(undisputed past the dispute window, or upheld); an overturned one is accepted.",
    )
    rejections_pending = serializers.IntegerField(
        help_text="Rejections inside their dispute window or under dispute: in neither count."
    )
    disputes_open = serializers.IntegerField(help_text="Disputed rejections not yet ruled on.")
    status = serializers.ChoiceField(
        choices=list(MARKETING_STATUSES.items()),
        help_text="`not_in_effect`: the agreement covers no day of the month; `not_started`: "
        "the month has not begun; else `on_track`, `at_risk`, `met` or (a closed month) `missed`.",
    )


class SalesFigures(serializers.Serializer):
    leads = serializers.IntegerField()
    touched_within_sla = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_percent = serializers.FloatField(allow_null=True)
    median_first_touch_minutes = serializers.IntegerField(allow_null=True)
    p90_first_touch_minutes = serializers.IntegerField(allow_null=True)
    open_breaches = serializers.IntegerField()
    premature_abandons = serializers.IntegerField()


class RepFigures(serializers.Serializer):
    owner = serializers.CharField(allow_null=True)
    leads = serializers.IntegerField()
    touched_within_sla = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_percent = serializers.FloatField(allow_null=True)
    median_first_touch_minutes = serializers.IntegerField(allow_null=True)
    p90_first_touch_minutes = serializers.IntegerField(allow_null=True)


class TierFigures(serializers.Serializer):
    tier = serializers.CharField(
        allow_null=True, help_text="The tier stamped on the leads; null: the agreement's own terms."
    )
    leads = serializers.IntegerField()
    touched_within_sla = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_percent = serializers.FloatField(allow_null=True)
    median_first_touch_minutes = serializers.IntegerField(allow_null=True)
    p90_first_touch_minutes = serializers.IntegerField(allow_null=True)


class ComplianceOutput(serializers.Serializer):
    month = serializers.CharField()
    agreement = serializers.IntegerField()
    timezone = serializers.CharField(help_text="The agreement calendar's zone.")
    as_of = serializers.DateTimeField()
    period = serializers.ChoiceField(
        choices=["open", "grace", "closed"],
        help_text="open: the month runs (or an admin reopened it); grace: it is over and "
        "late leads still land; closed: its commitment, terms and counts are final.",
    )
    marketing = MarketingFigures()
    sales = SalesFigures()
    by_rep = RepFigures(many=True)
    by_tier = TierFigures(many=True)


class ComplianceView(APIView):
    """Marketing's quota and quality, sales' first-touch compliance, each rep's and each
    tier's."""

    @extend_schema(
        parameters=[
            OpenApiParameter("agreement", int, required=True),
            OpenApiParameter("month", str, description="YYYY-MM in the calendar's zone"),
        ],
        responses={
            200: ComplianceOutput,
            404: OpenApiResponse(description="No such agreement, or not visible to the caller."),
        },
    )
    def get(self, request):
        query = ComplianceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        visible = agreements_visible_to(request.user).select_related("calendar")
        agreement = get_object_or_404(visible, pk=query.validated_data["agreement"])
        now = timezone.now()
        month = query.validated_data.get("month") or current_month(
            agreement.calendar.as_work_calendar(), now
        )
        figures = compliance_for(agreement=agreement, month=month, at=now)
        return Response(ComplianceOutput(figures).data)
