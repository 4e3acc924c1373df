"""`/api/agreements/<id>/proposals/`: proposed changes to an agreement's terms, their
what-if on the last closed months, and their sign-off by both sides.

The rules (who proposes, the effective date, one open proposal per side, validation by the
agreement's own rules, applying an accepted proposal) live in sla/proposals.py; the replay
in sla/whatif.py.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from sla.api.agreements import AgreementMarketingTermsSerializer, AgreementSalesTermsSerializer
from sla.models import Agreement, Proposal
from sla.proposals import (
    SIDES,
    managed_sides,
    proposal_accept,
    proposal_create,
    proposal_reject,
    proposal_terms,
)
from sla.selectors import agreements_visible_to
from sla.whatif import DEFAULT_MONTHS, MAX_MONTHS, whatif

ERRORS = {
    400: OpenApiResponse(description="Bad input: `{field: [messages]}`."),
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(description="Not a manager of either side of the agreement."),
    404: OpenApiResponse(description="No such agreement or proposal, or not visible."),
    409: OpenApiResponse(description="A rule refuses it: `{detail, rule}`."),
}
PATH = [
    OpenApiParameter("pk", int, OpenApiParameter.PATH, description="The agreement."),
]
PROPOSAL_PATH = [
    *PATH,
    OpenApiParameter("pid", int, OpenApiParameter.PATH, description="The proposal."),
]


class SignatureSerializer(serializers.Serializer):
    by = serializers.CharField(help_text="Username.")
    at = serializers.DateTimeField()
    acting_for = serializers.CharField(
        allow_null=True, help_text="The side an admin signed for; null: a manager of it."
    )


class ProposalEventSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="proposed, accepted, rejected, superseded, in_effect")
    side = serializers.CharField(allow_blank=True)
    acting_for = serializers.CharField(allow_null=True)
    by = serializers.CharField(source="by.username", allow_null=True, default=None)
    at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agreement = serializers.IntegerField(source="agreement_id")
    state = serializers.ChoiceField(choices=Proposal.State.choices)
    side = serializers.ChoiceField(choices=Proposal.Side.choices, help_text="The proposer's.")
    note = serializers.CharField()
    effective_from = serializers.DateField()
    base_version = serializers.IntegerField(help_text="The agreement version it changes.")
    sales = serializers.SerializerMethodField(help_text="The sales terms it changes.")
    marketing = serializers.SerializerMethodField(help_text="The marketing terms it changes.")
    definition = serializers.SerializerMethodField(help_text="The definition it moves to.")
    counters = serializers.IntegerField(source="counters_id", allow_null=True)
    proposed_by = serializers.CharField(source="proposed_by.username", allow_null=True)
    proposed_at = serializers.DateTimeField()
    accepted_by_marketing = serializers.SerializerMethodField()
    accepted_by_sales = serializers.SerializerMethodField()
    rejected_by = serializers.CharField(source="rejected_by.username", allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    reject_reason = serializers.CharField(allow_blank=True)
    version_made = serializers.IntegerField(
        allow_null=True, help_text="The agreement version it became once in effect."
    )
    events = ProposalEventSerializer(many=True, source="events.all")

    def get_sales(self, proposal) -> dict:
        return {k: v for k, v in proposal.changes.items() if k in Agreement.SALES_TERMS}

    def get_marketing(self, proposal) -> dict:
        return {k: v for k, v in proposal.changes.items() if k in Agreement.MARKETING_TERMS}

    def get_definition(self, proposal) -> int | None:
        return proposal.changes.get("definition")

    def _signature(self, proposal, side: str):
        by = getattr(proposal, f"{side}_signed_by")
        if by is None:
            return None
        return {
            "by": by.username,
            "at": getattr(proposal, f"{side}_signed_at"),
            "acting_for": side if getattr(proposal, f"{side}_signed_as_admin") else None,
        }

    @extend_schema_field(SignatureSerializer(allow_null=True))
    def get_accepted_by_marketing(self, proposal) -> dict | None:
        return self._signature(proposal, "marketing")

    @extend_schema_field(SignatureSerializer(allow_null=True))
    def get_accepted_by_sales(self, proposal) -> dict | None:
        return self._signature(proposal, "sales")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for event in data["events"]:
            event["acting_for"] = event["acting_for"] or None
        return data


class ProposalInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="What it changes and why.")
    effective_from = serializers.DateField(help_text="The 1st of a month, not in the past.")
    sales = AgreementSalesTermsSerializer(required=False, help_text="Sales terms to change.")
    marketing = AgreementMarketingTermsSerializer(
        required=False, help_text="Marketing terms to change."
    )
    definition = serializers.IntegerField(
        required=False, help_text="Another lead definition of the marketing team (its id)."
    )
    counters = serializers.IntegerField(
        required=False, help_text="The open proposal this one answers; it is superseded."
    )
    acting_for = serializers.ChoiceField(
        choices=list(SIDES), required=False, help_text="The side an admin proposes for."
    )

    def validate(self, attrs):
        for name, nested in (
            ("sales", AgreementSalesTermsSerializer),
            ("marketing", AgreementMarketingTermsSerializer),
        ):
            given = self.initial_data.get(name)
            if isinstance(given, dict):
                unknown = sorted(set(given) - set(nested().fields))
                if unknown:
                    raise ValidationError(
                        {name: {key: ["not a term of this side."] for key in unknown}}
                    )
        return attrs


class SideInputSerializer(serializers.Serializer):
    acting_for = serializers.ChoiceField(
        choices=list(SIDES), required=False, help_text="The side an admin acts for."
    )


class RejectInputSerializer(SideInputSerializer):
    reason = serializers.CharField(max_length=5000, help_text="Why it is rejected.")


def _agreement(request, pk) -> Agreement:
    return get_object_or_404(agreements_visible_to(request.user).select_related("calendar"), pk=pk)


def _proposal(request, pk, pid) -> Proposal:
    agreement = _agreement(request, pk)
    return get_object_or_404(_proposals().filter(agreement=agreement), pk=pid)


def _proposals():
    return Proposal.objects.select_related(
        "agreement__calendar",
        "proposed_by",
        "marketing_signed_by",
        "sales_signed_by",
        "rejected_by",
    ).prefetch_related("events__by")


def _answer(proposal: Proposal, code=status.HTTP_200_OK) -> Response:
    return Response(ProposalSerializer(_proposals().get(pk=proposal.pk)).data, status=code)


def _require_manager(request, agreement: Agreement) -> None:
    if not managed_sides(request.user, agreement):
        raise PermissionDenied(
            "Only a marketing manager of the agreement's marketing team, a sales manager of "
            "its sales team, or an admin may act on its proposals."
        )


@extend_schema(tags=["agreements"])
class ProposalListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=PATH, responses={200: ProposalSerializer(many=True), **ERRORS})
    def get(self, request, pk):
        """The agreement's proposals, newest first (everyone who sees the agreement)."""
        agreement = _agreement(request, pk)
        rows = _proposals().filter(agreement=agreement).order_by("-proposed_at", "-id")
        return Response(ProposalSerializer(rows, many=True).data)

    @extend_schema(
        parameters=PATH,
        request=ProposalInputSerializer,
        responses={201: ProposalSerializer, **ERRORS},
    )
    def post(self, request, pk):
        """Propose changes to either side's terms (a manager of a side, or an admin for a
        side); with `counters`, answer an open proposal, which is superseded."""
        agreement = _agreement(request, pk)
        _require_manager(request, agreement)
        body = ProposalInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        changes = {**data.get("sales", {}), **data.get("marketing", {})}
        if "definition" in data:
            changes["definition"] = data["definition"]
        counters = None
        if "counters" in data:
            counters = Proposal.objects.filter(agreement=agreement, pk=data["counters"]).first()
            if counters is None:
                raise ValidationError({"counters": ["no such proposal of this agreement."]})
        proposal = proposal_create(
            agreement=agreement,
            by=request.user,
            note=data["note"],
            effective_from=data["effective_from"],
            changes=changes,
            acting_for=data.get("acting_for"),
            counters=counters,
            now=timezone.now(),
        )
        return _answer(proposal, status.HTTP_201_CREATED)


