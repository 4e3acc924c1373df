"""The one parser for instants and months, month arithmetic, and instants as text.

Instants are ISO-8601 with an offset (a wall time alone is ambiguous); months are
`YYYY-MM`. Each parser raises ValueError with a message fit to show a user.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime

MONTH_PATTERN = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
# "2026-12-04T16:30:00 05:00": a `+` sent unencoded in a query string arrives as a space.
_SPACED_OFFSET = re.compile(r" (\d\d(:?\d\d)?)$")
FIRST_YEAR, LAST_YEAR = 1970, 2200


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with its offset; ValueError saying what is wrong otherwise."""
    value = _SPACED_OFFSET.sub(r"+\1", str(text or "").strip())
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("Expected an ISO-8601 instant such as 2026-12-04T16:30:00-05:00.")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("Give a UTC offset (such as -05:00 or Z): a wall time alone is ambiguous.")
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise ValueError(f"Expected a year between {FIRST_YEAR} and {LAST_YEAR}.")
    return parsed


def parse_month(text: str) -> tuple[int, int]:
    """`2026-12` → (2026, 12); ValueError for anything else, or a month out of range.

    The range is the instants' (FIRST_YEAR to LAST_YEAR): a month outside it has no
    bounds the calendars can compute (`9999-12` ends in the year 10000).
    """
    match = MONTH_PATTERN.fullmatch(str(text or "").strip())
    if match is None:
        raise ValueError(f"{text!r} is not a month in the form YYYY-MM.")
    year, month = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"{match[0]} is out of range: give a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12."
        )
    return year, month


def month_field(text: str, *, field: str = "month") -> tuple[int, int]:
    """parse_month for a service: a bad month is a ValidationError naming the field."""
    try:
        return parse_month(text)
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from exc


def instant_field(text: str, *, field: str = "at") -> datetime:
    """parse_instant for a form or command: a ValidationError naming the field."""
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from exc


def month_name(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def month_add(year: int, month: int, months: int) -> tuple[int, int]:
    """The month `months` after (or before, when negative) the given one."""
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def month_before(year: int, month: int) -> tuple[int, int]:
    return month_add(year, month, -1)


def month_text(instant: datetime, timezone: str) -> str:
    """The YYYY-MM of an instant in a zone (a calendar's month)."""
    local = instant.astimezone(ZoneInfo(timezone))
    return month_name(local.year, local.month)


def local_text(instant: datetime, timezone: str) -> str:
    """`Tue 1 Dec 13:00 EST`: an instant on the wall clock of a zone, the zone named."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"
