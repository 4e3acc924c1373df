"""The lead list's query: who sees what, the filters, the order, and what is prefetched.

The list, the export and the lead detail read leads through `leads_listed`, so the
visibility rule (sla.selectors.leads_visible_to) and the prefetching are in one place.
"""

from datetime import datetime

import django_filters
from django import forms
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role, Team, User
from funnel.models import Stage, StageChange
from leads.intake import parse_instant
from leads.models import Lead, Touch
from sla.clocks import SlaStatus, with_sla_status
from sla.models import Agreement, Clock
from sla.selectors import leads_visible_to


def _touch_count():
    touches = Touch.objects.filter(lead=OuterRef("pk")).order_by().values("lead")
    count = touches.annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def _next_due_at():
    running = Clock.objects.filter(lead=OuterRef("pk"), state=Clock.State.RUNNING)
    return Subquery(running.order_by("due_at").values("due_at")[:1])


def leads_prefetched(queryset: QuerySet[Lead], *, detail: bool = False) -> QuerySet[Lead]:
    """Everything the answer shows, in a fixed number of queries however many leads."""
    queryset = queryset.select_related(
        "stage", "owner", "terms", "verdict_reason", "definition_version"
    ).prefetch_related("clocks")
    queryset = queryset.annotate(touch_count=_touch_count())
    if detail:
        queryset = queryset.select_related("terms__agreement__calendar").prefetch_related(
            Prefetch("touches", queryset=Touch.objects.select_related("by")),
            Prefetch(
                "stage_changes",
                queryset=StageChange.objects.select_related("from_stage", "to_stage", "by"),
            ),
        )
    return queryset


def leads_listed(user: User, *, detail: bool = False) -> QuerySet[Lead]:
    """The leads the person may see, most urgent first for sales.

    Sales (reps and managers) work an inbox: leads with a running clock first, the
    earliest due time first, then the newest. Everyone else reads the newest first.
    """
    visible = leads_visible_to(user)
    if visible.query.distinct:
        # Visibility through team joins is de-duplicated with DISTINCT; filtering by id
        # instead keeps the annotations and the order below free of it.
        visible = Lead.objects.filter(pk__in=visible.values("pk"))
    queryset = leads_prefetched(visible, detail=detail).annotate(next_due_at=_next_due_at())
    if user.role in (Role.SALES, Role.SALES_MANAGER):
        return queryset.order_by(F("next_due_at").asc(nulls_last=True), "-received_at", "-id")
    return queryset.order_by("-received_at", "-id")


class InstantFormField(forms.Field):
    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class InstantFilter(django_filters.Filter):
    field_class = InstantFormField


class LeadFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(method="filter_owner", help_text="`me`, or a username.")
    sla_status = django_filters.ChoiceFilter(
        choices=[(status, status) for status in SlaStatus.ALL],
        method="filter_sla_status",
        help_text="The status of the lead's clocks now.",
    )
    stage = django_filters.ModelChoiceFilter(
        queryset=Stage.objects.all(), to_field_name="slug", help_text="A stage slug."
    )
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), help_text="A team id.")
    agreement = django_filters.ModelChoiceFilter(
        queryset=Agreement.objects.all(),
        field_name="terms__agreement",
        help_text="An agreement id.",
    )
    verdict = django_filters.ChoiceFilter(choices=Lead.Verdict.choices)
    received_after = InstantFilter(
        field_name="received_at", lookup_expr="gte", help_text="ISO-8601 instant, inclusive."
    )
    received_before = InstantFilter(
        field_name="received_at", lookup_expr="lt", help_text="ISO-8601 instant, exclusive."
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words found in the name, email or company."
    )

    class Meta:
        model = Lead
        fields = []

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner=self.request.user)
        return queryset.filter(owner__username=value)

    def filter_sla_status(self, queryset, name, value):
        now: datetime = timezone.now()
        return with_sla_status(queryset, now=now).filter(sla_status=value)

    def filter_search(self, queryset, name, value):
        for word in value.split()[:10]:
            queryset = queryset.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company__icontains=word)
            )
        return queryset
