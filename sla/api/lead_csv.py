"""`/api/leads/import/` and `/api/leads/export.csv`: leads in and out as CSV.

Import parses with leads/csvfile.py and delivers each row through the same service as
`POST /api/leads/`. Export streams the filtered list (same filters and visibility as
the list) with a UTF-8 byte-order mark, every text cell made safe against formulas.
"""

from itertools import chain

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import MarketingOrAdminWrites
from leads.csvfile import csv_stream
from leads.models import Lead
from leads.scoring import LEAD_FIELDS
from sla.actions import leads_import
from sla.api.lead_serializers import LeadImportInputSerializer, LeadImportResultSerializer
from sla.filters import LeadFilter
from sla.selectors import lead_list, lead_sla

EXPORT_COLUMNS = (
    "id",
    "received_at",
    *LEAD_FIELDS,
    "score",
    "qualifies",
    "disqualified_by",
    "stage",
    "owner",
    "team",
    "agreement",
    "verdict",
    "verdict_reason",
    "sla_status",
    "first_touch_due_at",
    "first_touch_at_risk_at",
    "first_touched_at",
    "next_touch_due_at",
    "attempts",
    "attempts_required",
    "closed_at",
    "tier",
)


def export_row(lead: Lead, *, now) -> list:
    sla = lead_sla(lead, now=now)
    terms = getattr(lead, "terms", None)
    return [
        lead.pk,
        lead.received_at,
        lead.email,
        lead.first_name,
        lead.last_name,
        lead.company,
        lead.title,
        lead.country,
        lead.company_size,
        lead.source,
        lead.external_id,
        lead.score,
        lead.qualifies,
        "; ".join(lead.disqualified_by or []),
        lead.stage.slug,
        lead.owner.username if lead.owner else None,
        lead.team_id,
        terms.agreement_id if terms else None,
        lead.verdict,
        lead.verdict_reason.code if lead.verdict_reason else None,
        sla["status"],
        sla["first_touch_due_at"],
        sla["first_touch_at_risk_at"],
        sla["first_touched_at"],
        sla["next_touch_due_at"],
        sla["attempts"],
        sla["attempts_required"],
        lead.closed_at,
        sla["tier"],
    ]


class CsvRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; errors still go out as JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


class _FilteredSchema(AutoSchema):
    # The export is a list in all but its format: document the list's filters on it.
    def get_filter_backends(self):
        return getattr(self.view, "filter_backends", [])


@extend_schema(tags=["leads"])
class LeadExportView(generics.GenericAPIView):
    """The filtered lead list as CSV (UTF-8 with BOM), with each lead's SLA status and
    due times; cells that a spreadsheet would run as formulas are prefixed with '."""

    filterset_class = LeadFilter
    renderer_classes = [renderers.JSONRenderer, CsvRenderer]
    pagination_class = None
    schema = _FilteredSchema()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Lead.objects.none()
        return lead_list(self.request.user, now=timezone.now())

    def handle_exception(self, exc):
        # An error is JSON, as documented, even when the export was asked for as CSV.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return response

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with BOM."),
            400: OpenApiResponse(description="A filter is invalid: `{field: [messages]}`."),
            401: OpenApiResponse(description="No credentials."),
            404: OpenApiResponse(description="An unknown `format`."),
        }
    )
    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        now = timezone.now()
        rows = (export_row(lead, now=now) for lead in queryset.iterator(chunk_size=500))
        stamp = now.strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(
            csv_stream(chain([EXPORT_COLUMNS], rows)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
        return response


@extend_schema(tags=["leads"])
class LeadImportView(APIView):
    """Import leads from a CSV: all or nothing, unless `?partial=1` keeps the good rows."""

    permission_classes = [MarketingOrAdminWrites]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": LeadImportInputSerializer},
        parameters=[
            OpenApiParameter("partial", bool, description="Keep the good rows when some fail."),
            OpenApiParameter("agreement", int, description="Or as a form field, or a column."),
        ],
        responses={
            200: LeadImportResultSerializer,
            # Either shape: LeadImportResult, or the field errors of a refused form.
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Nothing imported: `errors` lists every row at fault (the "
                "LeadImportResult shape); or `{field: [messages]}` when the file or the "
                "agreement is refused.",
            ),
            401: OpenApiResponse(description="No credentials."),
            403: OpenApiResponse(description="Only marketing and admins import leads."),
        },
    )
    def post(self, request):
        data = {name: request.data[name] for name in ("file", "agreement") if name in request.data}
        for name in ("agreement", "partial"):
            if name in request.query_params and name not in data:
                data[name] = request.query_params[name]
        if "partial" in request.data:
            data["partial"] = request.data["partial"]
        form = LeadImportInputSerializer(data=data)
        form.is_valid(raise_exception=True)
        partial = form.validated_data["partial"]
        result = leads_import(
            by=request.user,
            file=form.validated_data["file"],
            agreement=form.validated_data.get("agreement"),
            partial=partial,
            now=timezone.now(),
        )
        if result["errors"] and not partial:
            count = len({error["row"] for error in result["errors"]})
            result["detail"] = (
                f"Nothing was imported: {count} row(s) have errors. "
                "Fix them, or send ?partial=1 to keep the good rows."
            )
            return Response(result, status=status.HTTP_400_BAD_REQUEST)
        return Response(result)
