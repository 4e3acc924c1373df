"""Writes on lead definitions and reason codes.

A definition's row holds its current terms; every edit bumps `version` and freezes a copy
in LeadDefinitionVersion, so a lead judged against version 3 can always be explained by
version 3 even after marketing moved on to version 5.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.access import is_admin
from accounts.models import Team, User
from leads.models import LeadDefinition, LeadDefinitionVersion, ReasonCode
from leads.scoring import ScoreResult, validate_rules

DEFINITION_TERMS = (
    "name",
    "good_lead",
    "not_a_lead",
    "handling",
    "qualify_at",
    "criteria",
    "disqualifiers",
)
_RULE_KEYS = {
    "criteria": ("field", "op", "value", "points", "label"),
    "disqualifiers": ("field", "op", "value", "label"),
}
REASON_CODE_FIELDS = ("code", "label", "is_active", "position")


def definition_validate(*, definition: LeadDefinition) -> None:
    """Raise a ValidationError naming each field whose terms are wrong.

    The one place for the rules of a definition: the services, the admin form and the
    edit page all call it.
    """
    errors: dict[str, list[str]] = {}
    for name, with_points in (("criteria", True), ("disqualifiers", False)):
        messages = validate_rules(getattr(definition, name), with_points=with_points)
        if messages:
            errors[name] = messages
    try:
        definition.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if "criteria" not in errors and "qualify_at" not in errors:
        reachable = sum(max(rule["points"], 0) for rule in definition.criteria)
        if definition.qualify_at > reachable:
            # An unreachable bar would silently turn away every lead marketing delivers.
            errors["qualify_at"] = [
                f"No lead can reach {definition.qualify_at}: "
                f"the criteria give at most {reachable} points."
            ]
    if errors:
        raise ValidationError(errors)


def _normalised_rules(rules, name: str):
    """Only the keys a rule has, in a stable order, so an unchanged rule compares equal."""
    if not isinstance(rules, list):
        return rules
    keys = _RULE_KEYS[name]
    return [
        {key: rule[key] for key in keys if key in rule} if isinstance(rule, dict) else rule
        for rule in rules
    ]


def definition_freeze(*, definition: LeadDefinition, by: User | None) -> LeadDefinitionVersion:
    """Freeze the definition's current terms as its version `definition.version`."""
    return LeadDefinitionVersion.objects.create(
        definition=definition,
        version=definition.version,
        created_at=timezone.now(),
        created_by=by,
        **{name: getattr(definition, name) for name in DEFINITION_TERMS},
    )


def _save_unique(definition: LeadDefinition) -> None:
    try:
        with transaction.atomic():
            definition.save()
    except IntegrityError as exc:
        # full_clean checked the name, but a concurrent write may have taken it since.
        raise ValidationError(
            {"name": ["A lead definition with this name already exists."]}
        ) from exc


def definition_team_for(*, by: User | None, team: Team | None) -> Team | None:
    """The marketing team a new definition belongs to: the one named (which a marketing
    manager must be a member of), else the creator's only marketing team; an admin may
    leave it to no team."""
    if team is not None:
        if team.kind != Team.Kind.MARKETING:
            raise ValidationError({"team": "must be a marketing team."})
        if by is not None and not is_admin(by) and not by.teams.filter(pk=team.pk).exists():
            raise ValidationError({"team": f"you are not a member of {team.name}."})
        return team
    if by is None or is_admin(by):
        return None
    own = list(by.teams.filter(kind=Team.Kind.MARKETING)[:2])
    if len(own) > 1:
        raise ValidationError({"team": "name which of your marketing teams owns the definition."})
    return own[0] if own else None


@transaction.atomic
def definition_create(
    *,
    by: User | None,
    name: str,
    team: Team | None = None,
    good_lead: str = "",
    not_a_lead: str = "",
    handling: str = "",
    qualify_at: int = 50,
    criteria: list[dict] | None = None,
    disqualifiers: list[dict] | None = None,
) -> LeadDefinition:
    """Create a definition and its version 1."""
    definition = LeadDefinition(
        name=name,
        team=definition_team_for(by=by, team=team),
        good_lead=good_lead,
        not_a_lead=not_a_lead,
        handling=handling,
        qualify_at=qualify_at,
        criteria=_normalised_rules([] if criteria is None else criteria, "criteria"),
        disqualifiers=_normalised_rules(
            [] if disqualifiers is None else disqualifiers, "disqualifiers"
        ),
        version=1,
    )
    definition_validate(definition=definition)
    _save_unique(definition)
    definition_freeze(definition=definition, by=by)
    return definition


@transaction.atomic
def definition_update(*, definition: LeadDefinition, by: User | None, **changes) -> LeadDefinition:
    """Apply `changes` to the terms and write the next version; no change, no version.

    The row is locked while the next number is taken, so two concurrent edits become
    versions n+1 and n+2 rather than two n+1.
    """
    unknown = set(changes) - set(DEFINITION_TERMS)
    if unknown:
        raise TypeError(f"not terms of a definition: {', '.join(sorted(unknown))}")
    for name in ("criteria", "disqualifiers"):
        if name in changes:
            changes[name] = _normalised_rules(changes[name], name)
    current = LeadDefinition.objects.select_for_update().get(pk=definition.pk)
    if all(getattr(current, name) == value for name, value in changes.items()):
        return current
    for name, value in changes.items():
        setattr(current, name, value)
    definition_validate(definition=current)
    current.version += 1
    _save_unique(current)
    definition_freeze(definition=current, by=by)
    return current


def definition_score(*, definition: LeadDefinition, data: dict) -> ScoreResult:
    """Score a lead-shaped dict against the definition's current version, saving nothing.

    The "try a lead" of the API and the definition page: both sides can see what a lead
    would score, and why, before one is delivered.
    """
    return definition.current_version.score(data)


def reason_code_create(
    *, code: str, label: str, is_active: bool = True, position: int = 0
) -> ReasonCode:
    reason_code = ReasonCode(code=code, label=label, is_active=is_active, position=position)
    reason_code.full_clean()
    reason_code.save()
    return reason_code


def reason_code_update(*, reason_code: ReasonCode, **changes) -> ReasonCode:
    """Change a reason code. Codes are deactivated, never deleted: leads point at them."""
    unknown = set(changes) - set(REASON_CODE_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a reason code: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(reason_code, name, value)
    reason_code.full_clean()
    reason_code.save()
    return reason_code
