"""One rule for showing an instant on every page: in the viewer's zone, the zone named,
and in the calendar's zone beside it when the two differ.

    {% load when %}
    {% when lead.received_at calendar_zone %}

The viewer's zone is `user.time_zone` when the person chose one, else the calendar's zone
given, else UTC. The output is a `<time>` element whose `datetime` is the UTC instant, so
scripts (countdowns) and tests read the exact value.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils.html import format_html

from core.timeparse import local_text

register = template.Library()


def viewer_zone(context, fallback: str | None) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    chosen = getattr(user, "time_zone", "") if user is not None else ""
    return chosen or fallback or "UTC"


def _valid(zone: str | None) -> str | None:
    if not zone:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return zone


@register.simple_tag(takes_context=True)
def when(context, instant: datetime | None, calendar_zone: str | None = None):
    """`Tue 1 Dec 13:00 EST` in the viewer's zone, `(19:00 CET, calendar)` after it if
    the calendar's zone shows another wall clock; an empty dash for no instant."""
    if instant is None:
        return "–"
    calendar_zone = _valid(calendar_zone)
    zone = _valid(viewer_zone(context, calendar_zone)) or "UTC"
    shown = local_text(instant, zone)
    iso = instant.isoformat().replace("+00:00", "Z")
    if calendar_zone and calendar_zone != zone:
        other = local_text(instant, calendar_zone)
        if other != shown:
            return format_html(
                '<time datetime="{}">{}</time> <span class="text-body-secondary small">'
                "({}, calendar)</span>",
                iso,
                shown,
                other,
            )
    return format_html('<time datetime="{}">{}</time>', iso, shown)
