"""`/api/imports/`: CSV imports as background jobs, their progress, and cancelling one."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.access import MarketingOrAdminWrites, is_admin
from sla.api.lead_serializers import LeadImportInputSerializer
from sla.imports import import_cancel, import_start
from sla.models import ImportJob


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    errors = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "state",
            "phase",
            "file_name",
            "size",
            "agreement",
            "partial",
            "rows",
            "done",
            "created",
            "duplicates",
            "errors",
            "error_count",
            "detail",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


@extend_schema(tags=["leads"])
class ImportJobViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """CSV imports run by a worker: marketing and admins start them and read their own
    (admins every one); progress is `done` of `rows`, errors name the row and field."""

    serializer_class = ImportJobSerializer
    permission_classes = [MarketingOrAdminWrites]
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        jobs = ImportJob.objects.select_related("created_by")
        user = self.request.user
        return jobs if is_admin(user) else jobs.filter(created_by=user)

    @extend_schema(
        request={"multipart/form-data": LeadImportInputSerializer},
        responses={
            202: ImportJobSerializer,
            400: OpenApiResponse(description="`{field: [messages]}`: the file or agreement."),
            401: OpenApiResponse(description="No credentials."),
            403: OpenApiResponse(description="Only marketing and admins import leads."),
        },
    )
    def create(self, request):
        """Start an import of a CSV (up to IMPORT_MAX_MB and IMPORT_MAX_ROWS); 202 with the
        job, whose progress `GET /api/imports/<id>/` reports."""
        data = {name: request.data[name] for name in ("file", "agreement") if name in request.data}
        for name in ("agreement", "partial"):
            if name in request.query_params and name not in data:
                data[name] = request.query_params[name]
        if "partial" in request.data:
            data["partial"] = request.data["partial"]
        form = LeadImportInputSerializer(data=data)
        form.is_valid(raise_exception=True)
        job = import_start(
            by=request.user,
            upload=form.validated_data["file"],
            agreement=form.validated_data.get("agreement"),
            partial=form.validated_data["partial"],
            now=timezone.now(),
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the import: a queued job at once, a running one at its next chunk; the
        leads it delivered are removed."""
        job = import_cancel(job=self.get_object(), now=timezone.now())
        return Response(ImportJobSerializer(job).data)
