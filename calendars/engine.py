"""Business time: working minutes on a weekly calendar kept in a local time zone.

Pure functions of (calendar, instant, minutes): no Django, no ORM, no clock. Instants
going in must be timezone-aware (naive ones raise ValueError); instants coming out are
UTC. Seconds and microseconds are kept, never rounded.

Windows
    Each weekday (Mon=0 .. Sun=6) has zero or more working windows in local wall time,
    held as minutes since local midnight. A window includes its start and excludes its
    end. It may end at 24:00 (1440). A window written with an end earlier than its start
    (22:00-06:00) runs past midnight: it belongs to the day it starts on and is held with
    an end past 1440, here (1320, 1800).

Holidays
    A holiday is a local date. It removes the windows that START on that date: an
    overnight window that opens the evening before a holiday still runs into it, and one
    that would open on the holiday does not run at all.

Daylight saving
    Windows follow the wall clock, and each window is one unbroken stretch of real time:
    it opens the FIRST time the clock shows its start and closes the LAST time the clock
    shows its end. A wall time the clock skips counts as shown at the instant the clock
    jumps over it. Hence, in New York:

    - spring forward (02:00 -> 03:00): 01:00-04:00 lasts 2 real hours; a start or an end
      inside the gap, such as 02:30, falls on the jump (03:00 EDT); a window wholly
      inside the gap does not run that day.
    - fall back (02:00 -> 01:00): 00:00-03:00 lasts 4 real hours; a start in the repeated
      hour takes its first occurrence, an end its second, so 01:30-01:45 lasts 75 minutes.
    - when a repeated hour makes two windows overlap in real time, the overlap counts once.

Speed
    Each calendar caches, per local date, its working time as UTC spans (integers of
    microseconds), and per week the sum. Adding minutes jumps span by span, then day by
    day or week by week, so its cost follows the days crossed, never the minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from calendars.spec import (
    DAY_KEYS,
    MINUTES_PER_DAY,
    CalendarSpecError,
    Window,
    check_holidays,
    check_windows,
    load_zone,
    parse_holidays,
    parse_hours,
    span_text,
)

__all__ = [
    "CalendarSpecError",
    "WorkCalendar",
    "add_business_minutes",
    "business_minutes_between",
    "business_seconds_between",
    "is_working",
    "next_opening",
]

# Searching for working time gives up after ten years: a calendar that is closed that
# long (say, every day a holiday) would otherwise loop forever.
HORIZON_DAYS = 3653

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60_000_000
_US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_NEVER = -(1 << 62)  # "last end" of a day without working time: before any instant

Span = tuple[int, int]  # [start, end) in microseconds since the Unix epoch, UTC


@dataclass(frozen=True)
class WorkCalendar:
    """Working windows per weekday in `timezone`'s wall time, minus `holidays`.

    `windows` has seven entries, Monday first, each a tuple of (start, end) minutes.
    Build one from the REST shape with `from_spec`. The instance caches, per local date,
    that day's working time as UTC spans; the cache is not part of equality or hash.
    """

    timezone: str
    windows: tuple[tuple[Window, ...], ...]
    holidays: frozenset[date] = frozenset()
    # Derived state and caches, filled lazily (a race between threads only computes an
    # entry twice); none of it takes part in equality or hashing.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _offset_guess: int = field(init=False, repr=False, compare=False, hash=False)
    _spans: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _days: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _weeks: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        zone = load_zone(self.timezone)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "windows", check_windows(self.windows))
        object.__setattr__(self, "holidays", check_holidays(self.holidays))
        # Any offset of the zone will do: _locate corrects the guess by a day or two.
        offset = datetime(2020, 1, 1, tzinfo=zone).utcoffset() or timedelta(0)
        object.__setattr__(self, "_offset_guess", offset // timedelta(microseconds=1))

    @classmethod
    def from_spec(
        cls, timezone: str, working_hours: Mapping, holidays: Iterable = ()
    ) -> WorkCalendar:
        """Build from `{"mon": [["09:00", "17:00"]], ...}` and "YYYY-MM-DD" holidays.

        Days left out are closed; "24:00" may end a window; an end before the start runs
        past midnight. Raises CalendarSpecError naming the field and the day at fault.
        """
        return cls(timezone, parse_hours(working_hours), parse_holidays(holidays))

    def to_spec(self) -> dict:
        """The REST shape: `WorkCalendar.from_spec(**calendar.to_spec()) == calendar`."""
        hours = {
            key: [span_text(window).split("–") for window in day]
            for key, day in zip(DAY_KEYS, self.windows, strict=True)
            if day
        }
        return {
            "timezone": self.timezone,
            "working_hours": hours,
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }

    # The engine works on integer microseconds so that sums never round.

    def _resolve(self, ordinal: int, minute: int, *, last: bool) -> int:
        """The instant the wall clock shows `minute` past midnight of date `ordinal`.

        The first such instant, or the last one when `last`; a skipped time gives the
        instant of the jump. zoneinfo guesses an offset for a skipped time, so a wall
        time that does not come back unchanged from UTC was skipped.
        """
        day = date.fromordinal(ordinal + minute // MINUTES_PER_DAY)
        minute %= MINUTES_PER_DAY
        wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        us = _to_us(wall.replace(tzinfo=self._zone, fold=int(last)))
        if _from_us(us).astimezone(self._zone).replace(tzinfo=None) == wall:
            return us
        other = _to_us(wall.replace(tzinfo=self._zone, fold=1 - int(last)))
        return self._jump(min(us, other), max(us, other))

    def _jump(self, before: int, after: int) -> int:
        """Bisect for the first instant in (before, after] that has `after`'s offset."""
        offset = _from_us(after).astimezone(self._zone).utcoffset()
        while after - before > 1:
            middle = (before + after) // 2
            if _from_us(middle).astimezone(self._zone).utcoffset() == offset:
                after = middle
            else:
                before = middle
        return after

    def _own_spans(self, ordinal: int) -> tuple[Span, ...]:
        """Working time of the windows starting on this date, merged and sorted."""
        spans = self._spans.get(ordinal)
        if spans is None:
            day = date.fromordinal(ordinal)
            windows = () if day in self.holidays else self.windows[day.weekday()]
            spans = _merge(
                (self._resolve(ordinal, start, last=False), self._resolve(ordinal, end, last=True))
                for start, end in windows
            )
            self._spans[ordinal] = spans
        return spans

    def _day(self, ordinal: int) -> tuple:
        """(midnight, working us, first start, last end, spans, open since) of a date.

        Windows of the two days before can run into this date (overnight windows, or
        one a repeated hour stretched): "open since" is the earliest date whose spans
        may still be open after this midnight. This date's spans are trimmed of what
        those windows already cover, so spans never overlap and follow each other
        from day to day.
        """
        midnight = self._resolve(ordinal, 0, last=False)
        spans = self._own_spans(ordinal)
        earlier = self._own_spans(ordinal - 2), self._own_spans(ordinal - 1)
        ends = [day[-1][1] if day else _NEVER for day in earlier]
        open_since = ordinal - 2 if ends[0] > midnight else ordinal - (ends[1] > midnight)
        covered = max(ends)
        spans = tuple((max(start, covered), end) for start, end in spans if end > covered)
        if spans:
            total = sum(end - start for start, end in spans)
            entry = (midnight, total, spans[0][0], spans[-1][1], spans, open_since)
        else:
            entry = (midnight, 0, _NEVER, _NEVER, (), open_since)
        self._days[ordinal] = entry
        return entry

    def _week(self, ordinal: int) -> int:
        """Working us of the seven days from this date on."""
        total = self._weeks.get(ordinal)
        if total is None:
            days = self._days
            total = sum((days.get(day) or self._day(day))[1] for day in range(ordinal, ordinal + 7))
            self._weeks[ordinal] = total
        return total

    def _locate(self, us: int) -> int:
        """The ordinal of the local date of instant `us` (midnights are cached)."""
        days = self._days
        ordinal = (us + self._offset_guess) // _US_PER_DAY + _EPOCH_ORDINAL
        while us < (days.get(ordinal) or self._day(ordinal))[0]:
            ordinal -= 1
        while us >= (days.get(ordinal + 1) or self._day(ordinal + 1))[0]:
            ordinal += 1
        return ordinal

    def _advance(self, us: int, remaining: int) -> int:
        """Walk spans from `us` until `remaining` working us have elapsed.

        1. Start at the earliest date whose windows may still be open at `us`.
        2. Once past `us`, skip a whole week, or else a whole day, when it holds less
           work than is left: the cost grows with the days crossed, not the minutes.
        3. Otherwise walk the day's spans; a deadline on a span's end stays there.
        """
        if not any(self.windows):
            raise ValueError("the calendar has no working windows: no time ever elapses")
        days = self._days
        ordinal = days[self._locate(us)][5]
        stop = ordinal + HORIZON_DAYS
        ahead = False  # every span from `ordinal` on starts at or after `us`
        by_week = True
        while ordinal < stop:
            if ahead and by_week:
                week = self._weeks.get(ordinal)
                if week is None:
                    week = self._week(ordinal)
                if remaining > week:
                    remaining -= week
                    ordinal += 7
                    continue
                # What is left fits in this week, so in every later one: go day by day.
                by_week = False
            _, total, first, last, spans, _ = days.get(ordinal) or self._day(ordinal)
            ordinal += 1
            if last <= us:
                continue
            ahead = True
            if first >= us and remaining > total:
                remaining -= total
                continue
            for start, end in spans:
                if end <= us:
                    continue
                if start > us:
                    us = start
                if remaining <= end - us:
                    return us + remaining
                remaining -= end - us
                us = end
        raise ValueError(
            f"no deadline within {HORIZON_DAYS} days: too many minutes, or too many holidays"
        )

    def _business_day(self, ordinal: int) -> bool:
        day = date.fromordinal(ordinal)
        return day not in self.holidays and bool(self.windows[day.weekday()])


