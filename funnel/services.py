"""Writes on funnel stages. Stages are configuration: the admin role changes them."""

from django.db import transaction
from django.db.models import ProtectedError, Q, RestrictedError

from funnel.models import Stage, StageChange

STAGE_FIELDS = (
    "slug",
    "name",
    "position",
    "entry_definition",
    "exit_definition",
    "kind",
    "is_active",
    "reopenable",
)


class StageInUse(Exception):
    """A stage that leads are in, or that their history names, cannot be deleted."""


def stage_create(
    *,
    slug: str,
    name: str,
    position: int,
    entry_definition: str = "",
    exit_definition: str = "",
    kind: str = Stage.Kind.OPEN,
    is_active: bool = True,
    reopenable: bool = False,
) -> Stage:
    stage = Stage(
        slug=slug,
        name=name,
        position=position,
        entry_definition=entry_definition,
        exit_definition=exit_definition,
        kind=kind,
        is_active=is_active,
        reopenable=reopenable,
    )
    stage.full_clean()
    stage.save()
    return stage


def stage_update(*, stage: Stage, **changes) -> Stage:
    unknown = set(changes) - set(STAGE_FIELDS)
    if unknown:
        raise TypeError(f"not fields of a stage: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(stage, name, value)
    stage.full_clean()
    stage.save()
    return stage


def stage_delete(*, stage: Stage) -> None:
    """Delete a stage nobody has ever been in; otherwise raise StageInUse.

    History is never rewritten, so a stage that was used can only be deactivated.
    """
    leads = stage.leads.count()
    if leads:
        raise StageInUse(
            f"{leads} lead{'s are' if leads != 1 else ' is'} in stage {stage.slug!r}; "
            "move them first, or deactivate the stage (is_active: false) instead."
        )
    if StageChange.objects.filter(Q(from_stage=stage) | Q(to_stage=stage)).exists():
        raise StageInUse(
            f"Stage {stage.slug!r} appears in the stage history of leads; "
            "deactivate it (is_active: false) instead."
        )
    try:
        with transaction.atomic():
            stage.delete()
    except (ProtectedError, RestrictedError) as exc:
        # A lead entered the stage between the check and the delete.
        raise StageInUse(
            f"Stage {stage.slug!r} is in use; deactivate it (is_active: false) instead."
        ) from exc
