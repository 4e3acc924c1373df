"""Reads on leads: which the person sees, the one meaning of a search, and what a list
prefetches. The agreement's list (`sla.selectors.lead_list`) builds on these."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.access import lead_scope
from funnel.models import StageChange
from leads.models import Lead, LeadDefinitionVersion, OwnerChange, Touch


def leads_visible_to(user) -> QuerySet[Lead]:
    """The leads the person may see (accounts.access.lead_scope); others answer 404."""
    scope = lead_scope(user)
    return Lead.objects.all() if scope is None else Lead.objects.filter(scope)


def search_q(text: str) -> Q:
    """The one meaning of a lead search: every word (up to ten) found in the name, the
    e-mail or the company."""
    query = Q()
    for word in (text or "").split()[:10]:
        query &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
            | Q(company__icontains=word)
        )
    return query


def touch_count():
    """How many touches a lead has, as a subquery (no GROUP BY over the whole list)."""
    touches = Touch.objects.filter(lead=OuterRef("pk")).order_by().values("lead")
    count = touches.annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def leads_prefetched(queryset: QuerySet[Lead], *, detail: bool = False) -> QuerySet[Lead]:
    """Everything a lead's answer shows, in a fixed number of queries however many leads.

    The stage and the owner are joined; the reason code and the definition version
    (its number only, not its rules) are small tables read once per page: joined too,
    the list's statement costs PostgreSQL more to plan (8 ms for 8 relations) than to
    run. A list names its leads' team by id; a lead's own page joins the team.
    """
    versions = LeadDefinitionVersion.objects.only("id", "definition_id", "version")
    queryset = (
        queryset.select_related("stage", "owner")
        .prefetch_related("verdict_reason", Prefetch("definition_version", queryset=versions))
        .annotate(touch_count=touch_count())
    )
    if detail:
        queryset = queryset.prefetch_related(
            Prefetch("touches", queryset=Touch.objects.select_related("by")),
            Prefetch(
                "stage_changes",
                queryset=StageChange.objects.select_related("from_stage", "to_stage", "by"),
            ),
            Prefetch(
                "owner_changes",
                queryset=OwnerChange.objects.select_related("from_owner", "to_owner", "by"),
            ),
        )
    return queryset


def assignments(lead: Lead) -> list[dict]:
    """Who held the lead, from when to when, and who moved it to them: `owner`, `from`,
    `to` (None: holds it now) and `by` (None: the round robin at delivery), oldest first.

    Read from the lead's changes of hands (OwnerChange, prefetched on a lead's page);
    the first holder is the first change's `from_owner` (else the owner now), holding
    it since the lead arrived. A time without an owner (the manager queue) is no entry.
    """
    changes = list(lead.owner_changes.all())
    first = changes[0].from_owner if changes else lead.owner
    held = [{"owner": first, "from": lead.received_at, "by": None}]
    for change in changes:
        held[-1]["to"] = change.at
        held.append({"owner": change.to_owner, "from": change.at, "by": change.by})
    held[-1]["to"] = None
    return [entry for entry in held if entry["owner"] is not None]
