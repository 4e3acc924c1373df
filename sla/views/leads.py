"""Lead pages: the sales inbox, the lead list, and a lead's page with its actions.

Every action form posts to a view that calls the same service the API calls; a refused
action comes back as a message naming the rule, and changes nothing.
"""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from accounts.models import Role, User
from core.errors import RuleRefused
from funnel.models import Stage
from leads.models import Lead, ReasonCode, Touch
from sla.clocks import SlaStatus, with_sla_status
from sla.models import Clock, Flag
from sla.selectors import lead_actionable_by, lead_sla, leads_visible_to, stage_history
from sla.services import leads as services

URGENCY = {
    SlaStatus.BREACHED: 0,
    SlaStatus.AT_RISK: 1,
    SlaStatus.PENDING: 2,
    SlaStatus.MET: 3,
    SlaStatus.NOT_STARTED: 4,
    SlaStatus.CLOSED: 5,
}


def _listed(user: User, *, now: datetime):
    next_due = Clock.objects.filter(lead=OuterRef("pk"), state=Clock.State.RUNNING).order_by(
        "due_at"
    )
    leads = with_sla_status(leads_visible_to(user), now=now)
    return leads.select_related("owner", "stage", "team", "terms__agreement").annotate(
        next_due_at=Subquery(next_due.values("due_at")[:1]),
        touch_count=Count("touches", distinct=True),
    )


@login_required
def lead_inbox(request):
    """A rep's open leads (a manager's: the team's), the most urgent clock first."""
    if request.user.role not in (Role.SALES, Role.SALES_MANAGER, Role.ADMIN):
        raise PermissionDenied
    now = timezone.now()
    leads = _listed(request.user, now=now).filter(closed_at__isnull=True, qualifies=True)
    if request.GET.get("mine") == "1" or request.user.role == Role.SALES:
        leads = leads.filter(owner=request.user)
    leads = leads.order_by(F("next_due_at").asc(nulls_last=True), "received_at")
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    counts = {status: 0 for status in URGENCY}
    for status in leads.values_list("sla_status", flat=True):
        counts[status] += 1
    return render(
        request,
        "sla/lead_inbox.html",
        {"page": page, "counts": counts, "now": now, "mine": request.GET.get("mine") == "1"},
    )


@login_required
def lead_list(request):
    now = timezone.now()
    leads = _listed(request.user, now=now)
    status = request.GET.get("status", "")
    if status in SlaStatus.ALL:
        leads = leads.filter(sla_status=status)
    stage = request.GET.get("stage", "")
    if stage:
        leads = leads.filter(stage__slug=stage)
    query = request.GET.get("q", "").strip()
    if query:
        leads = leads.filter(
            Q(email__icontains=query)
            | Q(company__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
        )
    page = Paginator(leads.order_by("-received_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "sla/lead_list.html",
        {
            "page": page,
            "statuses": [(s, s.replace("_", " ").capitalize()) for s in SlaStatus.ALL],
            "stages": Stage.objects.filter(is_active=True),
            "filters": {"status": status, "stage": stage, "q": query},
            "querystring": request.GET.urlencode(),
        },
    )


def _visible_lead(request, pk: int) -> Lead:
    return get_object_or_404(
        leads_visible_to(request.user).select_related(
            "owner",
            "stage",
            "team",
            "definition_version",
            "verdict_reason",
            "terms__agreement__calendar",
        ),
        pk=pk,
    )


@login_required
def lead_detail(request, pk: int):
    lead = _visible_lead(request, pk)
    now = timezone.now()
    agreement = getattr(getattr(lead, "terms", None), "agreement", None)
    zone = agreement.calendar.timezone if agreement else "UTC"
    can_act = lead_actionable_by(request.user, lead, action="touch")
    can_assign = lead_actionable_by(request.user, lead, action="assign")
    reps = []
    if can_assign and lead.team_id:
        reps = lead.team.members.filter(
            is_active=True, role__in=[Role.SALES, Role.SALES_MANAGER]
        ).order_by("username")
    return render(
        request,
        "sla/lead_detail.html",
        {
            "lead": lead,
            "sla": lead_sla(lead, now=now),
            "agreement": agreement,
            "zone": zone,
            "clocks": lead.clocks.order_by("started_at", "id"),
            "touches": lead.touches.select_related("by").order_by("-at", "-id"),
            "history": stage_history(lead, now=now),
            "flags": Flag.objects.filter(lead=lead).select_related("owner"),
            "can_act": can_act and lead.closed_at is None,
            "can_assign": can_assign and lead.closed_at is None,
            "can_override": request.user.role in (Role.SALES_MANAGER, Role.ADMIN),
            "reps": reps,
            "reasons": ReasonCode.objects.filter(is_active=True),
            "stages": Stage.objects.filter(is_active=True).exclude(pk=lead.stage_id),
            "touch_kinds": Touch.Kind.choices,
            "touch_outcomes": Touch.Outcome.choices,
        },
    )


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, RuleRefused):
        return error.message
    return str(error) or "Not allowed."


@require_POST
@login_required
def lead_action(request, pk: int, action: str):
    """Run one action on a lead from its page, through the same service as the API."""
    lead = _visible_lead(request, pk)
    needed = "assign" if action == "assign" else "touch"
    if not lead_actionable_by(request.user, lead, action=needed):
        raise PermissionDenied
    now = timezone.now()
    form = request.POST
    try:
        if action == "touch":
            at = parse_datetime(form.get("at", "")) if form.get("at") else None
            if form.get("at") and (at is None or timezone.is_naive(at)):
                raise ValidationError({"at": "Give the time with its offset, or leave it empty."})
            services.lead_touch(
                lead=lead,
                by=request.user,
                kind=form.get("kind", ""),
                outcome=form.get("outcome", ""),
                at=at,
                note=form.get("note", ""),
                now=now,
            )
            done = "Touch logged."
        elif action == "acknowledge":
            services.lead_acknowledge(lead=lead, by=request.user, now=now)
            done = "Lead accepted."
        elif action == "reject":
            services.lead_reject(
                lead=lead,
                by=request.user,
                reason=form.get("reason", ""),
                note=form.get("note", ""),
                now=now,
            )
            done = "Lead rejected."
        elif action == "stage":
            services.lead_move_stage(
                lead=lead,
                by=request.user,
                stage=form.get("stage", ""),
                note=form.get("note", ""),
                now=now,
            )
            done = "Stage changed."
        elif action == "assign":
            services.lead_assign(lead=lead, by=request.user, owner=form.get("owner", ""), now=now)
            done = f"Assigned to {form.get('owner')}."
        elif action == "abandon":
            services.lead_abandon(
                lead=lead,
                by=request.user,
                reason=form.get("reason", ""),
                note=form.get("note", ""),
                override=form.get("override") == "1",
                now=now,
            )
            done = "Lead abandoned."
        else:
            raise Http404
    except (ValidationError, RuleRefused, PermissionDenied) as error:
        messages.error(request, _describe(error))
    else:
        messages.success(request, done)
    return redirect("lead-detail", pk=lead.pk)
