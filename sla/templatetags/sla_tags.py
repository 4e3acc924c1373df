"""Small template helpers for the sla pages."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

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
