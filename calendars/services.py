"""Calendar writes that are more than a form save: holidays added from a calendar file.

The API (`POST /api/calendars/<id>/holidays/import/`) and the calendar page call the same
two functions: `holidays_from_upload` reads the file (calendars/ics.py holds the rule),
`calendar_holidays_import` previews or adds its dates. An import is one more version of
the calendar in its history; clocks keep the due times they stored when they started,
so no running deadline moves, and new clocks count the new holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from calendars.ics import IcsHoliday, IcsHolidays, IcsIgnored, holidays_from_ics, read_upload
from calendars.models import BusinessCalendar
from core.errors import RuleRefused

# simple_history keeps a change reason of at most 100 characters.
_REASON_LENGTH = 100


@dataclass(frozen=True)
class HolidayImport:
    """What an import adds, what the calendar already had, what the file gave nothing for."""

    preview: bool
    file: str
    added: tuple[IcsHoliday, ...]
    already: tuple[IcsHoliday, ...]
    ignored: tuple[IcsIgnored, ...]
    holidays: tuple[date, ...]  # the calendar's holidays after it (previewed: as they would be)
    repeats_from: date
    repeats_to: date
    version: int | None  # the calendar's version number after it; None if nothing was written


def calendar_today(calendar: BusinessCalendar, at: datetime) -> date:
    """The calendar's local date at that instant: repeating events are read from its year."""
    try:
        return at.astimezone(ZoneInfo(calendar.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RuleRefused(
            f"Calendar {calendar.name!r} has no usable time zone ({calendar.timezone!r}):"
            " fix it before importing holidays."
        ) from None


def holidays_from_upload(upload, *, today: date) -> IcsHolidays:
    """The holidays an uploaded .ics file gives, within the configured caps (IcsRefused)."""
    max_bytes = settings.CALENDAR_ICS_MAX_BYTES
    data = read_upload(upload, max_bytes=max_bytes)
    return holidays_from_ics(
        data, today=today, max_bytes=max_bytes, max_dates=settings.CALENDAR_ICS_MAX_DATES
    )


def calendar_holidays_import(
    *, calendar: BusinessCalendar, found: IcsHolidays, file_name: str, by, preview: bool
) -> HolidayImport:
    """Add the file's dates to the calendar's holidays, or (preview) say what that would do.

    An import that adds something saves the calendar once, through its own `clean()`
    (sorted, unique dates), so its history gains exactly one record, naming the file.
    One that adds nothing writes nothing. The row is locked while the dates are merged,
    so two imports at once both land (on PostgreSQL; SQLite has no row locks).
    """
    if preview:
        return _result(calendar, found, file_name, preview=True, version=None)
    with transaction.atomic():
        locked = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        before = _stored(locked)
        new = [h.day.isoformat() for h in found.holidays if h.day.isoformat() not in before]
        if not new:
            return _result(locked, found, file_name, preview=False, version=None)
        locked.holidays = [*(locked.holidays or ()), *new]
        try:
            locked.full_clean()
        except ValidationError as exc:  # the stored calendar itself is broken
            raise RuleRefused(
                f"Calendar {locked.name!r} cannot be used as it is stored "
                f"({'; '.join(exc.messages)}): fix it before importing holidays."
            ) from exc
        locked._change_reason = _reason(file_name, len(new))
        locked._history_user = by
        locked.save()
        version = locked.history.count()  # this calendar's records, the first its creation
        return _result(locked, found, file_name, preview=False, version=version, before=before)


def _stored(calendar: BusinessCalendar) -> set[str]:
    return {str(day) for day in calendar.holidays or ()}


def _result(
    calendar: BusinessCalendar,
    found: IcsHolidays,
    file_name: str,
    *,
    preview: bool,
    version: int | None,
    before: set[str] | None = None,
) -> HolidayImport:
    # After a save the split is read against the calendar as it was, so `added` says
    # what this import added rather than "already there" for everything.
    stored = _stored(calendar) if before is None else before
    added = tuple(holiday for holiday in found.holidays if holiday.day.isoformat() not in stored)
    already = tuple(holiday for holiday in found.holidays if holiday.day.isoformat() in stored)
    days = {date.fromisoformat(str(day)) for day in calendar.holidays or ()}
    if preview:
        days |= {holiday.day for holiday in added}
    return HolidayImport(
        preview=preview,
        file=file_name,
        added=added,
        already=already,
        ignored=found.ignored,
        holidays=tuple(sorted(days)),
        repeats_from=found.repeats_from,
        repeats_to=found.repeats_to,
        version=version,
    )


def _reason(file_name: str, count: int) -> str:
    tail = f" ({count} added)"
    room = _REASON_LENGTH - len("Holidays imported from ") - len(tail) - 2
    name = file_name if len(file_name) <= room else file_name[: room - 1] + "…"
    return f"Holidays imported from {name!r}{tail}"[:_REASON_LENGTH]


def clean_file_name(name: str | None) -> str:
    """The upload's own name, without any folder a browser sent along."""
    base = str(name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:200] or "calendar.ics"
