"""`/api/leads/<id>/dispute/` and `.../dispute/ruling/`: marketing disputes a sales
rejection; the sales side rules. The rules live in sla/disputes.py; both answer the lead."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead
from sla.api.lead_serializers import LeadDetailSerializer
from sla.disputes import RULING_OUTCOMES, dispute_open, dispute_rule, may_dispute, may_rule
from sla.selectors import lead_list, leads_with_terms

ERRORS = {
    400: OpenApiResponse(description="Bad input: `{field: [messages]}`."),
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(description="This role may not do this on this lead."),
    404: OpenApiResponse(description="No such lead, or not visible to the caller."),
    409: OpenApiResponse(description="A rule refuses it: `{detail, rule}`."),
}
PATH = [OpenApiParameter("pk", int, OpenApiParameter.PATH, description="The lead.")]


class DisputeInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="Why the rejection is wrong.")


class RulingInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=RULING_OUTCOMES, help_text="upheld: the rejection stands; overturned: accepted."
    )
    note = serializers.CharField(max_length=5000, help_text="Why.")


def _lead(request, pk) -> Lead:
    return get_object_or_404(lead_list(request.user, now=timezone.now()), pk=pk)


def _answer(request, lead: Lead) -> Response:
    fresh = leads_with_terms(Lead.objects.filter(pk=lead.pk), detail=True).get()
    context = {"request": request, "now": timezone.now()}
    return Response(LeadDetailSerializer(fresh, context=context).data)


@extend_schema(tags=["leads"])
class LeadDisputeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=PATH,
        request=DisputeInputSerializer,
        responses={200: LeadDetailSerializer, **ERRORS},
    )
    def post(self, request, pk):
        """Marketing disputes the lead's rejection within the agreement's dispute window."""
        lead = _lead(request, pk)
        if not may_dispute(request.user, lead.terms.agreement):
            raise PermissionDenied("Only marketing of the agreement's marketing team disputes.")
        body = DisputeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispute_open(
            lead=lead, by=request.user, note=body.validated_data["note"], now=timezone.now()
        )
        return _answer(request, lead)


@extend_schema(tags=["leads"])
class LeadDisputeRulingView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=PATH,
        request=RulingInputSerializer,
        responses={200: LeadDetailSerializer, **ERRORS},
    )
    def post(self, request, pk):
        """A sales manager of the lead's team (or an admin) upholds or overturns it."""
        lead = _lead(request, pk)
        if not may_rule(request.user, lead):
            raise PermissionDenied("Only a sales manager of the lead's team, or an admin, rules.")
        body = RulingInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispute_rule(
            lead=lead,
            by=request.user,
            outcome=body.validated_data["outcome"],
            note=body.validated_data["note"],
            now=timezone.now(),
        )
        return _answer(request, lead)
