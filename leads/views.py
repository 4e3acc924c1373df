"""Pages of the lead definitions: read them, try a lead against one, edit them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import may_edit_definition, may_edit_definitions
from core.htmx import login_required_htmx
from leads.definition_forms import DefinitionForm, TryLeadForm
from leads.models import LeadDefinition, LeadDefinitionVersion
from leads.services.definitions import (
    DEFINITION_TERMS,
    definition_create,
    definition_score,
    definition_update,
)

OP_WORDS = {
    "eq": "is",
    "neq": "is not",
    "in": "is one of",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
    "exists": "is present",
}


def _display_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_display_value(v) for v in value)
    return "" if value is None else str(value)


def rule_rows(rules: list[dict]) -> list[dict]:
    """Rules as the tables show them: the op in words, the value as text."""
    rows = []
    for rule in rules:
        op = rule.get("op")
        words = OP_WORDS.get(op, op)
        if op == "exists" and _display_value(rule.get("value")).lower() in ("false", "0"):
            words = "is absent"
        rows.append(
            {
                "label": rule.get("label") or "",
                "field": rule.get("field"),
                "op": op,
                "op_words": words,
                "value": "" if op == "exists" else _display_value(rule.get("value")),
                "points": rule.get("points"),
            }
        )
    return rows


def _team_zone(user) -> str | None:
    """The zone of the viewer's team calendar, shown beside the viewer's own by `{% when %}`
    (and used as the viewer's zone when they chose none); None without one (then UTC)."""
    return (
        user.teams.filter(calendar__isnull=False)
        .order_by("name")
        .values_list("calendar__timezone", flat=True)
        .first()
    )


def _definitions():
    versions = LeadDefinitionVersion.objects.select_related("created_by")
    return LeadDefinition.objects.select_related("team").prefetch_related(
        Prefetch("versions", queryset=versions)
    )


@login_required
def definition_list(request):
    return render(
        request,
        "leads/definition_list.html",
        {
            "definitions": LeadDefinition.objects.all(),
            "may_edit": may_edit_definitions(request.user),
        },
    )


def _detail_context(request, definition, *, try_form=None, result=None) -> dict:
    versions = [
        {
            "version": version,
            "criteria": rule_rows(version.criteria),
            "disqualifiers": rule_rows(version.disqualifiers),
        }
        for version in definition.versions.all()
    ]
    return {
        "definition": definition,
        "criteria": rule_rows(definition.criteria),
        "disqualifiers": rule_rows(definition.disqualifiers),
        "versions": versions,
        "zone": _team_zone(request.user),
        "may_edit": may_edit_definition(request.user, definition),
        "try_form": try_form or _blank_try_form(definition),
        "result": result,
    }


def _blank_try_form(definition) -> TryLeadForm:
    # Offer the attribute keys the definition looks at, so nobody has to guess them.
    keys = dict.fromkeys(
        rule["field"].removeprefix("attributes.")
        for rule in [*definition.criteria, *definition.disqualifiers]
        if str(rule.get("field", "")).startswith("attributes.")
    )
    return TryLeadForm(initial={"attributes": "\n".join(f"{key} = " for key in keys)})


@login_required
def definition_detail(request, pk: int):
    definition = get_object_or_404(_definitions(), pk=pk)
    return render(request, "leads/definition_detail.html", _detail_context(request, definition))


@login_required_htmx
@require_POST
def definition_try(request, pk: int):
    """Score the posted lead against the current version; nothing is saved."""
    definition = get_object_or_404(_definitions(), pk=pk)
    form = TryLeadForm(request.POST)
    result = None
    if form.is_valid():
        result = definition_score(definition=definition, data=form.lead_data())
    if request.htmx:
        context = {"definition": definition, "try_form": form, "result": result}
        return render(request, "leads/_definition_try.html", context)
    context = _detail_context(request, definition, try_form=form, result=result)
    return render(request, "leads/definition_detail.html", context)


def _edit_page(request, form, definition=None):
    return render(request, "leads/definition_form.html", {"form": form, "definition": definition})


@login_required
@require_http_methods(["GET", "POST"])
def definition_new(request):
    if not may_edit_definitions(request.user):
        raise PermissionDenied("Only marketing managers and admins may change definitions.")
    form = DefinitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            definition = definition_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Created {definition.name}, version 1.")
            return redirect("definition-detail", pk=definition.pk)
    return _edit_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def definition_edit(request, pk: int):
    definition = get_object_or_404(LeadDefinition, pk=pk)
    if not may_edit_definition(request.user, definition):
        raise PermissionDenied(
            "Only the managers of the marketing team that owns this definition, and admins, "
            "may change it."
        )
    initial = {name: getattr(definition, name) for name in DEFINITION_TERMS}
    form = DefinitionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = definition_update(definition=definition, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if saved.version == definition.version:
                messages.info(request, f"Nothing changed: still version {saved.version}.")
            else:
                messages.success(request, f"Saved as version {saved.version}.")
            return redirect("definition-detail", pk=saved.pk)
    return _edit_page(request, form, definition)
