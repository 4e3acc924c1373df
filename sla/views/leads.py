"""Lead pages: the sales inbox, the lead list and a lead's page.

The lists read `sla.selectors.lead_list` (the inbox `inbox_leads`) filtered by
`sla.filters.LeadFilter`, as the API does; the action forms post to
sla/views/lead_actions.py, which answer an inbox row's htmx request with the row
rendered again here (`inbox_row_response`).
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.access import (
    has_role,
    may_act_on_lead,
    may_move_out_of_closed_stage,
    may_override_abandon,
    may_resolve_flag,
    may_work_inbox,
)
from accounts.models import Role, Team
from core.paging import KnownCountPaginator
from funnel.models import Stage
from leads.models import Lead, OwnerChange, ReasonCode, Touch
from leads.selectors import assignments, leads_visible_to
from sla.clocks import SlaStatus
from sla.compliance import current_month, month_window, sales_by_owner, sales_by_rep
from sla.filters import LeadFilter
from sla.models import Flag
from sla.selectors import (
    agreements_visible_to,
    inbox_leads,
    lead_list,
    lead_sla,
    lead_windows,
    status_counts,
)
from sla.timeline import lead_timeline, score_breakdown

# The page's short parameter names, and the API's names they stand for.
ALIASES = {"status": "sla_status", "q": "search"}
FILTER_NAMES = tuple(LeadFilter.base_filters)
# The inbox's quick filters: (key, label, the parameters they set).
QUICK_FILTERS = (
    ("breached", "Breached", {"sla_status": SlaStatus.BREACHED}),
    ("at_risk", "At risk", {"sla_status": SlaStatus.AT_RISK}),
    ("due_today", "Due today", {"due": "today"}),
    ("untouched", "Untouched", {"untouched": "true"}),
)
QUICK_KEYS = ("sla_status", "due", "untouched")
DRAFT_KEY = "slaops_lead_draft"  # a form posted after the session expired (lead_actions)


def zone_of(user, fallback: str = "UTC") -> str:
    """The viewer's zone: the one they chose, else `fallback`."""
    zone = getattr(user, "time_zone", "") or fallback
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return zone


def end_of_today(zone: str, now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=ZoneInfo(zone))


def filter_params(query: QueryDict, *, zone: str, now: datetime) -> dict:
    """The LeadFilter parameters of a page's query: the API's names, the short aliases
    (`status`, `q`) and the inbox's `due=today` (before midnight in the viewer's zone)."""
    params = {}
    for name, value in query.items():
        name = ALIASES.get(name, name)
        if name in FILTER_NAMES and value.strip():
            params[name] = value.strip()
    if query.get("due") == "today":
        params["due_before"] = end_of_today(zone, now).isoformat()
    return params


def active_filters(query: QueryDict) -> list[dict]:
    """The filters in force, each with the link that removes it."""
    active = []
    for name, value in query.items():
        if name in ("page", "mine", "fragment") or not value.strip():
            continue
        if ALIASES.get(name, name) in FILTER_NAMES or name == "due":
            rest = query.copy()
            rest.pop(name)
            rest.pop("page", None)
            label = ALIASES.get(name, name).replace("_", " ")
            active.append({"name": label, "value": value, "remove": f"?{rest.urlencode()}"})
    return active


def draft_for(request, lead_pk: int) -> dict | None:
    """The form this browser posted for the lead when its session had expired (once)."""
    draft = request.session.get(DRAFT_KEY)
    if draft and draft.get("lead") == lead_pk:
        del request.session[DRAFT_KEY]
        return draft
    return None


