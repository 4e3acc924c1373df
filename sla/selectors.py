"""Reads: which leads and agreements a person may see and act on, and a lead's SLA view."""

from datetime import datetime

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from calendars.engine import business_minutes_between
from leads.models import Lead
from sla.clocks import sla_status
from sla.models import Agreement, Clock


def _sees_everything(user: User) -> bool:
    return user.is_superuser or user.role in (Role.ADMIN, Role.EXECUTIVE)


def leads_visible_to(user: User) -> QuerySet[Lead]:
    """A rep sees their own leads, a sales manager their teams', marketing the leads of
    their teams' agreements, executives and admins all of them."""
    leads = Lead.objects.all()
    if _sees_everything(user):
        return leads
    if user.role == Role.SALES:
        return leads.filter(owner=user)
    if user.role == Role.SALES_MANAGER:
        return leads.filter(Q(team__members=user) | Q(owner=user)).distinct()
    if user.role == Role.MARKETING:
        return leads.filter(terms__agreement__marketing_team__members=user).distinct()
    return leads.none()


def agreements_visible_to(user: User) -> QuerySet[Agreement]:
    agreements = Agreement.objects.all()
    if _sees_everything(user):
        return agreements
    return agreements.filter(
        Q(marketing_team__members=user) | Q(sales_team__members=user)
    ).distinct()


def lead_actionable_by(user: User, lead: Lead, *, action: str) -> bool:
    """Whether the person may act on a lead they can see.

    Sales actions (touch, acknowledge, reject, stage, abandon) belong to the owner, a
    sales manager of the lead's team, or an admin; assigning to managers and admins.
    """
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    in_team = lead.team_id is not None and user.teams.filter(pk=lead.team_id).exists()
    if user.role == Role.SALES_MANAGER:
        return in_team or lead.owner_id == user.pk
    if user.role == Role.SALES:
        return action != "assign" and lead.owner_id == user.pk
    return False


def lead_sla(lead: Lead, *, now: datetime) -> dict:
    """The `sla` block of the API: status, the first-touch clock, the next-touch clock."""
    clocks = list(lead.clocks.all())  # prefetch_related("clocks") keeps lists cheap
    first = next((c for c in reversed(clocks) if c.kind == Clock.Kind.FIRST_TOUCH), None)
    next_touch = next(
        (c for c in clocks if c.kind == Clock.Kind.NEXT_TOUCH and c.state == Clock.State.RUNNING),
        None,
    )
    terms = getattr(lead, "terms", None)
    touches = getattr(lead, "touch_count", None)
    if touches is None:
        touches = lead.touches.count()
    first_touched_at = first.stopped_at if first and first.stop_reason == "touch" else None
    return {
        "status": sla_status(lead=lead, clocks=clocks, now=now),
        "first_touch_due_at": first.due_at if first else None,
        "first_touch_at_risk_at": first.at_risk_at if first else None,
        "first_touched_at": first_touched_at,
        "next_touch_due_at": next_touch.due_at if next_touch else None,
        "attempts": touches,
        "attempts_required": terms.attempts_required if terms else None,
    }


MONTH_FLAG_KINDS = frozenset({"quota_at_risk", "quota_shortfall", "quality_shortfall"})


def flag_resolvable_by(user: User, flag) -> bool:
    """Sales managers and admins resolve flags they can see; marketing managers only the
    quota and quality flags of their agreements."""
    if user.is_superuser or user.role in (Role.ADMIN, Role.SALES_MANAGER):
        return True
    return user.role == Role.MARKETING and flag.kind in MONTH_FLAG_KINDS


def stage_history(lead: Lead, *, now: datetime) -> list[dict]:
    """Each stage change with how long the lead stayed, in business minutes of its
    agreement's calendar (to the next change; the current stage to `now` or its close)."""
    changes = list(lead.stage_changes.all())  # prefetch_related("stage_changes") keeps it cheap
    terms = getattr(lead, "terms", None)
    calendar = terms.agreement.calendar.as_work_calendar() if terms else None
    rows = []
    for index, change in enumerate(changes):
        if index + 1 < len(changes):
            until = changes[index + 1].at
        else:
            until = lead.closed_at if lead.closed_at and lead.closed_at >= change.at else now
        minutes = None
        if calendar is not None and until >= change.at:
            minutes = round(business_minutes_between(calendar, change.at, until))
        rows.append({"change": change, "until": until, "business_minutes_in_stage": minutes})
    return rows


def commitment_loggable_by(user: User, agreement: Agreement) -> bool:
    """Marketing managers of the agreement's marketing team, and admins."""
    if user.is_superuser or user.role == Role.ADMIN:
        return True
    return (
        user.role == Role.MARKETING and user.teams.filter(pk=agreement.marketing_team_id).exists()
    )
