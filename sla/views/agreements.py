"""The agreements, readable by both sides: each side's promises, and every version of them.

The list and the page show what `GET /api/agreements/` does, scoped the same way
(`sla.selectors.agreements_visible_to`): a person sees the agreements of their teams,
on either side; executives and admins all of them. A version's frozen terms hold ids for
the teams, calendar and definition; they are named with one query per kind of row.
"""

import json
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.shortcuts import get_object_or_404, render

from accounts.models import Team
from calendars.models import BusinessCalendar
from leads.models import LeadDefinition
from sla.models import AgreementVersion
from sla.proposals import signatures_by_version
from sla.selectors import agreements_visible_to
from sla.terms import WINDOW_TERMS


def _minutes(value) -> str:
    hours, minutes = divmod(int(value), 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else [])
    return f"{value} business minutes ({' '.join(parts) or '0 min'})"


# Each promise: (field, label, how its value reads).
SALES_TERMS = [
    ("first_touch_minutes", "First touch within", _minutes),
    ("at_risk_percent", "Warned at risk after", lambda v: f"{v}% of the window"),
    ("next_touch_minutes", "Next touch within", _minutes),
    ("attempts_before_abandon", "Attempts before abandoning a lead", lambda v: f"{v} attempts"),
    (
        "max_callback_business_days",
        "Callbacks set at most",
        lambda v: f"{v} business days ahead (further: a sales manager approves)",
    ),
    (
        "max_callbacks",
        "Callbacks per lead, at most",
        lambda v: f"{v} (more: a sales manager approves)",
    ),
]


def condition_text(rule: dict) -> str:
    """One condition as the criteria language writes it: `source in ["demo_request"]`."""
    if rule["op"] == "exists" and rule.get("value") is None:
        return f"{rule['field']} exists"
    return f"{rule['field']} {rule['op']} {json.dumps(rule.get('value'), ensure_ascii=False)}"


def tiers_text(tiers) -> str:
    """A version's tiers in one line each, for the history (what changed, and from what)."""
    if not tiers:
        return "none: every lead has the terms above"
    parts = []
    for index, tier in enumerate(tiers, start=1):
        when = " and ".join(condition_text(rule) for rule in tier.get("when") or [])
        own = ", ".join(
            f"{name.replace('_', ' ')} {tier[name]}" for name in WINDOW_TERMS if name in tier
        )
        parts.append(
            f"{index}. {tier['name']} — when {when or 'always'}: {own or 'the default windows'}"
        )
    return "; ".join(parts)


TIER_TERMS = [("tiers", "Tiers, the first that matches applies", tiers_text)]
MARKETING_TERMS = [
    (
        "monthly_quota",
        "Qualified leads each month",
        lambda v: f"{v} leads (unless a month's commitment says otherwise)",
    ),
    ("min_acceptance_percent", "Accepted by sales, at least", lambda v: f"{v}% of delivered leads"),
    (
        "pacing_tolerance_percent",
        "Behind pace before a warning",
        lambda v: f"{v}% below the expected pace",
    ),
]
SCOPE_TERMS = [
    ("name", "Name", str),
    ("marketing_team", "Marketing team", str),
    ("sales_team", "Sales team", str),
    ("calendar", "Business calendar", str),
    ("definition", "Lead definition", str),
    ("effective_from", "In force from", str),
    ("effective_to", "In force until", lambda v: v or "no end date"),
]
RELATED = {
    "marketing_team": Team,
    "sales_team": Team,
    "calendar": BusinessCalendar,
    "definition": LeadDefinition,
}


@dataclass(frozen=True)
class Term:
    field: str
    label: str
    text: str
    changed_from: str | None  # the previous version's text, when this version changed it


