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

from leads.scoring import _equal, _exists_wanted, _number, matches, validate_rules

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


# --- checking tiers -----------------------------------------------------------------------

MAX_TIERS = 20
MAX_CONDITIONS = 20
MAX_NAME = 100
MAX_INT = 2_147_483_647  # the agreement's own window columns
# Each window's range: the same as the agreement's own terms.
WINDOW_RANGES = {
    "first_touch_minutes": (1, MAX_INT),
    "at_risk_percent": (0, 100),
    "next_touch_minutes": (1, MAX_INT),
    "attempts_before_abandon": (0, 32767),
}
TIER_KEYS = ("name", "when", *WINDOW_TERMS)
CONDITION_KEYS = ("field", "op", "value")
SCORE = "score"  # the lead's score under the definition: a condition tiers may add


def tiers_errors(tiers) -> list[str]:
    """Messages for every malformed tier (empty when the list is well formed), each
    naming where it is (`tiers[1].when[0]`) and the rule it breaks.

    Beyond the form (a list of at most MAX_TIERS objects with known keys, unique names,
    window values in the agreement's own ranges, conditions in the criteria language),
    a tier that can never apply is refused: conditions that contradict each other, and
    any tier after one without conditions (that one takes every lead).
    """
    if not isinstance(tiers, list):
        return ["tiers: must be a list of tiers"]
    if len(tiers) > MAX_TIERS:
        return [f"tiers: at most {MAX_TIERS} tiers"]
    errors: list[str] = []
    seen: dict[str, int] = {}
    catch_all = None
    for i, tier in enumerate(tiers):
        where = f"tiers[{i}]"
        if not isinstance(tier, dict):
            errors.append(f"{where}: must be an object with name, when and its windows")
            continue
        unknown = sorted(set(tier) - set(TIER_KEYS))
        if unknown:
            errors.append(
                f"{where}: unknown key(s) {', '.join(unknown)}; a tier has {', '.join(TIER_KEYS)}"
            )
        errors.extend(_name_errors(where, tier.get("name"), seen, i))
        errors.extend(_window_errors(where, tier))
        when = tier.get("when", [])
        found = _conditions_errors(where, when)
        errors.extend(found)
        if catch_all is not None:
            errors.append(
                f"{where}: unreachable: tiers[{catch_all}] has no conditions and takes every lead"
            )
        elif isinstance(when, list) and not when:
            catch_all = i
        if not found:
            errors.extend(f"{where}.when: {message}" for message in contradictions(when))
    return errors


def tiers_clean(tiers: list) -> list[dict]:
    """Well-formed tiers as stored: names trimmed, `when` always present, windows left out
    (or null) meaning the agreement's default."""
    return [
        {
            "name": tier["name"].strip(),
            "when": [
                {key: rule[key] for key in CONDITION_KEYS if key in rule}
                for rule in tier.get("when") or []
            ],
            **{name: tier[name] for name in WINDOW_TERMS if tier.get(name) is not None},
        }
        for tier in tiers
    ]


def _name_errors(where: str, name, seen: dict, index: int) -> list[str]:
    if not isinstance(name, str) or not name.strip():
        return [f"{where}.name: a tier needs a name"]
    if len(name.strip()) > MAX_NAME:
        return [f"{where}.name: at most {MAX_NAME} characters"]
    key = name.strip().casefold()
    if key in seen:
        return [f"{where}.name: {name.strip()!r} is already the name of tiers[{seen[key]}]"]
    seen[key] = index
    return []


def _window_errors(where: str, tier: dict) -> list[str]:
    errors = []
    for name, (low, high) in WINDOW_RANGES.items():
        value = tier.get(name)
        if value is None:  # left out: the agreement's own
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            unit = "a percentage" if name == "at_risk_percent" else "a whole number"
            errors.append(f"{where}.{name}: must be {unit} from {low} to {high:,}")
    return errors


def _conditions_errors(where: str, when) -> list[str]:
    if not isinstance(when, list):
        return [f"{where}.when: must be a list of conditions (empty: every lead)"]
    if len(when) > MAX_CONDITIONS:
        return [f"{where}.when: at most {MAX_CONDITIONS} conditions"]
    errors = []
    for j, rule in enumerate(when):
        at = f"{where}.when[{j}]"
        if not isinstance(rule, dict):
            errors.append(f"{at}: must be an object with field, op and value")
            continue
        unknown = sorted(set(rule) - set(CONDITION_KEYS))
        if unknown:
            errors.append(
                f"{at}: unknown key(s) {', '.join(unknown)}; a condition has field, op, value"
            )
        checked = rule
        if rule.get("field") == SCORE:
            if rule.get("op") == "contains":
                errors.append(f"{at}: score is a number: use eq, neq, in, gte, lte or exists")
                continue
            checked = {**rule, "field": "company_size"}  # a number the criteria know
        for message in validate_rules([checked], with_points=False):
            text = message.removeprefix("rule 1: ")
            if rule.get("field") != SCORE:
                text = text.replace("is not a lead field (", "is not score, a lead field (")
            errors.append(f"{at}: {text}")
    return errors


def contradictions(when: list[dict]) -> list[str]:
    """Why well-formed conditions can never all hold for one lead (empty: they can).

    Per field: `exists false` beside any other condition on it (every other op needs a
    value); a lower bound above an upper bound; two different `eq`; an `eq` outside the
    bounds, refused by a `neq`, or in none of an `in`'s values.
    """
    by_field: dict[str, list[dict]] = {}
    for rule in when:
        by_field.setdefault(rule["field"], []).append(rule)
    found = []
    for name, rules in by_field.items():
        absent = [r for r in rules if r["op"] == "exists" and not _exists_wanted(r.get("value"))]
        if absent and len(rules) > 1:
            found.append(f"{name}: 'exists false' and another condition on it cannot both hold")
            continue
        lows = [_number(r["value"]) for r in rules if r["op"] == "gte"]
        highs = [_number(r["value"]) for r in rules if r["op"] == "lte"]
        low, high = (max(lows) if lows else None), (min(highs) if highs else None)
        if low is not None and high is not None and low > high:
            found.append(f"{name}: gte {low} and lte {high} cannot both hold")
        equals = [r["value"] for r in rules if r["op"] == "eq"]
        different = [other for other in equals[1:] if not _equal(equals[0], other)]
        if different:
            found.append(f"{name}: eq {equals[0]!r} and eq {different[0]!r} cannot both hold")
            continue
        if not equals:
            continue
        value, number = equals[0], _number(equals[0])
        if (low is not None or high is not None) and (
            number is None
            or (low is not None and number < low)
            or (high is not None and number > high)
        ):
            found.append(f"{name}: eq {value!r} is outside its gte/lte bounds")
        for rule in rules:
            if rule["op"] == "neq" and _equal(value, rule["value"]):
                found.append(f"{name}: eq {value!r} and neq {rule['value']!r} cannot both hold")
            if rule["op"] == "in" and not any(_equal(value, v) for v in rule["value"]):
                found.append(f"{name}: eq {value!r} is in none of the in values {rule['value']!r}")
    return found
