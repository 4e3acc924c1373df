"""Scoring a lead against a definition, with the reasons behind the number.

A criterion names a lead field (`company_size`) or an attribute (`attributes.industry`),
an op and a value. A criterion on a missing field simply does not match. The score is the
sum of the points of the criteria met; any disqualifier that matches strikes the lead,
whatever its score. Text compares case-insensitively and numbers given as text compare as
numbers. Pure functions: no ORM.
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
MAX_POINTS = 10_000
_MISSING = object()
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class ScoreResult:
    score: int
    qualifies: bool
    explanation: list[dict] = field(default_factory=list)
    disqualified_by: list[str] = field(default_factory=list)


def field_value(data: dict, name: str):
    """The value a criterion looks at, or _MISSING when the lead does not have it."""
    if name.startswith("attributes."):
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            return _MISSING
        value = attributes.get(name.removeprefix("attributes."), _MISSING)
    else:
        value = data.get(name, _MISSING)
    if value is None or value == "":
        return _MISSING
    return value


def _number(value):
    """The value as a finite Decimal, or None (booleans, NaN and infinities are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, _SCALARS):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    # NaN would raise on ordering comparisons; an infinity is no company size either.
    return number if number.is_finite() else None


def _norm(value):
    if isinstance(value, bool):  # JSON true and the text "true" mean the same to a person
        return "true" if value else "false"
    return value.strip().casefold() if isinstance(value, str) else value


def _equal(left, right) -> bool:
    if _norm(left) == _norm(right):
        return True
    number = _number(left)
    return number is not None and number == _number(right)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _exists_wanted(expected) -> bool:
    return expected is None or _norm(expected) in ("true", 1)


def matches(data: dict, rule: dict) -> bool:
    op, expected = rule["op"], rule.get("value")
    value = field_value(data, rule["field"])
    if op == "exists":
        return (value is not _MISSING) == _exists_wanted(expected)
    if value is _MISSING:
        return False
    if op in ("gte", "lte"):
        left, right = _number(value), _number(expected)
        if left is None or right is None:
            return False
        return left >= right if op == "gte" else left <= right
    if op == "in":
        # A multi-valued attribute (a list of tags) is in when any of its values is.
        return any(_equal(v, o) for v in _as_list(value) for o in _as_list(expected))
    if op == "contains":
        if isinstance(value, list):
            return any(_equal(v, expected) for v in value)
        return str(_norm(expected)) in str(_norm(value))
    equal = _equal(value, expected)
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


def scorer(*, criteria: list[dict], disqualifiers: list[dict], qualify_at: int):
    """`score` under these rules as a function of the lead's data, remembering each result
    by the values the rules look at: a batch of leads that agree on those fields is
    scored once. Returns the same ScoreResult `score` gives (shared: do not mutate it)."""
    names = tuple(sorted({rule["field"] for rule in [*criteria, *disqualifiers]}))
    memo: dict = {}

    def apply(data: dict) -> ScoreResult:
        values = [field_value(data, name) for name in names]
        # The type belongs to the key: 1, 1.0 and True are equal in Python, not to a rule.
        key = tuple((type(v), v) for v in values)
        try:
            return memo[key]
        except KeyError:
            pass
        except TypeError:  # a list or object value: no key, scored directly
            return score(
                criteria=criteria, disqualifiers=disqualifiers, qualify_at=qualify_at, data=data
            )
        if len(memo) > 10_000:
            memo.clear()
        found = memo[key] = score(
            criteria=criteria, disqualifiers=disqualifiers, qualify_at=qualify_at, data=data
        )
        return found

    return apply


def _describe(rule: dict) -> str:
    """The fallback label of a rule without one: `company_size gte 50`, `email exists`."""
    value = rule.get("value")
    if rule["op"] == "exists" and value is None:
        return f"{rule['field']} exists"
    return f"{rule['field']} {rule['op']} {value!r}"


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
        else:
            errors.extend(f"{where}: {message}" for message in _value_errors(rule))
        points = rule.get("points")
        if with_points and (not isinstance(points, int) or isinstance(points, bool)):
            errors.append(f"{where}: points must be a whole number")
        elif with_points and abs(points) > MAX_POINTS:
            # A lead's score is stored as a database integer: keep every sum far inside it.
            errors.append(f"{where}: points must be between -{MAX_POINTS} and {MAX_POINTS}")
        label = rule.get("label")
        if label is not None and not isinstance(label, str):
            errors.append(f"{where}: label must be text")
    return errors


def _value_errors(rule: dict) -> list[str]:
    op, value = rule["op"], rule.get("value")
    if op == "exists":
        if value is not None and _norm(value) not in ("true", "false"):
            return ["exists takes true or false as value (or none, meaning true)"]
        return []
    if op in ("gte", "lte"):
        return [] if _number(value) is not None else [f"{op} needs a number as value"]
    if op == "in":
        if not isinstance(value, list) or not value:
            return ["in needs a non-empty list as value"]
        if not all(isinstance(v, _SCALARS) for v in value):
            return ["in takes a list of texts, numbers or true/false"]
        return []
    if value is None or value == "":
        return [f"{op} needs a value"]
    if not isinstance(value, _SCALARS):
        return [f"{op} needs a text, a number or true/false as value"]
    return []
