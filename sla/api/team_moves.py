"""`/api/teams/<id>/members/<username>/move-open-leads/` and `/api/teams/<id>/assign-queue/`:
moving an absent rep's open leads, and the manager queue, round robin (sla.reassign)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import has_role, may_manage_member, team_scope
from accounts.models import Role, Team
from sla.reassign import open_leads_move, queue_assign

MOVED = inline_serializer(
    "LeadsMoved",
    {
        "moved": serializers.IntegerField(help_text="How many leads changed hands."),
        "to": serializers.DictField(
            child=serializers.IntegerField(), help_text="{username: leads given}"
        ),
        "left": serializers.IntegerField(help_text="Leads no rep was free to take."),
    },
)
CONFLICT = inline_serializer("MoveConflict", {"detail": serializers.CharField()})


def _team_of(request, pk: int) -> Team:
    """The team, if the caller manages it (404 otherwise: existence is not disclosed)."""
    if not has_role(request.user, Role.SALES_MANAGER):
        raise PermissionDenied("Only sales managers and admins move leads.")
    scope = team_scope(request.user)
    teams = Team.objects.all() if scope is None else Team.objects.filter(scope)
    return get_object_or_404(teams, pk=pk)


class MoveOpenLeadsView(APIView):
    """Spread every open lead of an absent member over the team's free reps, round robin
    (away and capped reps passed by). Clocks keep running; due times do not move."""

    @extend_schema(
        request=None, responses={200: MOVED, 409: CONFLICT}, operation_id="team_move_open_leads"
    )
    def post(self, request, pk: int, username: str):
        team = _team_of(request, pk)
        member = get_object_or_404(team.members.all(), username=username)
        if not may_manage_member(request.user, member):
            raise PermissionDenied("Only a sales manager of the team, or an admin, may.")
        return Response(
            open_leads_move(team=team, member=member, by=request.user, at=timezone.now())
        )


class AssignQueueView(APIView):
    """Give the team's manager queue (open leads with no owner) to its free reps, round
    robin; their `unassigned` flags resolve."""

    @extend_schema(request=None, responses={200: MOVED}, operation_id="team_assign_queue")
    def post(self, request, pk: int):
        team = _team_of(request, pk)
        return Response(queue_assign(team=team, by=request.user, at=timezone.now()))
