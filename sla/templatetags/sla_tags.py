"""Small template helpers for the sla pages."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from funnel.rules import stages_open_to

register = template.Library()


@register.filter
def code_label(value: str) -> str:
    """`at_risk` → `At risk`: a machine code shown to people."""
    return str(value or "").replace("_", " ").capitalize()


@register.simple_tag
def options(choices, selected="", exclude=None):
    """The `<option>`s of (value, label) pairs, `selected` marked and `exclude` left out.

    One call per select instead of a template loop: the inbox renders five selects on
    each of its fifty rows.
    """
    selected = "" if selected is None else str(selected)
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if str(value) == selected else "", label)
            for value, label in choices
            if exclude is None or value != exclude
        ),
    )


@register.simple_tag
def stage_options(stages, current_stage_id, manager=False, selected=""):
    """The `<option>`s of the stages a lead in `current_stage_id` may move to, by the
    funnel's own rule (funnel.rules): forward, back to a re-openable stage, and out of a
    won or lost stage only for a manager. `stages`: the active stages, read once a page."""
    current = next((stage for stage in stages if stage.pk == current_stage_id), None)
    allowed = stages_open_to(from_stage=current, stages=stages, manager=bool(manager))
    return options([(stage.slug, stage.name) for stage in allowed], selected)
