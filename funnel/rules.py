"""Which moves through the funnel are allowed: one rule, for the API, the pages and imports.

Forward, one stage or several, is always allowed, and so is closing an open lead in a won
or lost stage. Back, only to a stage marked `reopenable`. Out of a won or lost stage, only
between won and lost stages, by a sales manager or an admin who says why; a closed lead
never returns to an open stage (marketing re-delivers it as a new lead). Pure: the caller
passes the stages and what it knows of the person.
"""

from dataclasses import dataclass

from funnel.models import Stage


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


def stage_move_refusal(
    *, from_stage: Stage | None, to_stage: Stage, manager: bool, note: str
) -> Refusal | None:
    """Why the move from `from_stage` to `to_stage` is refused, or None when it is allowed."""
    if from_stage is None or from_stage.pk == to_stage.pk:
        return None
    if from_stage.is_closed:
        if not to_stage.is_closed:
            return Refusal(
                "closed_stage",
                f"closed_stage: a lead in {from_stage.name} ({from_stage.kind}) never returns "
                f"to an open stage; re-deliver it as a new lead.",
            )
        if not manager:
            return Refusal(
                "closed_stage",
                f"closed_stage: only a sales manager or an admin moves a lead out of "
                f"{from_stage.name} ({from_stage.kind}).",
            )
        if not (note or "").strip():
            return Refusal(
                "closed_stage",
                f"closed_stage: say why the lead leaves {from_stage.name} (a note).",
            )
        return None
    if to_stage.is_closed or to_stage.position > from_stage.position:
        return None
    if not to_stage.reopenable:
        return Refusal(
            "backward_move",
            f"backward_move: a lead in {from_stage.name} may move back only to a stage marked "
            f"re-openable, and {to_stage.name} is not.",
        )
    return None


def stages_open_to(*, from_stage: Stage | None, stages: list[Stage], manager: bool) -> list[Stage]:
    """The stages a lead in `from_stage` may move to (a note given), for the pages' choices."""
    return [
        stage
        for stage in stages
        if stage.pk != getattr(from_stage, "pk", None)
        and stage_move_refusal(
            from_stage=from_stage, to_stage=stage, manager=manager, note="reason"
        )
        is None
    ]
