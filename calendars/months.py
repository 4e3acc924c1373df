"""Months and business days of a business calendar.

A month is the calendar month in the calendar's zone, from local midnight of the 1st
to local midnight of the next month's 1st. A business day is a local date that is not
a holiday and has at least one window starting on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from calendars.engine import WorkCalendar, _from_us, _instant_us
from core.timeparse import month_name

__all__ = [
    "after_business_days",
    "business_days_elapsed",
    "business_days_in_month",
    "month_bounds",
    "month_closes_at",
    "month_of",
]

# However many business days are asked for, the walk ends within this many calendar days
# (a calendar whose every day is a holiday has none to count).
_LONGEST_WALK_DAYS = 3660


def month_bounds(calendar: WorkCalendar, year: int, month: int) -> tuple[datetime, datetime]:
    """UTC instants of local midnight on the 1st of the month and of the next month."""
    first, following = _month_ordinals(year, month)
    return (
        _from_us(calendar._resolve(first, 0, last=False)),
        _from_us(calendar._resolve(following, 0, last=False)),
    )


def month_of(calendar: WorkCalendar, instant: datetime) -> tuple[int, int]:
    """(year, month) of `instant` on the calendar's wall clock."""
    _instant_us(instant, "instant")
    local = instant.astimezone(calendar._zone)
    return local.year, local.month


def business_days_in_month(calendar: WorkCalendar, year: int, month: int) -> int:
    """Dates of the month that are not holidays and have a window starting on them."""
    first, following = _month_ordinals(year, month)
    return sum(calendar._business_day(ordinal) for ordinal in range(first, following))


def business_days_elapsed(calendar: WorkCalendar, instant: datetime) -> float:
    """Business days of `instant`'s month already behind it, as a fraction.

    Whole business days before the local date of `instant`, plus, when that date is a
    business day, the share of its working minutes (of the windows starting on it)
    already elapsed. 0.0 at the month's first midnight, and business_days_in_month by
    the end of its last window.
    """
    us = _instant_us(instant, "instant")
    local = instant.astimezone(calendar._zone)
    today = local.toordinal()
    first, _ = _month_ordinals(local.year, local.month)
    elapsed = float(sum(calendar._business_day(ordinal) for ordinal in range(first, today)))
    if calendar._business_day(today):
        spans = calendar._own_spans(today)
        total = sum(end - start for start, end in spans)
        worked = sum(max(0, min(end, us) - start) for start, end in spans)
        # A business day whose windows all fall in a daylight-saving gap has no work
        # to share out: count it as done.
        elapsed += worked / total if total else 1.0
    return elapsed


def _after_business_days_from(calendar: WorkCalendar, ordinal: int, days: int) -> datetime:
    """Local midnight after the `days`-th business day counted from local date `ordinal`
    on (that date included); `ordinal`'s own midnight when `days` is 0."""
    counted = 0
    day = ordinal
    while counted < days and day - ordinal < _LONGEST_WALK_DAYS:
        counted += calendar._business_day(day)
        day += 1
    return _from_us(calendar._resolve(day, 0, last=False))


def month_closes_at(calendar: WorkCalendar, year: int, month: int, grace_days: int) -> datetime:
    """When a month's books close: local midnight after the `grace_days`-th business day
    following the month (the month's own end when there is no grace)."""
    _, following = _month_ordinals(year, month)
    return _after_business_days_from(calendar, following, grace_days)


def after_business_days(calendar: WorkCalendar, instant: datetime, days: int) -> datetime:
    """Local midnight after the `days`-th business day after `instant`'s local date."""
    _instant_us(instant, "instant")
    today = instant.astimezone(calendar._zone).toordinal()
    return _after_business_days_from(calendar, today + 1, days)


def _month_ordinals(year: int, month: int) -> tuple[int, int]:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1).toordinal(), following.toordinal()


@dataclass(frozen=True)
class MonthWindow:
    """A month of an agreement's calendar as of an instant."""

    year: int
    month: int
    start: datetime
    end: datetime
    days: int  # business days in the month
    elapsed: float  # business days behind `at`, clamped to the month
    closed: bool  # `at` is at or after the month's end
    started: bool = True  # `at` is at or after the month's start

    @property
    def name(self) -> str:
        return month_name(self.year, self.month)


def month_window(calendar: WorkCalendar, year: int, month: int, at: datetime) -> MonthWindow:
    start, end = month_bounds(calendar, year, month)
    days = business_days_in_month(calendar, year, month)
    if at < start:
        elapsed = 0.0
    elif at >= end:
        elapsed = float(days)
    else:
        elapsed = min(float(days), business_days_elapsed(calendar, at))
    return MonthWindow(year, month, start, end, days, elapsed, at >= end, at >= start)
