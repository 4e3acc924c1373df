"""`/api/absences/`: when sales people are away (round robin passes them by meanwhile).

Sales managers record and remove the absences of their own teams' members, admins
everyone's; a rep reads their own; executives read all. The rules are
`accounts.absences`; this module only parses and answers.
"""

import django_filters
from django import forms
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated

from accounts.absences import absence_create, absence_delete, absences_visible_to
from accounts.access import has_role
from accounts.models import Absence, Role, Team, User
from core.filters import InstantFilter


class _SwitchField(forms.Field):
    """`1`/`true` or `0`/`false` (the lists' switches, as `?current=1`)."""

    def clean(self, value):
        text = str(super().clean(value) or "").strip().lower()
        if text in ("", "0", "false"):
            return False
        if text in ("1", "true"):
            return True
        raise forms.ValidationError("Use 1 or 0.")


@extend_schema_field(OpenApiTypes.STR)  # a text box in the docs, not an unlabelled select
class _SwitchFilter(django_filters.Filter):
    field_class = _SwitchField


class AbsenceFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username", help_text="A username.")
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), field_name="user__teams", help_text="A team id."
    )
    at = InstantFilter(
        field_name="starts_at",  # its type, for the schema
        method="filter_at",
        help_text="Only absences covering this ISO-8601 instant.",
    )
    current = _SwitchFilter(method="filter_current", help_text="`1`: only the people away now.")
    upcoming = _SwitchFilter(
        method="filter_upcoming", help_text="`1`: only absences not yet over (now or later)."
    )

    class Meta:
        model = Absence
        fields = ["user", "team", "at", "current", "upcoming"]

    def filter_at(self, queryset, name, value):
        return queryset.filter(starts_at__lte=value, ends_at__gt=value) if value else queryset

    def filter_current(self, queryset, name, value):
        return self.filter_at(queryset, name, timezone.now()) if value else queryset

    def filter_upcoming(self, queryset, name, value):
        return queryset.filter(ends_at__gt=timezone.now()) if value else queryset


class AbsenceSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Absence
        fields = ["id", "user", "starts_at", "ends_at", "reason", "created_by", "created_at"]
        read_only_fields = ["id", "created_by", "created_at"]


class AbsenceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Absences the caller may see; sales managers (their teams) and admins record and
    delete them. Overlapping absences of one person, or an end not after the start, are
    refused (400 naming the field), and nothing is written."""

    serializer_class = AbsenceSerializer
    filterset_class = AbsenceFilter
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Absence.objects.none()
        return absences_visible_to(self.request.user).order_by("starts_at", "id")

    def _refuse_unless_manager(self):
        if not has_role(self.request.user, Role.SALES_MANAGER):
            raise PermissionDenied("Only sales managers and admins record absences.")

    @extend_schema(responses={201: AbsenceSerializer})
    def create(self, request, *args, **kwargs):
        self._refuse_unless_manager()
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = absence_create(
            user=data["user"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data.get("reason", ""),
            by=self.request.user,
            at=timezone.now(),
        )

    def destroy(self, request, *args, **kwargs):
        self._refuse_unless_manager()
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        absence_delete(absence=instance, by=self.request.user)
