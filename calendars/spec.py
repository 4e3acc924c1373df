"""The REST shape of a calendar, checked: `{"mon": [["09:00", "17:00"]], ...}` and dates.

Every error is a CalendarSpecError naming the REST field at fault (`timezone`,
`working_hours`, `holidays`) and the day, so the API can answer 400 with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
_CLOCK = re.compile(r"(\d\d):(\d\d)")
_ISO_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")

Window = tuple[int, int]


class CalendarSpecError(ValueError):
    """A calendar spec that cannot be used; `field` names the REST field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def load_zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise CalendarSpecError("timezone", "expected an IANA zone name such as Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarSpecError("timezone", f"unknown time zone {name!r}") from None


def check_windows(windows: Sequence) -> tuple[tuple[Window, ...], ...]:
    if isinstance(windows, str | bytes) or len(windows) != 7:
        raise CalendarSpecError("working_hours", "expected seven days of windows, Monday first")
    try:
        days = tuple(tuple(sorted((int(s), int(e)) for s, e in day)) for day in windows)
    except (TypeError, ValueError):
        raise CalendarSpecError("working_hours", "a window is a pair of minutes") from None
    for key, day in zip(DAY_KEYS, days, strict=True):
        for start, end in day:
            overnight = MINUTES_PER_DAY < end < start + MINUTES_PER_DAY
            if not (0 <= start < MINUTES_PER_DAY and (start < end <= MINUTES_PER_DAY or overnight)):
                message = f"{key}: window ({start}, {end}) is not within one day and the next"
                raise CalendarSpecError("working_hours", message)
        for before, after in zip(day, day[1:], strict=False):
            if before[1] > after[0]:
                message = f"window {span_text(after)} overlaps {span_text(before)}"
                raise CalendarSpecError("working_hours", f"{key}: {message}")
    for index, day in enumerate(days):
        following = days[(index + 1) % 7]
        if day and following and day[-1][1] - MINUTES_PER_DAY > following[0][0]:
            next_key = DAY_KEYS[(index + 1) % 7]
            message = (
                f"{DAY_KEYS[index]}: window {span_text(day[-1])} runs into "
                f"{next_key}'s window {span_text(following[0])}"
            )
            raise CalendarSpecError("working_hours", message)
    return days


def check_holidays(holidays: Iterable) -> frozenset[date]:
    if isinstance(holidays, str | bytes):
        raise CalendarSpecError("holidays", "expected a list of dates (YYYY-MM-DD)")
    days = frozenset(holidays)
    for day in days:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CalendarSpecError("holidays", f"{day!r} is not a date")
    return days


def parse_hours(working_hours: object) -> tuple[tuple[Window, ...], ...]:
    if not isinstance(working_hours, Mapping):
        raise CalendarSpecError("working_hours", "expected an object keyed by day (mon .. sun)")
    days: list[list[Window]] = [[] for _ in DAY_KEYS]
    for key, windows in working_hours.items():
        if key not in DAY_KEYS:
            days_text = ", ".join(DAY_KEYS)
            raise CalendarSpecError("working_hours", f"unknown day {key!r} (use {days_text})")
        if windows is None:
            continue  # an explicit null is a closed day, as is a missing key
        if isinstance(windows, str) or not isinstance(windows, Sequence):
            raise CalendarSpecError("working_hours", f"{key}: expected a list of windows")
        for window in windows:
            days[DAY_KEYS.index(key)].append(_parse_window(key, window))
    return tuple(tuple(day) for day in days)


def _parse_window(key: str, window: object) -> Window:
    if isinstance(window, str) or not isinstance(window, Sequence) or len(window) != 2:
        raise CalendarSpecError(
            "working_hours", f"{key}: a window is a pair [start, end], got {window!r}"
        )
    start, end = _parse_clock(key, window[0]), _parse_clock(key, window[1])
    if start == MINUTES_PER_DAY:
        raise CalendarSpecError("working_hours", f"{key}: a window cannot start at 24:00")
    if end == start:
        raise CalendarSpecError("working_hours", f"{key}: window {window[0]}–{window[1]} is empty")
    # An end before the start means the window runs past midnight into the next day.
    return (start, end if end > start else end + MINUTES_PER_DAY)


def _parse_clock(key: str, text: object) -> int:
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarSpecError("working_hours", f"{key}: {text!r} is not a time (HH:MM)")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise CalendarSpecError("working_hours", f"{key}: {text!r} is not a time (00:00–24:00)")
    return hours * 60 + minutes


def parse_holidays(holidays: object) -> frozenset[date]:
    if isinstance(holidays, str | bytes) or not isinstance(holidays, Iterable):
        raise CalendarSpecError("holidays", "expected a list of dates (YYYY-MM-DD)")
    days = set()
    for item in holidays:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        match = _ISO_DATE.fullmatch(item) if isinstance(item, str) else None
        if match is None:
            raise CalendarSpecError("holidays", f"{item!r} is not a date (YYYY-MM-DD)")
        try:
            days.add(date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            raise CalendarSpecError("holidays", f"{item!r} is not a real date") from None
    return frozenset(days)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def span_text(window: Window) -> str:
    start, end = window
    return f"{_clock(start)}–{_clock(end if end <= MINUTES_PER_DAY else end - MINUTES_PER_DAY)}"