def countdown_text(due: datetime | None, now: datetime) -> str:
    """`due in 1h 5m` / `late by 2d 3h 0m`: what static/slaops.js keeps live."""
    if due is None:
        return ""
    seconds = int(abs((due - now).total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    text = (f"{days}d " if days else "") + (f"{hours}h " if days or hours else "")
    text += f"{seconds // 60}m"
    return f"late by {text}" if due <= now else f"due in {text}"


# --- the inbox --------------------------------------------------------------------------


def action_choices(user, *, lazy_forms: bool = False) -> dict:
    """What every row's action forms offer: three small queries per page, not per row.
    `lazy_forms`: the rows show the actions' buttons and load a form when it is opened."""
    reasons = ReasonCode.objects.filter(is_active=True)
    stages = Stage.objects.filter(is_active=True)
    return {
        # (value, label) pairs for sla_tags.options: one call per select of each row.
        "reason_choices": list(reasons.values_list("code", "label")),
        # Each row offers only the moves the funnel allows from its own stage.
        "stages": list(stages),
        "can_reopen_stage": may_move_out_of_closed_stage(user),
        "touch_kinds": Touch.Kind.choices,
        "touch_outcomes": Touch.Outcome.choices,
        "can_override": may_override_abandon(user),
        # Everyone in a sales inbox may act on its leads (lead_scope of sales is
        # may_act_on_lead); reassigning is the managers'. The views check again on POST.
        "can_assign": has_role(user, Role.SALES_MANAGER),
        "lazy_forms": lazy_forms,
    }


def reps_by_team(team_ids) -> dict[int, list]:
    """The reps and managers each team may give a lead to, in one query."""
    members = (
        Team.members.through.objects.filter(
            team_id__in=set(team_ids),
            user__is_active=True,
            user__role__in=[Role.SALES, Role.SALES_MANAGER],
        )
        .select_related("user")
        .order_by("user__username")
    )
    teams: dict[int, list] = {}
    for member in members:
        teams.setdefault(member.team_id, []).append(member.user)
    return teams


def decorate(leads: list[Lead], *, now: datetime, choices: dict, draft=None) -> list[Lead]:
    """Give each row what its template shows: countdown, attempts owed, reps, draft."""
    reps = reps_by_team(lead.team_id for lead in leads) if choices["can_assign"] else {}
    detail = reverse("lead-detail", args=[0])  # a row's links: its page and its actions
    for lead in leads:
        # One reverse per page, not seven per row (tests/sla/test_inbox_page.py holds the
        # action URLs equal to their own reverse).
        lead.url = detail.replace("/0/", f"/{lead.pk}/")
        terms = getattr(lead, "terms", None)
        first_running = lead.sla_first_state == "running"
        lead.clock_label = "First touch" if first_running else "Next touch"
        lead.at_risk_at = lead.sla_first_at_risk_at if first_running else None
        lead.countdown = countdown_text(lead.next_due_at, now)
        lead.zone = terms.agreement.calendar.timezone if terms else "UTC"
        required = terms.attempts_required if terms else 0
        lead.attempts_required = required
        lead.attempts_owed = max(required - lead.touch_count, 0)
        lead.reps = reps.get(lead.team_id, [])
        lead.draft = draft if draft and draft.get("lead") == lead.pk else None
        # An inbox row loads its action forms when one is opened (lead_action_form); a
        # form posted after the session expired comes back inline, filled in.
        lead.lazy_forms = choices.get("lazy_forms", False) and lead.draft is None
    return leads


def inbox_query(request, *, now: datetime, query: QueryDict):
    """(every lead of the inbox, the filtered ones, the filterset) for a query string."""
    user = request.user
    mine = query.get("mine") == "1"
    leads = inbox_leads(user, now=now, mine=mine).select_related("terms__agreement__calendar")
    params = filter_params(query, zone=zone_of(user), now=now)
    filterset = LeadFilter(params, queryset=leads, request=request)
    shown = filterset.qs if filterset.is_valid() else leads.none()
    return leads, shown, filterset


def quick_filters(query: QueryDict, counts: dict) -> list[dict]:
    """The inbox's quick filter links, each keeping `mine`, with its count when it is a
    status (the counts are one grouped query)."""
    links = []
    for key, label, params in QUICK_FILTERS:
        target = QueryDict(mutable=True)
        if query.get("mine") == "1":
            target["mine"] = "1"
        target.update(params)
        active = all(query.get(name) == value for name, value in params.items())
        status = params.get("sla_status")
        links.append(
            {
                "key": key,
                "label": label,
                "url": f"?{target.urlencode()}",
                "active": active,
                "count": counts.get(status) if status else None,
                "status": status or "",
            }
        )
    return links


def inbox_counts_context(query: QueryDict, counts: dict) -> dict:
    everything = QueryDict(mutable=True)
    if query.get("mine") == "1":
        everything["mine"] = "1"
    return {
        "counts": counts,
        "quick": quick_filters(query, counts),
        "all_url": f"?{everything.urlencode()}",
        "filtered": any(query.get(name) for name in QUICK_KEYS),
    }


def team_compliance(user, *, now: datetime) -> list[dict]:
    """Per rep, this month, of every agreement the manager's teams work: the dashboard's
    own figures (`sales_by_owner` / `sales_by_rep`), a few grouped queries per agreement."""
    agreements = agreements_visible_to(user).filter(sales_team__in=user.teams.values("id"))
    tables = []
    for agreement in agreements.select_related("calendar").order_by("name"):
        calendar = agreement.calendar.as_work_calendar()
        year, month = (int(part) for part in current_month(calendar, now).split("-"))
        window = month_window(calendar, year, month, now)
        owners, _ = sales_by_owner(agreement=agreement, window=window, at=now)
        tables.append(
            {"agreement": agreement, "month": window.name, "reps": sales_by_rep(owners=owners)}
        )
    return tables


def inbox_paginator(leads, query: QueryDict, counts: dict, *, now: datetime) -> Paginator:
    """Pages of the inbox. Unfiltered, or filtered on one status, its length is already in
    the status counts (one grouped query the page shows anyway): no second scan to count."""
    params = filter_params(query, zone="UTC", now=now)
    if not params:
        return KnownCountPaginator(leads, 50, count=sum(counts.values()))
    if set(params) == {"sla_status"} and params["sla_status"] in counts:
        return KnownCountPaginator(leads, 50, count=counts[params["sla_status"]])
    return Paginator(leads, 50)


@login_required
def lead_inbox(request):
    """A rep's open leads (a manager's: the team's), the most urgent clock first."""
    if not may_work_inbox(request.user):
        raise PermissionDenied
    now = timezone.now()
    everything, leads, filterset = inbox_query(request, now=now, query=request.GET)
    counts = status_counts(everything)
    page = inbox_paginator(leads, request.GET, counts, now=now).get_page(request.GET.get("page"))
    choices = action_choices(request.user, lazy_forms=True)
    draft = request.session.pop(DRAFT_KEY, None)
    rows = decorate(list(page.object_list), now=now, choices=choices, draft=draft)
    context = {
        **choices,
        **inbox_counts_context(request.GET, counts),
        "page": page,
        "rows": rows,
        "now": now,
        "mine": request.GET.get("mine") == "1",
        "show_owner": choices["can_assign"] and request.GET.get("mine") != "1",
        "inbox_query": request.GET.urlencode(),
        "errors": filterset.errors,
        "active": active_filters(request.GET),
    }
    if request.htmx and request.htmx.target == "inbox-table":
        return render(request, "sla/_inbox_refresh.html", context)
    if choices["can_assign"]:
        context["compliance"] = team_compliance(request.user, now=now)
    return render(request, "sla/lead_inbox.html", context)


def inbox_row_response(request, lead: Lead, *, now: datetime, toast: str = ""):
    """An inbox row rendered again after an action, with the counts out of band."""
    query = QueryDict(request.POST.get("inbox_query", ""))
    everything, _, _ = inbox_query(request, now=now, query=query)
    choices = action_choices(request.user, lazy_forms=True)
    row = everything.filter(pk=lead.pk).first()
    if row is None:  # closed, or given to someone else: say where it went
        lead = Lead.objects.select_related("owner").get(pk=lead.pk)
    context = {
        **choices,
        **inbox_counts_context(query, status_counts(everything)),
        "lead": decorate([row], now=now, choices=choices)[0] if row else lead,
        "gone": row is None,
        "now": now,
        "oob": True,
        "inbox_query": query.urlencode(),
        "show_owner": choices["can_assign"] and query.get("mine") != "1",
    }
    return render_to_string("sla/_inbox_row_response.html", context, request=request)


# --- the lead list ----------------------------------------------------------------------


@login_required
def lead_list_page(request):
    now = timezone.now()
    params = filter_params(request.GET, zone=zone_of(request.user), now=now)
    filterset = LeadFilter(params, queryset=lead_list(request.user, now=now), request=request)
    leads = filterset.qs if filterset.is_valid() else Lead.objects.none()
    leads = leads.select_related("terms__agreement__calendar")
    page = Paginator(leads.order_by("-received_at", "-id"), 50).get_page(request.GET.get("page"))
    export = QueryDict(mutable=True)
    export.update(params)
    return render(
        request,
        "sla/lead_list.html",
        {
            "page": page,
            "statuses": [(s, s.replace("_", " ").capitalize()) for s in SlaStatus.ALL],
            "stages": Stage.objects.filter(is_active=True),
            "verdicts": Lead.Verdict.choices,
            "params": params,
            "active": active_filters(request.GET),
            "errors": filterset.errors,
            "export_query": export.urlencode(),
        },
    )


# --- a lead's page ----------------------------------------------------------------------


def visible_lead(request, pk: int) -> Lead:
    """The lead, if the viewer may see it; 404 otherwise (its existence is not disclosed)."""
    return get_object_or_404(
        leads_visible_to(request.user).select_related(
            "owner",
            "stage",
            "team",
            "definition_version",
            "verdict_reason",
            "verdict_by",
            "abandoned_by",
            "created_by",
            "terms__agreement__calendar",
            "terms__agreement_version",
        ),
        pk=pk,
    )


def duplicates_of(user, lead: Lead) -> list[dict]:
    """The leads that repeat this one's e-mail (sla.duplicates), each linked when the
    viewer may open it (a rep is told of a duplicate of their lead, not given it)."""
    visible = leads_visible_to(user).filter(duplicate_of=lead).values_list("pk", flat=True)
    rows = Lead.objects.filter(duplicate_of=lead).order_by("received_at", "pk")
    visible = set(visible)
    return [
        {"pk": pk, "received_at": at, "visible": pk in visible}
        for pk, at in rows.values_list("pk", "received_at")
    ]


@login_required
def lead_detail(request, pk: int):
    lead = visible_lead(request, pk)
    now = timezone.now()
    agreement = getattr(getattr(lead, "terms", None), "agreement", None)
    zone = agreement.calendar.timezone if agreement else "UTC"
    can_act = may_act_on_lead(request.user, lead, action="touch") and lead.closed_at is None
    choices = action_choices(request.user)
    choices["can_assign"] = (
        may_act_on_lead(request.user, lead, action="assign") and lead.closed_at is None
    )
    sla = lead_sla(lead, now=now)
    lead.touch_count = sla["attempts"]
    lead.next_due_at = lead.sla_due_at  # what `next_due_at` annotates on the lists
    decorate([lead], now=now, choices=choices, draft=draft_for(request, lead.pk))
    timeline = lead_timeline(lead, now=now)
    open_flags = [
        event.extra["flag"]
        for event in timeline
        if "flag" in event.extra and event.extra["flag"].state == Flag.State.OPEN
    ]
    for flag in open_flags:
        flag.resolvable = may_resolve_flag(request.user, flag)
    prefetch_related_objects(
        [lead],
        Prefetch(
            "owner_changes",
            queryset=OwnerChange.objects.select_related("from_owner", "to_owner", "by"),
        ),
    )
    return render(
        request,
        "sla/lead_detail.html",
        {
            **choices,
            "lead": lead,
            "sla": sla,
            "agreement": agreement,
            "windows": lead_windows(lead),
            "zone": zone,
            "timeline": timeline,
            "open_flags": open_flags,
            "assignments": assignments(lead),
            "duplicates": duplicates_of(request.user, lead),
            "score": score_breakdown(lead),
            "can_act": can_act,
            "now": now,
        },
    )


ACTION_FORMS = ("touch", "callback", "reject", "stage", "abandon")


@login_required
def lead_action_form(request, pk: int, name: str):
    """One action's form for an inbox row, loaded when the row's action is opened."""
    if name not in ACTION_FORMS:
        raise Http404
    lead = visible_lead(request, pk)
    if not may_act_on_lead(request.user, lead, action=name):
        raise PermissionDenied
    now = timezone.now()
    choices = action_choices(request.user)
    lead.touch_count = lead.touches.count()
    lead.next_due_at = lead.sla_due_at
    decorate([lead], now=now, choices=choices)
    context = {
        **choices,
        "lead": lead,
        "p": lead.pk,
        "d": None,
        "act": "",
        "htmx": True,
        "inbox_query": request.GET.get("inbox_query", ""),
    }
    return render(request, f"sla/_lead_action_{name}.html", context)
