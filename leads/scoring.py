"""Scoring a lead against a definition, with the reasons behind the number.

A criterion names a lead field (`company_size`) or an attribute (`attributes.industry`),
an op and a value. A criterion on a missing field simply does not match. The score is the
sum of the points of the criteria met; any disqualifier that matches strikes the lead,
whatever its score. Pure functions: no ORM.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

OPS = ("eq", "neq", "in", "contains", "gte", "lte", "exists")
LEAD_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "country",
    "company_size",
    "source",
    "external_id",
)
_MISSING = object()


@dataclass(frozen=True)
class ScoreResult:
    score: int
    qualifies: bool
    explanation: list[dict] = field(default_factory=list)
    disqualified_by: list[str] = field(default_factory=list)


def field_value(data: dict, name: str):
    """The value a criterion looks at, or _MISSING when the lead does not have it."""
    if name.startswith("attributes."):
        value = (data.get("attributes") or {}).get(name.removeprefix("attributes."), _MISSING)
    else:
        value = data.get(name, _MISSING)
    if value is None or value == "":
        return _MISSING
    return value


def _number(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _norm(value):
    return value.strip().casefold() if isinstance(value, str) else value


def matches(data: dict, rule: dict) -> bool:
    op, expected = rule["op"], rule.get("value")
    value = field_value(data, rule["field"])
    if op == "exists":
        present = value is not _MISSING
        return present if expected in (None, True, "true", 1) else not present
    if value is _MISSING:
        return False
    if op in ("gte", "lte"):
        left, right = _number(value), _number(expected)
        if left is None or right is None:
            return False
        return left >= right if op == "gte" else left <= right
    if op == "in":
        options = expected if isinstance(expected, list) else [expected]
        return _norm(value) in {_norm(o) for o in options} or str(value) in {
            str(o) for o in options
        }
    if op == "contains":
        if isinstance(value, list):
            return _norm(expected) in {_norm(v) for v in value}
        return str(_norm(expected)) in str(_norm(value))
    equal = _norm(value) == _norm(expected) or (
        _number(value) is not None and _number(value) == _number(expected)
    )
    return equal if op == "eq" else not equal


def score(
    *, criteria: list[dict], disqualifiers: list[dict], qualify_at: int, data: dict
) -> ScoreResult:
    explanation = [
        {"label": rule.get("label") or _describe(rule), "points": int(rule.get("points", 0))}
        for rule in criteria
        if matches(data, rule)
    ]
    struck = [rule.get("label") or _describe(rule) for rule in disqualifiers if matches(data, rule)]
    total = sum(item["points"] for item in explanation)
    return ScoreResult(
        score=total,
        qualifies=total >= qualify_at and not struck,
        explanation=explanation,
        disqualified_by=struck,
    )


def _describe(rule: dict) -> str:
    return f"{rule['field']} {rule['op']} {rule.get('value')!r}"


def validate_rules(rules, *, with_points: bool) -> list[str]:
    """Messages for every malformed rule (empty when all are well formed)."""
    if not isinstance(rules, list):
        return ["must be a list of rules"]
    errors = []
    for i, rule in enumerate(rules):
        where = f"rule {i + 1}"
        if not isinstance(rule, dict):
            errors.append(f"{where}: must be an object with field, op and value")
            continue
        name = rule.get("field")
        if not isinstance(name, str) or not (
            name in LEAD_FIELDS or (name.startswith("attributes.") and len(name) > 11)
        ):
            errors.append(
                f"{where}: field {name!r} is not a lead field "
                f"({', '.join(LEAD_FIELDS)}) or attributes.<key>"
            )
        if rule.get("op") not in OPS:
            errors.append(f"{where}: op {rule.get('op')!r} is not one of {', '.join(OPS)}")
        elif rule["op"] in ("gte", "lte") and _number(rule.get("value")) is None:
            errors.append(f"{where}: {rule['op']} needs a number as value")
        elif rule["op"] == "in" and not isinstance(rule.get("value"), list):
            errors.append(f"{where}: in needs a list as value")
        elif rule["op"] not in ("exists",) and rule.get("value") in (None, ""):
            errors.append(f"{where}: {rule['op']} needs a value")
        if with_points and not isinstance(rule.get("points"), int):
            errors.append(f"{where}: points must be a whole number")
        label = rule.get("label")
        if label is not None and not isinstance(label, str):
            errors.append(f"{where}: label must be text")
    return errors
