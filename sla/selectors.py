"""Reads of the agreement: the lead list with its SLA status, agreements and flags a
person sees, a lead's `sla` block and its time in each stage.

Who sees what is `accounts.access`; these apply it. The API, the pages and the export
all list leads through `lead_list`, so a filter or a search means the same everywhere.
"""

from datetime import datetime

from django.db.models import Count, F, QuerySet

from accounts.access import agreement_scope, flag_scope, inbox_is_own_only, is_urgency_first
from calendars.engine import business_minutes_between
from leads.models import Lead
from leads.selectors import leads_prefetched, leads_visible_to
from sla.clocks import SlaStatus, sla_status, with_sla_status
from sla.models import Agreement, Clock, Flag
from sla.terms import SalesTerms, sales_terms_named


def agreements_visible_to(user) -> QuerySet[Agreement]:
    scope = agreement_scope(user)
    return Agreement.objects.all() if scope is None else Agreement.objects.filter(scope)


def flags_visible_to(user) -> QuerySet[Flag]:
    scope = flag_scope(user)
    return Flag.objects.all() if scope is None else Flag.objects.filter(scope)


def leads_with_terms(queryset: QuerySet[Lead], *, detail: bool = False) -> QuerySet[Lead]:
    """leads_prefetched, plus the agreement terms and clocks the `sla` block reads."""
    queryset = leads_prefetched(queryset, detail=detail).select_related("terms")
    queryset = queryset.prefetch_related("clocks")
    if detail:
        queryset = queryset.select_related("terms__agreement__calendar")
    return queryset


def lead_list(user, *, now: datetime, detail: bool = False) -> QuerySet[Lead]:
    """The leads the person may see, with `sla_status` and `next_due_at`, in list order.

    Sales (reps and managers) work an inbox: leads with a running clock first, the
    earliest due time first, then the newest. Everyone else reads the newest first.
    """
    queryset = with_sla_status(leads_with_terms(leads_visible_to(user), detail=detail), now=now)
    queryset = queryset.annotate(next_due_at=F("sla_due_at"))
    if is_urgency_first(user):
        return queryset.order_by(F("next_due_at").asc(nulls_last=True), "-received_at", "-id")
    return queryset.order_by("-received_at", "-id")


def inbox_leads(user, *, now: datetime, mine: bool = False) -> QuerySet[Lead]:
    """The open, qualifying leads of a person's inbox (a rep's own; a manager's team's, or
    only their own with `mine`), in the API's urgency order: the next due time first."""
    leads = lead_list(user, now=now).filter(closed_at__isnull=True, qualifies=True)
    if mine or inbox_is_own_only(user):
        leads = leads.filter(owner=user)
    return leads.order_by(F("next_due_at").asc(nulls_last=True), "-received_at", "-id")


def status_counts(leads: QuerySet[Lead]) -> dict[str, int]:
    """How many of the leads are in each SLA status: one grouped query."""
    counts = dict.fromkeys(SlaStatus.ALL, 0)
    for row in leads.order_by().values("sla_status").annotate(n=Count("pk")):
        counts[row["sla_status"]] = row["n"]
    return counts


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
        "tier": (terms.tier or None) if terms else None,
    }


def lead_windows(lead: Lead) -> SalesTerms | None:
    """The windows the lead's clocks run by: its tier in the agreement version it was
    delivered under (None when it starts no clock). Reads `terms__agreement_version`."""
    terms = getattr(lead, "terms", None)
    if terms is None or not lead.qualifies:
        return None
    return sales_terms_named(terms.agreement_version.terms, terms.tier)


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
