"""`/api/teams/`: marketing and sales teams, their members (by username) and calendar."""

from django.db import transaction
from django.db.models import ProtectedError
from rest_framework import serializers, viewsets

from accounts.access import AdminWritesOthersRead
from accounts.models import Team, User
from calendars.models import BusinessCalendar
from core.errors import RuleRefused


class TeamSerializer(serializers.ModelSerializer):
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), allow_null=True, required=False
    )
    members = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )

    class Meta:
        model = Team
        fields = ["id", "name", "kind", "calendar", "members", "chat_webhook_url", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        if self.instance is not None and kind != self.instance.kind:
            used = self.instance.marketing_agreements.exists() or (
                self.instance.sales_agreements.exists()
            )
            if used:
                raise serializers.ValidationError(
                    {"kind": "An agreement relies on this team's kind; it cannot change."}
                )
        return attrs


class TeamViewSet(viewsets.ModelViewSet):
    """Teams: every signed-in person reads them, the admin role changes them."""

    queryset = Team.objects.select_related("calendar").prefetch_related("members")
    serializer_class = TeamSerializer
    permission_classes = [AdminWritesOthersRead]
    filterset_fields = ["kind"]

    @transaction.atomic
    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise RuleRefused(
                "The team is used by agreements or leads; remove its members instead."
            ) from exc
