"""Holidays from an iCalendar (.ics) file: which dates it gives, and what it ignores and why.

Plain functions of bytes and the day the import runs: no ORM, no clock. The file is
untrusted; whatever its bytes, the answer is holidays, or `IcsRefused` with a message
for the `file` field, never another exception.

What becomes a holiday
    A VEVENT whose DTSTART is a DATE (an all-day event) gives its dates: DTEND is
    exclusive, DURATION counts whole days (a part day counts as one), no end is one day.
    Outlook's older exports write an all-day event as midnight to midnight with
    X-MICROSOFT-CDO-ALLDAYEVENT:TRUE; that counts as all-day too.
    A recurring one (RRULE, RDATE, EXDATE, and other events overriding one occurrence
    by RECURRENCE-ID) gives the occurrences that start inside the window, 1 January of
    this year to 31 December two years on; DTSTART counts as the first occurrence, as
    RFC 5545 says. A one-off event gives its dates whatever the year.

What is ignored, each listed with its reason
    Timed events, cancelled ones, events without a readable start, rules an all-day
    event cannot follow (see calendars/recurrence.py), a recurring event with no
    occurrence inside the window, to-dos and journal entries. Time zones and alarms are
    not events and are skipped silently.

What refuses the whole file
    More than `max_bytes`, not UTF-8 text (a UTF-16 file with its byte-order mark is
    read), NUL bytes, not parseable, no VCALENDAR, more than `max_dates` dates, or
    repeating events needing more than `max_periods` periods of work.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar

from calendars.recurrence import (
    Budget,
    BudgetExceeded,
    RuleNotExpanded,
    rule_dates,
    rule_from_parts,
)

REPEAT_YEARS_AHEAD = 2
MAX_PERIODS = 10_000
MAX_PERIODS_PER_RULE = 5_000
NAME_LENGTH = 120
UNTITLED = "(untitled)"
NAMES_KEPT = 3  # events named per date; "and N more" counts the others
# Repeated dates cost work too: a file may give the same dates over and over, up to this
# many times the distinct dates it is allowed.
_REPEATS_ALLOWED = 20
_DATE_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")
_NOT_EVENTS = {
    "VTODO": "a to-do (VTODO), not an event",
    "VJOURNAL": "a journal entry, not an event",
}


class IcsRefused(ValueError):
    """The file cannot be imported at all; the message says why, for the `file` field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class IcsHoliday:
    day: date
    name: str  # the events giving that date, " / " between them


@dataclass(frozen=True)
class IcsIgnored:
    name: str
    start: str  # DTSTART as the file gives it, in ISO form, or "" without one
    reason: str


@dataclass(frozen=True)
class IcsHolidays:
    holidays: tuple[IcsHoliday, ...]  # one per date, in date order
    ignored: tuple[IcsIgnored, ...]  # in file order
    repeats_from: date  # the window recurring events are expanded in
    repeats_to: date