@extend_schema(tags=["agreements"])
class ProposalDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=PROPOSAL_PATH, responses={200: ProposalSerializer, **ERRORS})
    def get(self, request, pk, pid):
        """One proposal with its signatures and every step."""
        return Response(ProposalSerializer(_proposal(request, pk, pid)).data)


@extend_schema(tags=["agreements"])
class ProposalAcceptView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=PROPOSAL_PATH,
        request=SideInputSerializer,
        responses={200: ProposalSerializer, **ERRORS},
    )
    def post(self, request, pk, pid):
        """A manager of the side that has not signed accepts; both signed, it is accepted
        and becomes the agreement's next version from its effective date."""
        proposal = _proposal(request, pk, pid)
        _require_manager(request, proposal.agreement)
        body = SideInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        proposal = proposal_accept(
            proposal=proposal,
            by=request.user,
            acting_for=body.validated_data.get("acting_for"),
            now=timezone.now(),
        )
        return _answer(proposal)


@extend_schema(tags=["agreements"])
class ProposalRejectView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=PROPOSAL_PATH,
        request=RejectInputSerializer,
        responses={200: ProposalSerializer, **ERRORS},
    )
    def post(self, request, pk, pid):
        """Either side rejects the open proposal, saying why."""
        proposal = _proposal(request, pk, pid)
        _require_manager(request, proposal.agreement)
        body = RejectInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        proposal = proposal_reject(
            proposal=proposal,
            by=request.user,
            reason=body.validated_data["reason"],
            acting_for=body.validated_data.get("acting_for"),
            now=timezone.now(),
        )
        return _answer(proposal)


