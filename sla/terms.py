"""Sales terms of one lead: the agreement version's default terms, or the first tier it matches.

An agreement's sales terms may hold ordered tiers, each a condition on the lead in the
definition's criteria language (plus `score`, the lead's score under the definition) with
its own windows. The first tier whose conditions all match applies; no match, the
agreement's own terms. The tier is chosen once, at delivery, and stamped on the lead's
terms (`LeadTerms.tier`); every later clock of the lead (the next touch, a callback's
restart) reads its windows from the same version and tier, so editing tiers (a new
version) moves no running clock. Pure functions: no ORM.
"""

from dataclasses import dataclass

from leads.scoring import matches

WINDOW_TERMS = (
    "first_touch_minutes",
    "at_risk_percent",
    "next_touch_minutes",
    "attempts_before_abandon",
)


@dataclass(frozen=True)
class SalesTerms:
    """The windows that apply to one lead; `tier` is the tier's name, "" for the default."""

    tier: str
    first_touch_minutes: int
    at_risk_percent: int
    next_touch_minutes: int
    attempts_before_abandon: int


def _terms(defaults: dict, tier: dict | None) -> SalesTerms:
    values = {name: defaults[name] for name in WINDOW_TERMS}
    if tier is not None:
        values.update({name: tier[name] for name in WINDOW_TERMS if tier.get(name) is not None})
    return SalesTerms(tier=tier["name"] if tier else "", **values)


def tier_matches(tier: dict, data: dict) -> bool:
    """Whether every condition of the tier holds for the lead-shaped dict (with `score`)."""
    return all(matches(data, rule) for rule in tier.get("when") or [])


def sales_terms_for(terms: dict, data: dict) -> SalesTerms:
    """The terms for a lead delivered under `terms` (an agreement version's, or the
    agreement's own fields as a dict): the first tier that matches `data`, a lead-shaped
    dict that carries its `score`, else the defaults."""
    for tier in terms.get("tiers") or []:
        if tier_matches(tier, data):
            return _terms(terms, tier)
    return _terms(terms, None)


def sales_terms_named(terms: dict, tier: str) -> SalesTerms:
    """The terms of the tier named `tier` in `terms` (the one stamped on a lead), or the
    defaults for "" or a name the version does not hold."""
    if tier:
        for candidate in terms.get("tiers") or []:
            if candidate.get("name") == tier:
                return _terms(terms, candidate)
    return _terms(terms, None)
