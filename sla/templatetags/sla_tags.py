"""Small template helpers for the sla pages."""

from django import template

register = template.Library()


@register.filter
def code_label(value: str) -> str:
    """`at_risk` → `At risk`: a machine code shown to people."""
    return str(value or "").replace("_", " ").capitalize()
