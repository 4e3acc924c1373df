"""`/api/teams/`: marketing and sales teams, their members (by username) and calendar."""

from django.db import transaction
from django.db.models import ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.absences import capacity_set
from accounts.access import AdminWritesOthersRead, has_role
from accounts.models import Role, Team, User
from calendars.models import BusinessCalendar
from core.errors import RuleRefused


class MemberSerializer(serializers.ModelSerializer):
    """A member as the team shows them: their role and their cap on open leads."""

    class Meta:
        model = User
        fields = ["username", "role", "max_open_leads"]
        read_only_fields = fields


class CapacityInput(serializers.Serializer):
    max_open_leads = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=2_147_483_647,
        help_text="Most open leads round robin gives them; null: no cap.",
    )


class TeamSerializer(serializers.ModelSerializer):
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), allow_null=True, required=False
    )
    members = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )
    member_details = MemberSerializer(source="members", many=True, read_only=True)
    # A chat webhook URL is a secret (whoever has it posts to the channel): written, never
    # read back; `has_chat_webhook` says whether one is set.
    chat_webhook_url = serializers.URLField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Slack-compatible incoming webhook for the team's flags; write-only.",
    )
    has_chat_webhook = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = [
            "id",
            "name",
            "kind",
            "calendar",
            "members",
            "member_details",
            "chat_webhook_url",
            "has_chat_webhook",
            "created_at",
        ]
        read_only_fields = ["id", "member_details", "has_chat_webhook", "created_at"]

    def get_has_chat_webhook(self, team) -> bool:
        return bool(team.chat_webhook_url)

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

    @extend_schema(request=CapacityInput, responses={200: MemberSerializer})
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"members/(?P<username>[^/]+)",
        permission_classes=[IsAuthenticated],
    )
    def member(self, request, pk=None, username=None):
        """Set a member's `max_open_leads` (null: no cap): the team's sales managers and
        admins. Round robin passes a rep by while they hold that many open leads."""
        if not has_role(request.user, Role.SALES_MANAGER):
            raise PermissionDenied("Only sales managers and admins set a member's cap.")
        team = self.get_object()
        member = team.members.filter(username=username).first()
        if member is None:
            raise NotFound(f"{username!r} is not a member of {team}.")
        data = CapacityInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = capacity_set(
            member=member, max_open_leads=data.validated_data["max_open_leads"], by=request.user
        )
        return Response(MemberSerializer(member).data)

    @transaction.atomic
    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise RuleRefused(
                "The team is used by agreements or leads; remove its members instead."
            ) from exc
