"""`/api/flags/`: every missed or threatened promise, and resolving one with a note."""

from django.core.validators import RegexValidator
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.access import has_role
from accounts.models import Role, Team
from core.errors import RuleRefused
from sla.compliance import flags_visible_to
from sla.flags import FlagAlreadyResolved, flag_resolve
from sla.models import Agreement, Flag
from sla.selectors import flag_resolvable_by

MONTH = RegexValidator(r"^\d{4}-(0[1-9]|1[0-2])$", "Enter a month as YYYY-MM.")


class FlagSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

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
        ]
        read_only_fields = fields


class ResolveInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FlagFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Flag.Kind.choices)
    state = filters.ChoiceFilter(choices=Flag.State.choices)
    month = filters.CharFilter(validators=[MONTH], help_text="YYYY-MM")
    team = filters.ModelChoiceFilter(queryset=Team.objects.all())
    agreement = filters.ModelChoiceFilter(queryset=Agreement.objects.all())
    lead = filters.NumberFilter(field_name="lead_id")
    owner = filters.CharFilter(method="filter_owner", help_text="A username, or `me`.")

    class Meta:
        model = Flag
        fields = ["kind", "state", "month", "team", "agreement", "lead", "owner"]

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner=self.request.user)
        return queryset.filter(owner__username=value)


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
        if not has_role(user, Role.SALES_MANAGER, Role.MARKETING):
            raise PermissionDenied("Only sales managers and admins may resolve flags.")
        flag = self.get_object()
        if not flag_resolvable_by(user, flag):
            raise PermissionDenied("Marketing managers resolve only quota and quality flags.")
        data = ResolveInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            flag = flag_resolve(
                flag=flag, by=user, note=data.validated_data["note"], at=timezone.now()
            )
        except FlagAlreadyResolved as exc:
            raise RuleRefused(str(exc)) from exc
        return Response(FlagSerializer(flag).data)
