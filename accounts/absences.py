"""Absences and capacity: when a sales person is away, and how many open leads they may hold.

Round robin (`leads.services.leads.reps_take`) passes by a rep who is away at a lead's
`received_at` or who holds `max_open_leads` open leads; these are the rules that keep
that data sound. An absence is the half-open interval [starts_at, ends_at): a person
away until Monday 09:00 takes the lead received at 09:00. A person's absences never
overlap, so "is away at t" is one index probe and the team page reads one row per person.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from accounts.access import SALES_ROLES, has_role, may_manage_member
from accounts.models import Absence, Role, Team, User

REASON_MAX = Absence._meta.get_field("reason").max_length


# --- reads ----------------------------------------------------------------------------------


def absences_visible_to(viewer) -> QuerySet[Absence]:
    """An admin or an executive sees every absence, a sales manager those of their sales
    teams' members, a rep their own; anyone else none."""
    absences = Absence.objects.select_related("user", "created_by")
    if has_role(viewer, Role.EXECUTIVE):
        return absences
    if viewer.role == Role.SALES_MANAGER:
        teams = viewer.teams.filter(kind=Team.Kind.SALES).values("id")
        return absences.filter(Q(user__teams__in=teams) | Q(user=viewer)).distinct()
    if viewer.role == Role.SALES:
        return absences.filter(user=viewer)
    return absences.none()


def absences_filter(
    absences: QuerySet[Absence],
    *,
    user: str | None = None,
    team: int | None = None,
    at: datetime | None = None,
    upcoming_from: datetime | None = None,
) -> QuerySet[Absence]:
    """The list's filters: a person by username, a team's members, those covering `at`
    (away then), or those not yet over at `upcoming_from` (away now or later)."""
    if user:
        absences = absences.filter(user__username=user)
    if team is not None:
        absences = absences.filter(user__teams=team)
    if at is not None:
        absences = absences.filter(starts_at__lte=at, ends_at__gt=at)
    if upcoming_from is not None:
        absences = absences.filter(ends_at__gt=upcoming_from)
    return absences.order_by("starts_at", "user__username", "id")


# --- writes --------------------------------------------------------------------------------


def absence_create(
    *,
    user: User,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    by: User | None,
    at: datetime,
) -> Absence:
    """Record that `user` is away from `starts_at` to `ends_at`.

    Refused with a 400 naming the field: an end not after the start, a person who is not
    in sales (round robin gives leads only to sales), an overlap with another of their
    absences. The person's row is locked first, so two requests for the same person
    cannot both find no overlap and both insert (PostgreSQL; SQLite writes one at a time).
    """
    if by is not None and not may_manage_member(by, user):
        raise PermissionDenied("Only a sales manager of the person's team, or an admin, may.")
    if user.role not in SALES_ROLES:
        raise ValidationError({"user": f"{user.username!r} is not a sales rep or sales manager."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "must be after starts_at."})
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"at most {REASON_MAX} characters."})
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        clash = (
            Absence.objects.filter(user=user, starts_at__lt=ends_at, ends_at__gt=starts_at)
            .order_by("starts_at")
            .first()
        )
        if clash is not None:
            raise ValidationError(
                {
                    "starts_at": (
                        f"overlaps {user.username}'s absence from {clash.starts_at.isoformat()} "
                        f"to {clash.ends_at.isoformat()} (#{clash.pk}); absences may not overlap."
                    )
                }
            )
        absence = Absence(
            user=user,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason,
            created_by=by,
            created_at=at,
        )
        absence.full_clean()
        absence.save()
    return absence


def absence_delete(*, absence: Absence, by: User | None) -> None:
    """Remove an absence (a cancelled holiday); its history row keeps what it was."""
    if by is not None and not may_manage_member(by, absence.user):
        raise PermissionDenied("Only a sales manager of the person's team, or an admin, may.")
    absence.delete()


def capacity_set(*, member: User, max_open_leads, by: User | None) -> User:
    """Set a member's cap on open leads (None: no cap); a negative or non-whole number is
    refused naming `max_open_leads`."""
    if by is not None and not may_manage_member(by, member):
        raise PermissionDenied("Only a sales manager of the person's team, or an admin, may.")
    if max_open_leads is not None:
        if isinstance(max_open_leads, bool) or not isinstance(max_open_leads, int):
            raise ValidationError({"max_open_leads": "must be a whole number or null."})
        if max_open_leads < 0:
            raise ValidationError({"max_open_leads": "may not be below zero."})
    member.max_open_leads = max_open_leads
    member.full_clean(exclude=["password"])
    member.save(update_fields=["max_open_leads"])
    return member


# --- reads for round robin and the team page ---------------------------------------------------


def away_at(*, user_ids: Iterable[int], instants: Iterable[datetime]) -> dict[int, list[tuple]]:
    """{user id: [(starts_at, ends_at), ...]} of the absences of these people that cover
    any instant between the earliest and the latest of `instants`: one query, for a whole
    delivery batch. `is_away(spans, t)` answers for one instant."""
    ids, instants = set(user_ids), list(instants)
    if not ids or not instants:
        return {}
    rows = Absence.objects.filter(
        user_id__in=ids, starts_at__lte=max(instants), ends_at__gt=min(instants)
    ).values_list("user_id", "starts_at", "ends_at")
    spans: dict[int, list[tuple]] = {}
    for user_id, starts_at, ends_at in rows:
        spans.setdefault(user_id, []).append((starts_at, ends_at))
    return spans


def is_away(spans: list[tuple] | None, at: datetime) -> bool:
    """Whether one of the spans [starts_at, ends_at) covers `at`."""
    return any(starts_at <= at < ends_at for starts_at, ends_at in spans or ())