def _names(versions) -> dict[tuple[type, int], str]:
    """The names of the rows the versions' terms point at, one query per model."""
    wanted: dict[type, set] = {}
    for version in versions:
        for field, model in RELATED.items():
            if version.terms.get(field) is not None:
                wanted.setdefault(model, set()).add(version.terms[field])
    return {
        (model, row.pk): str(row)
        for model, ids in wanted.items()
        for row in model.objects.filter(pk__in=ids)
    }


def _text(field: str, value, shown, names) -> str:
    if field in RELATED:
        return (
            names.get((RELATED[field], value), f"#{value} (deleted)") if value is not None else "—"
        )
    return "—" if value is None and field != "effective_to" else str(shown(value))


def _terms(table, terms: dict, before: dict | None, names) -> list[Term]:
    rows = []
    for field, label, shown in table:
        text = _text(field, terms.get(field), shown, names)
        previous = None
        if before is not None and before.get(field) != terms.get(field):
            previous = _text(field, before.get(field), shown, names)
        rows.append(Term(field, label, text, previous))
    return rows


def tier_rows(agreement) -> list[dict]:
    """The agreement's tiers for its table: each window the tier's own, or the default's
    value marked as such."""
    rows = []
    for index, tier in enumerate(agreement.tiers or [], start=1):
        windows = {}
        for name, _, shown in (term for term in SALES_TERMS if term[0] in WINDOW_TERMS):
            own = tier.get(name)
            value = own if own is not None else getattr(agreement, name)
            windows[name] = {"text": shown(value), "default": own is None}
        rows.append(
            {
                "position": index,
                "name": tier["name"],
                "when": [condition_text(rule) for rule in tier.get("when") or []],
                **windows,
            }
        )
    return rows


@login_required
def agreement_list(request):
    agreements = (
        agreements_visible_to(request.user)
        .select_related("marketing_team", "sales_team", "calendar", "definition")
        .annotate(version_since=Max("versions__created_at"))
        .order_by("name")
    )
    rows = [
        {
            "agreement": agreement,
            "sales": _terms(SALES_TERMS, vars(agreement), None, {}),
            "marketing": _terms(MARKETING_TERMS, vars(agreement), None, {}),
            "tiers": [tier["name"] for tier in agreement.tiers or []],
        }
        for agreement in agreements
    ]
    return render(request, "sla/agreement_list.html", {"rows": rows})


@login_required
def agreement_detail(request, pk: int):
    agreement = get_object_or_404(
        agreements_visible_to(request.user).select_related(
            "marketing_team", "sales_team", "calendar", "definition"
        ),
        pk=pk,
    )
    versions = list(
        AgreementVersion.objects.filter(agreement=agreement)
        .select_related("created_by")
        .order_by("-version")
    )
    names = _names(versions)
    signed = signatures_by_version(agreement)  # who signed the versions proposals made
    history = []
    # A version frozen before tiers existed had none: not a change when the next says [].
    frozen = [{"tiers": [], **version.terms} for version in versions]
    for index, version in enumerate(versions):
        before = frozen[index + 1] if index + 1 < len(versions) else None
        tables = [
            ("Sales promises", _terms(SALES_TERMS, version.terms, before, names)),
            ("Tiers", _terms(TIER_TERMS, frozen[index], before, names)),
            ("Marketing promises", _terms(MARKETING_TERMS, version.terms, before, names)),
            ("Scope", _terms(SCOPE_TERMS, version.terms, before, names)),
        ]
        changes = sum(1 for _, terms in tables for term in terms if term.changed_from is not None)
        history.append(
            {
                "version": version,
                "tables": tables,
                "changes": changes,
                "first": before is None,
                "signed": signed.get(version.version),
            }
        )
    current = vars(agreement)
    context = {
        "agreement": agreement,
        "sales": _terms(SALES_TERMS, current, None, {}),
        "marketing": _terms(MARKETING_TERMS, current, None, {}),
        "tiers": tier_rows(agreement),
        "history": history,
        "zone": agreement.calendar.timezone,
    }
    return render(request, "sla/agreement_detail.html", context)
