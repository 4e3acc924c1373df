"""Lead pages: the sales inbox, the lead list and a lead's page.

The lists read `sla.selectors.lead_list` filtered by `sla.filters.LeadFilter`, as the
API does; the action forms post to sla/views/lead_actions.py.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.access import (
    may_act_on_lead,
    may_override_abandon,
    may_work_inbox,
)
from accounts.models import Role
from funnel.models import Stage
from leads.models import Lead, ReasonCode, Touch
from leads.selectors import leads_visible_to
from sla.clocks import SlaStatus
from sla.filters import LeadFilter
from sla.models import Flag
from sla.selectors import inbox_leads, lead_list, lead_sla, stage_history, status_counts

# The page's short parameter names, and the API's names they stand for.
PAGE_PARAMS = {"status": "sla_status", "q": "search", "stage": "stage"}


@login_required
def lead_inbox(request):
    """A rep's open leads (a manager's: the team's), the most urgent clock first."""
    if not may_work_inbox(request.user):
        raise PermissionDenied
    now = timezone.now()
    mine = request.GET.get("mine") == "1"
    leads = inbox_leads(request.user, now=now, mine=mine)
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "sla/lead_inbox.html",
        {"page": page, "counts": status_counts(leads), "now": now, "mine": mine},
    )


@login_required
def lead_list_page(request):
    now = timezone.now()
    params = {PAGE_PARAMS[k]: v for k, v in request.GET.items() if k in PAGE_PARAMS and v}
    filterset = LeadFilter(params, queryset=lead_list(request.user, now=now), request=request)
    leads = filterset.qs if filterset.is_valid() else Lead.objects.none()
    leads = leads.select_related("terms__agreement")
    page = Paginator(leads.order_by("-received_at", "-id"), 50).get_page(request.GET.get("page"))
    filters = {name: request.GET.get(name, "").strip() for name in PAGE_PARAMS}
    return render(
        request,
        "sla/lead_list.html",
        {
            "page": page,
            "statuses": [(s, s.replace("_", " ").capitalize()) for s in SlaStatus.ALL],
            "stages": Stage.objects.filter(is_active=True),
            "filters": filters,
        },
    )


def visible_lead(request, pk: int) -> Lead:
    """The lead, if the viewer may see it; 404 otherwise (its existence is not disclosed)."""
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
    lead = visible_lead(request, pk)
    now = timezone.now()
    agreement = getattr(getattr(lead, "terms", None), "agreement", None)
    zone = agreement.calendar.timezone if agreement else "UTC"
    can_act = may_act_on_lead(request.user, lead, action="touch")
    can_assign = may_act_on_lead(request.user, lead, action="assign")
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
            "can_override": may_override_abandon(request.user),
            "reps": reps,
            "reasons": ReasonCode.objects.filter(is_active=True),
            "stages": Stage.objects.filter(is_active=True).exclude(pk=lead.stage_id),
            "touch_kinds": Touch.Kind.choices,
            "touch_outcomes": Touch.Outcome.choices,
        },
    )