def add_business_minutes(calendar: WorkCalendar, start: datetime, minutes: float) -> datetime:
    """The instant when `minutes` working minutes have elapsed after `start`.

    Outside working time the count starts at the next opening; `minutes=0` gives
    `next_opening(start)`. A deadline at the end of a window stays at that end.
    Raises ValueError for negative minutes, a calendar without windows, or a deadline
    more than HORIZON_DAYS away.
    """
    return _from_us(calendar._advance(_instant_us(start, "start"), _minutes_us(minutes)))


def next_opening(calendar: WorkCalendar, instant: datetime) -> datetime:
    """`instant` when it is working time, else the start of the next window.

    Raises ValueError, as add_business_minutes does, when no window ever opens.
    """
    return _from_us(calendar._advance(_instant_us(instant, "instant"), 0))


def business_seconds_between(calendar: WorkCalendar, start: datetime, end: datetime) -> float:
    """Working seconds in [start, end); 0 when end is not after start."""
    return _working_us(calendar, start, end) / _US_PER_SECOND


def business_minutes_between(calendar: WorkCalendar, start: datetime, end: datetime) -> float:
    """Working minutes in [start, end); 0 when end is not after start."""
    return _working_us(calendar, start, end) / _US_PER_MINUTE


def is_working(calendar: WorkCalendar, instant: datetime) -> bool:
    """Whether `instant` is inside a window (start included, end excluded)."""
    us = _instant_us(instant, "instant")
    ordinal = calendar._locate(us)
    days = calendar._days
    for day in range(days[ordinal][5], ordinal + 1):
        for start, end in (days.get(day) or calendar._day(day))[4]:
            if start <= us < end:
                return True
    return False


