"""The team pages: who is in a sales team, who is away, how many open leads each holds and
their cap; recording and removing absences, setting caps.

Sales managers see their own sales teams, admins every team (`accounts.access.team_scope`).
Moving an absent rep's open leads is the agreement's business (sla.reassign): its button
posts to sla's page (`team-move-open-leads`), which comes back here with a message.
Times are read and written on the team calendar's wall clock (UTC without a calendar).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.absences import absence_create, absence_delete, capacity_set
from accounts.access import may_manage_teams, team_scope
from accounts.models import Absence, Role, Team, User

UPCOMING_SHOWN = 20  # absences listed per team (away now and next)


def teams_visible_to(user):
    scope = team_scope(user)
    return Team.objects.all() if scope is None else Team.objects.filter(scope)


def team_zone(team: Team) -> str:
    return team.calendar.timezone if team.calendar_id else "UTC"


class AbsenceForm(forms.Form):
    """An absence typed on the team calendar's wall clock."""

    user = forms.ChoiceField(label="Who")
    starts_at = forms.DateTimeField(
        label="Away from",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label="Back at",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(label="Reason", required=False, max_length=200)

    def __init__(self, *args, members: list[User], zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(zone)
        self.fields["user"].choices = [
            (m.username, m.get_full_name() or m.username)
            for m in members
            if m.role in (Role.SALES, Role.SALES_MANAGER)
        ]

    def _aware(self, name: str) -> datetime | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        # The form reads a wall time; Django made it aware in the server's zone.
        if timezone.is_aware(value):
            value = timezone.make_naive(value)
        return value.replace(tzinfo=self.zone)

    def clean_starts_at(self):
        return self._aware("starts_at")

    def clean_ends_at(self):
        return self._aware("ends_at")


def _members(team: Team):
    """The team's people with their open leads (as the inbox counts them): one query."""
    open_q = Q(owned_leads__closed_at__isnull=True, owned_leads__qualifies=True)
    return list(
        team.members.annotate(open_leads=Count("owned_leads", filter=open_q)).order_by(
            "role", "username"
        )
    )


def _context(request, team: Team, *, form: AbsenceForm | None = None) -> dict:
    now = timezone.now()
    zone = team_zone(team)
    members = _members(team)
    absences = list(
        Absence.objects.filter(user__in=[m.pk for m in members], ends_at__gt=now)
        .select_related("user", "created_by")
        .order_by("starts_at", "user__username")[:UPCOMING_SHOWN]
    )
    away_now = {a.user_id: a for a in absences if a.starts_at <= now}
    next_away = {}
    for absence in absences:
        if absence.starts_at > now:
            next_away.setdefault(absence.user_id, absence)
    rows = [
        {
            "member": m,
            "away": away_now.get(m.pk),
            "next": next_away.get(m.pk),
            "is_rep": m.role == Role.SALES,
        }
        for m in members
    ]
    queue = team.leads.filter(owner__isnull=True, closed_at__isnull=True, qualifies=True).count()
    return {
        "team": team,
        "zone": zone,
        "rows": rows,
        "absences": absences,
        "queue": queue,
        "now": now,
        "form": form or AbsenceForm(members=members, zone=zone),
    }


@login_required
def team_list(request):
    if not may_manage_teams(request.user):
        raise PermissionDenied
    now = timezone.now()
    # By id: the visibility filter joins the members (a manager's own teams), and counting
    # over that same join would count only the manager.
    visible = teams_visible_to(request.user).values("pk")
    teams = (
        Team.objects.filter(pk__in=visible, kind=Team.Kind.SALES)
        .annotate(
            people=Count("members", distinct=True),
            away=Count(
                "members__absences",
                filter=Q(members__absences__starts_at__lte=now, members__absences__ends_at__gt=now),
                distinct=True,
            ),
        )
        .order_by("name")
    )
    return render(request, "accounts/team_list.html", {"teams": teams})


def _team_for(request, pk: int) -> Team:
    if not may_manage_teams(request.user):
        raise PermissionDenied
    return get_object_or_404(teams_visible_to(request.user).select_related("calendar"), pk=pk)


@login_required
def team_detail(request, pk: int):
    team = _team_for(request, pk)
    return render(request, "accounts/team_detail.html", _context(request, team))


@login_required
@require_POST
def team_absence_add(request, pk: int):
    team = _team_for(request, pk)
    members = _members(team)
    form = AbsenceForm(request.POST, members=members, zone=team_zone(team))
    if form.is_valid():
        data = form.cleaned_data
        person = next(m for m in members if m.username == data["user"])
        try:
            absence = absence_create(
                user=person,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
                by=request.user,
                at=timezone.now(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{person.username} is recorded away: {absence.reason or 'no reason given'}.",
            )
            return redirect("team-detail", pk=team.pk)
    context = _context(request, team, form=form)
    return render(request, "accounts/team_detail.html", context, status=400)


@login_required
@require_POST
def team_absence_delete(request, pk: int, absence_id: int):
    team = _team_for(request, pk)
    absence = get_object_or_404(
        Absence.objects.select_related("user"), pk=absence_id, user__teams=team
    )
    absence_delete(absence=absence, by=request.user)
    messages.success(request, f"The absence of {absence.user.username} is removed.")
    return redirect("team-detail", pk=team.pk)


@login_required
@require_POST
def team_cap_set(request, pk: int, username: str):
    team = _team_for(request, pk)
    member = get_object_or_404(team.members.all(), username=username)
    text = request.POST.get("max_open_leads", "").strip()
    try:
        value = None if text == "" else int(text)
    except ValueError:
        value = text  # the service names the rule
    try:
        capacity_set(member=member, max_open_leads=value, by=request.user)
    except ValidationError as exc:
        for message in exc.message_dict.get("max_open_leads", exc.messages):
            messages.error(request, f"Cap for {username}: {message}")
    else:
        plural = "" if value == 1 else "s"
        shown = "no cap" if value is None else f"at most {value} open lead{plural}"
        messages.success(request, f"{username}: {shown}.")
    return redirect("team-detail", pk=team.pk)
