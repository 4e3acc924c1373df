"""The team page's buttons that move leads (sla.reassign): an absent rep's open leads,
and the manager queue. Each answers with a message on the team page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import may_manage_member, may_manage_teams, team_scope
from accounts.models import Team
from core.errors import RuleRefused
from sla.reassign import open_leads_move, queue_assign


def _team(request, pk: int) -> Team:
    if not may_manage_teams(request.user):
        raise PermissionDenied
    scope = team_scope(request.user)
    teams = Team.objects.all() if scope is None else Team.objects.filter(scope)
    return get_object_or_404(teams, pk=pk)


def _said(answer: dict, what: str) -> str:
    if not answer["moved"]:
        text = f"No lead of {what} moved: no rep was free."
    else:
        given = ", ".join(f"{name} {n}" for name, n in answer["to"].items())
        text = (
            f"Moved {answer['moved']} lead{'s' if answer['moved'] != 1 else ''} of {what}: {given}."
        )
    if answer["moved"] and answer["left"]:
        text += f" {answer['left']} stayed: no rep was free for them."
    return text


@login_required
@require_POST
def team_move_open_leads(request, pk: int, username: str):
    team = _team(request, pk)
    member = get_object_or_404(team.members.all(), username=username)
    if not may_manage_member(request.user, member):
        raise PermissionDenied
    try:
        answer = open_leads_move(team=team, member=member, by=request.user, at=timezone.now())
    except RuleRefused as exc:
        messages.error(request, str(exc))
    else:
        level = messages.SUCCESS if answer["moved"] else messages.WARNING
        messages.add_message(request, level, _said(answer, username))
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_assign_queue(request, pk: int):
    team = _team(request, pk)
    answer = queue_assign(team=team, by=request.user, at=timezone.now())
    level = messages.SUCCESS if answer["moved"] else messages.WARNING
    messages.add_message(request, level, _said(answer, "the manager queue"))
    return redirect("team-detail", pk=team.pk)
