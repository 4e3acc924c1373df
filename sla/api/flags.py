"""`/api/flags/`: every missed or threatened promise, and resolving one with a note."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.access import may_resolve_flag, may_resolve_flags
from sla.filters import FlagFilter
from sla.flags import flag_resolve
from sla.models import Flag
from sla.selectors import flags_visible_to


class FlagSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    resolved_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "kind",
            "raised_at",
            "due_at",
            "lead",
            "agreement",
            "month",
            "owner",
            "state",
            "detail",
            "team",
            "clock",
            "noticed_at",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "superseded_by",
        ]
        read_only_fields = fields
        extra_kwargs = {  # noqa: RUF012 (DRF reads it as is)
            "superseded_by": {
                "help_text": "For an at-risk warning: the breach that followed it and resolved it."
            }
        }


class ResolveInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FlagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Flags the caller may see: a rep their own, a sales manager their teams', marketing
    their agreements', executives and admins all. Never deleted; resolved with a note."""

    serializer_class = FlagSerializer
    filterset_class = FlagFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Flag.objects.none()
        return flags_visible_to(self.request.user).select_related("owner", "resolved_by")

    @extend_schema(
        request=ResolveInput,
        responses={200: FlagSerializer, 409: inline_serializer("Conflict", {"detail": str})},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve an open flag with a note (sales managers and admins; marketing managers
        for the quota and quality flags of their agreements)."""
        user = request.user
        if not may_resolve_flags(user):
            raise PermissionDenied("Only sales managers and admins may resolve flags.")
        flag = self.get_object()
        if not may_resolve_flag(user, flag):
            raise PermissionDenied("Marketing managers resolve only quota and quality flags.")
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        flag = flag_resolve(flag=flag, by=user, note=data.validated_data["note"], at=timezone.now())
        return Response(FlagSerializer(flag).data)