def read_upload(upload, *, max_bytes: int) -> bytes:
    """The upload's bytes, read no further than one byte past the cap."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise IcsRefused(_too_large(max_bytes))
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise IcsRefused(_too_large(max_bytes))
    return data


def _too_large(max_bytes: int) -> str:
    return f"The file is larger than {_size(max_bytes)}, the most one import reads."


def _size(count: int) -> str:
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MB"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024} KB"
    return f"{count:,} bytes"


def repeat_window(today: date) -> tuple[date, date]:
    """1 January this year to 31 December `REPEAT_YEARS_AHEAD` years on."""
    return date(today.year, 1, 1), date(min(today.year + REPEAT_YEARS_AHEAD, 9999), 12, 31)


def holidays_from_ics(
    data: bytes,
    *,
    today: date,
    max_bytes: int,
    max_dates: int,
    max_periods: int = MAX_PERIODS,
) -> IcsHolidays:
    """The holiday dates an iCalendar file gives (with names), and what it ignores."""
    if len(data) > max_bytes:
        raise IcsRefused(_too_large(max_bytes))
    calendars = _calendars(_text(data))
    first, last = repeat_window(today)
    events, ignored = _components(calendars)
    overridden = _overridden(events)
    budget = Budget(max_periods, per_rule=min(max_periods, MAX_PERIODS_PER_RULE))
    names: dict[date, list[str]] = {}
    more: dict[date, int] = {}  # further events naming a date, past NAMES_KEPT
    too_many = IcsRefused(
        f"The file gives more than {max_dates:,} holiday dates, the most one import adds."
    )
    given = 0
    for event in events:
        name = _name(event)
        try:
            starts, length = _event_dates(
                event, first=first, last=last, budget=budget, overridden=overridden
            )
            # Count before expanding, so one event lasting a century costs nothing.
            given += len(starts) * length
            if length > max_dates or given > max_dates * _REPEATS_ALLOWED:
                raise too_many
            days = [day + timedelta(days=offset) for day in starts for offset in range(length)]
        except _Ignored as exc:
            ignored.append(IcsIgnored(name=name, start=_start_text(event), reason=exc.reason))
            continue
        except OverflowError:
            reason = "its dates run past the year 9999"
            ignored.append(IcsIgnored(name=name, start=_start_text(event), reason=reason))
            continue
        except BudgetExceeded as exc:
            raise IcsRefused(f"The file cannot be imported: {exc}.") from None
        _name_days(names, more, name, days)
        if len(names) > max_dates:
            raise too_many
    holidays = tuple(
        IcsHoliday(day, _joined(names[day], more.get(day, 0))) for day in sorted(names)
    )
    return IcsHolidays(holidays, tuple(ignored), first, last)


def _name_days(names: dict, more: dict, name: str, days: list[date]) -> None:
    """Each date keeps the first NAMES_KEPT names giving it, and counts the other events."""
    for day in days:
        kept = names.setdefault(day, [])
        if name in kept:
            continue
        if len(kept) < NAMES_KEPT:
            kept.append(name)
        else:
            more[day] = more.get(day, 0) + 1


def _joined(names: list[str], more: int) -> str:
    return " / ".join(names) + (f" / and {more} more" if more else "")


def _text(data: bytes) -> str:
    if not data.strip():
        raise IcsRefused("The file is empty.")
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IcsRefused(
            f"The file is not UTF-8 text (byte {exc.start + 1} is not), "
            "as an iCalendar (.ics) file must be."
        ) from None
    if "\x00" in text:
        raise IcsRefused("The file holds NUL bytes: it is binary, not an iCalendar (.ics) file.")
    return text


def _calendars(text: str) -> list:
    try:
        components = Calendar.from_ical(text, multiple=True)
    # The parser meets untrusted text: whatever it raises means "not a calendar file".
    except Exception as exc:
        detail = re.sub(r"\s+", " ", str(exc))[:160]
        raise IcsRefused(f"The file is not an iCalendar (.ics) file: {detail}") from None
    calendars = [c for c in components if str(c.name).upper() == "VCALENDAR"]
    if not calendars:
        raise IcsRefused(
            "The file holds no calendar: an iCalendar (.ics) file starts with BEGIN:VCALENDAR."
        )
    return calendars


def _components(calendars: Iterable) -> tuple[list, list[IcsIgnored]]:
    """The VEVENTs of every calendar in the file, and its to-dos and journal entries."""
    events, ignored = [], []
    for calendar in calendars:
        for component in calendar.subcomponents:
            kind = str(component.name).upper()
            if kind == "VEVENT":
                events.append(component)
            elif kind in _NOT_EVENTS:
                ignored.append(
                    IcsIgnored(_name(component), _start_text(component), _NOT_EVENTS[kind])
                )
    return events, ignored


def _overridden(events: list) -> dict[str, set[date]]:
    """Per UID, the occurrences another event replaces (RECURRENCE-ID)."""
    found: dict[str, set[date]] = {}
    for event in events:
        if _broken(event, "RECURRENCE-ID"):
            continue
        moment = _value(event, "RECURRENCE-ID")
        if isinstance(moment, date):
            day = moment.date() if isinstance(moment, datetime) else moment
            found.setdefault(str(event.get("UID", "")), set()).add(day)
    return found


class _Ignored(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _event_dates(
    event, *, first: date, last: date, budget: Budget, overridden: dict[str, set[date]]
) -> tuple[list[date], int]:
    """The dates the event's occurrences start on, and the days each lasts; or _Ignored
    saying why the event gives none."""
    for name in _DATE_PROPERTIES:
        message = _broken(event, name)
        if message:
            raise _Ignored(f"its {name} cannot be read ({message[:100]})")
    if str(event.get("STATUS", "")).strip().upper() == "CANCELLED":
        raise _Ignored("it is cancelled (STATUS:CANCELLED)")
    start = _all_day_start(event)
    length = _length(event, start)
    if event.get("RRULE") is None and event.get("RDATE") is None:
        return [start], length
    starts = _occurrences(event, start, first=first, last=last, budget=budget)
    starts = [day for day in starts if day not in overridden.get(_uid(event), ())]
    if not starts:
        raise _Ignored(f"it repeats, but not between {first} and {last}")
    return starts, length


def _all_day_start(event) -> date:
    moment = _value(event, "DTSTART")
    if moment is None:
        raise _Ignored("it has no start (DTSTART)")
    if isinstance(moment, datetime):
        midnight = (moment.hour, moment.minute, moment.second) == (0, 0, 0)
        if midnight and str(event.get("X-MICROSOFT-CDO-ALLDAYEVENT", "")).upper() == "TRUE":
            return moment.date()
        raise _Ignored(f"it is a timed event (at {moment:%H:%M}), not an all-day one")
    if not isinstance(moment, date):
        raise _Ignored("its DTSTART is not a date")
    return moment


def _length(event, start: date) -> int:
    """Days the event covers: DTEND is exclusive; DURATION counts part days as whole ones."""
    end = _value(event, "DTEND")
    if isinstance(end, date):
        end_day = end.date() if isinstance(end, datetime) else end
        return max(1, (end_day - start).days)
    duration = _value(event, "DURATION")
    if isinstance(duration, timedelta):
        return max(1, math.ceil(duration / timedelta(days=1)))
    return 1


def _occurrences(event, start: date, *, first: date, last: date, budget: Budget) -> list[date]:
    """Occurrence start dates inside the window: DTSTART, RRULE and RDATE, less EXDATE."""
    found = {start}
    for parts in event.rrules:
        try:
            rule = rule_from_parts(parts)
            found.update(rule_dates(rule, start=start, first=first, last=last, budget=budget))
        except RuleNotExpanded as exc:
            raise _Ignored(f"its repeat rule is not expanded: {exc}") from None
        except (ValueError, TypeError) as exc:  # dateutil refusing a combination of parts
            raise _Ignored(f"its repeat rule cannot be expanded ({str(exc)[:100]})") from None
    for moment, _end in event.rdates:
        if isinstance(moment, date):
            found.add(moment.date() if isinstance(moment, datetime) else moment)
    for moment in event.exdates:
        if isinstance(moment, date):
            found.discard(moment.date() if isinstance(moment, datetime) else moment)
    return sorted(day for day in found if first <= day <= last)


def _value(component, name: str):
    prop = component.get(name)
    if isinstance(prop, list):  # a property given twice: the first one counts
        prop = prop[0] if prop else None
    return getattr(prop, "dt", None)


def _broken(component, name: str) -> str:
    """Why the parser could not read that property, or ""."""
    for prop_name, message in getattr(component, "errors", ()):
        if str(prop_name).upper() == name:
            return str(message) or "unreadable"
    return ""


def _uid(event) -> str:
    return str(event.get("UID", ""))


def _name(component) -> str:
    summary = component.get("SUMMARY")
    if isinstance(summary, list):
        summary = summary[0] if summary else None
    text = re.sub(r"\s+", " ", str(summary or "")).strip()
    return text[:NAME_LENGTH] or UNTITLED


def _start_text(component) -> str:
    if _broken(component, "DTSTART"):
        return ""
    moment = _value(component, "DTSTART")
    return moment.isoformat() if isinstance(moment, date) else ""