class WhatIfSidesSerializer(serializers.Serializer):
    period = serializers.CharField()
    marketing = serializers.DictField(help_text="As GET /api/compliance/ answers it.")
    sales = serializers.DictField(help_text="As GET /api/compliance/ answers it.")
    by_rep = serializers.ListField(child=serializers.DictField())


class WhatIfMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    measured = WhatIfSidesSerializer(help_text="What was measured.")
    proposed = WhatIfSidesSerializer(help_text="The month replayed under the proposal.")


class WhatIfSerializer(serializers.Serializer):
    proposal = serializers.IntegerField()
    agreement = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    months = WhatIfMonthSerializer(many=True, help_text="The last closed months, newest first.")


def months_param(raw) -> int:
    if raw in (None, ""):
        return DEFAULT_MONTHS
    try:
        months = int(raw)
    except (TypeError, ValueError):
        months = None
    if months is None or not 1 <= months <= MAX_MONTHS:
        raise ValidationError({"months": [f"must be a whole number from 1 to {MAX_MONTHS}."]})
    return months


@extend_schema(tags=["agreements"])
class ProposalWhatIfView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            *PROPOSAL_PATH,
            OpenApiParameter(
                "months", int, description=f"Closed months (default 3, at most {MAX_MONTHS})."
            ),
        ],
        responses={200: WhatIfSerializer, **ERRORS},
    )
    def get(self, request, pk, pid):
        """The last closed months as measured, and replayed under the proposal."""
        proposal = _proposal(request, pk, pid)
        months = months_param(request.query_params.get("months"))
        body = whatif(
            agreement=proposal.agreement,
            candidate=proposal_terms(proposal),
            months=months,
            at=timezone.now(),
        )
        return Response({"proposal": proposal.pk, **body})