def _working_us(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    low, high = _instant_us(start, "start"), _instant_us(end, "end")
    if high <= low:
        return 0
    days = calendar._days
    worked = 0
    for ordinal in range(days[calendar._locate(low)][5], calendar._locate(high) + 1):
        _, total, first, last, spans, _ = days.get(ordinal) or calendar._day(ordinal)
        if last <= low or first >= high:
            continue
        if first >= low and last <= high:
            worked += total
            continue
        for span_start, span_end in spans:
            overlap = min(span_end, high) - max(span_start, low)
            if overlap > 0:
                worked += overlap
    return worked


def _instant_us(value: datetime, name: str) -> int:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return _to_us(value)


def _minutes_us(minutes: float) -> int:
    if isinstance(minutes, int):
        us = minutes * _US_PER_MINUTE
    elif isinstance(minutes, float) and math.isfinite(minutes):
        us = round(minutes * _US_PER_MINUTE)
    else:
        raise ValueError(f"minutes must be a finite number, got {minutes!r}")
    if us < 0:
        raise ValueError(f"minutes must not be negative, got {minutes!r}")
    return us


def _to_us(instant: datetime) -> int:
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND + delta.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(0, 0, us)  # positional: twice as fast as microseconds=


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sort spans, drop empty ones, join those that touch or overlap."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)
