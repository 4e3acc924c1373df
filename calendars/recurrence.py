"""The dates an all-day RRULE (RFC 5545 §3.3.10) gives, found with a bounded amount of work.

A file is untrusted input. dateutil's own iteration walks period after period until it
finds a match, so a rule that never matches (the 30th of February, a BYSETPOS beyond the
set) runs on to the year 9999, and a daily rule from the year 1 walks 740,000 days
before reaching today. Here instead:

1. periods (a year, a month, a week, a day, times INTERVAL) are walked one by one, each
   counted against a `Budget`, so the work has a ceiling whatever the rule;
2. a rule without COUNT starts at the period holding the window's first day; only
   COUNT, which counts from DTSTART, needs the periods before it;
3. a yearly or monthly period is expanded by dateutil (BYDAY=4TH, BYSETPOS, BYWEEKNO:
   the hard parts) with an INTERVAL so large that dateutil stops after that one period;
   a weekly or daily period is seven days or one, filtered here.

Only what an all-day event can mean is expanded: a rule that repeats within a day, or
uses a part RFC 5545 does not allow for its frequency, raises `RuleNotExpanded` saying
why, and the file reader lists the event as ignored.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil import rrule as du

FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_SUB_DAILY = {"HOURLY", "MINUTELY", "SECONDLY"}
_WITHIN_A_DAY = ("BYHOUR", "BYMINUTE", "BYSECOND")
_KNOWN = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "WKST",
    "BYMONTH",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYDAY",
    "BYSETPOS",
    *_WITHIN_A_DAY,
}
# The largest value of each numeric part; zero is never allowed, negatives count from the end.
_RANGES = {
    "BYMONTHDAY": 31,
    "BYYEARDAY": 366,
    "BYWEEKNO": 53,
    "BYSETPOS": 366,
}
# So large that dateutil's next period falls past the year 9999 and it stops.
_ONE_PERIOD = {"YEARLY": 10_000, "MONTHLY": 120_000}
MAX_INTERVAL = 1000


class RuleNotExpanded(ValueError):
    """This rule is not one an all-day holiday can follow; the message says why."""


class BudgetExceeded(Exception):
    """The file asks for more recurrence work than one import may do (not a ValueError,
    so that no handler of a bad rule mistakes it for one)."""


class Budget:
    """Periods left to walk: for the whole file, and for the rule being expanded.

    One rule spending more than `per_rule` raises RuleNotExpanded (that event is
    ignored); the file spending more than `periods` raises BudgetExceeded (the file is
    refused), so many moderately costly rules cannot add up to an unbounded request.
    """

    def __init__(self, periods: int, *, per_rule: int) -> None:
        self.limit = periods
        self.left = periods
        self.per_rule = per_rule
        self.rule_left = per_rule

    def start_rule(self) -> None:
        self.rule_left = self.per_rule

    def spend(self) -> None:
        self.left -= 1
        self.rule_left -= 1
        if self.left < 0:
            raise BudgetExceeded(
                f"its repeating events need more than {self.limit:,} periods expanded"
            )
        if self.rule_left < 0:
            raise RuleNotExpanded(
                f"it needs more than {self.per_rule:,} periods expanded"
                " (it starts too long before the years it is read for)"
            )


@dataclass(frozen=True)
class Rule:
    """An RRULE read and checked: parts as plain integers, BYDAY as (ordinal, weekday)."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: date | None = None
    wkst: int = 0
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    byday: tuple[tuple[int | None, int], ...] = ()
    bysetpos: tuple[int, ...] = ()


def rule_from_parts(parts: dict) -> Rule:
    """A Rule from icalendar's `vRecur` (a dict of lists); RuleNotExpanded when it isn't one."""
    names = {str(key).upper() for key in parts}
    freq = _one(parts, "FREQ", str, "").upper()
    if freq in _SUB_DAILY or names & set(_WITHIN_A_DAY):
        raise RuleNotExpanded("it repeats within a day, which an all-day holiday cannot")
    if freq not in FREQUENCIES:
        raise RuleNotExpanded(f"its RRULE has no frequency this import knows ({freq or 'none'})")
    unknown = sorted(names - _KNOWN)
    if unknown:
        raise RuleNotExpanded(f"its RRULE uses {', '.join(unknown)}, which this import does not")
    rule = Rule(
        freq=freq,
        interval=_one(parts, "INTERVAL", int, 1),
        count=_one(parts, "COUNT", int, None),
        until=_until(parts),
        wkst=_weekday(_one(parts, "WKST", str, "MO")),
        bymonth=tuple(_month(value) for value in parts.get("BYMONTH", ())),
        bymonthday=_numbers(parts, "BYMONTHDAY"),
        byyearday=_numbers(parts, "BYYEARDAY"),
        byweekno=_numbers(parts, "BYWEEKNO"),
        byday=tuple(_byday(value) for value in parts.get("BYDAY", ())),
        bysetpos=_numbers(parts, "BYSETPOS"),
    )
    _check(rule)
    return rule


def _one(parts: dict, name: str, kind, default):
    values = parts.get(name) or []
    if not values:
        return default
    try:
        return kind(values[0])
    except (TypeError, ValueError):
        raise RuleNotExpanded(f"its RRULE has an unreadable {name}") from None


def _until(parts: dict) -> date | None:
    values = parts.get("UNTIL") or []
    if not values:
        return None
    value = values[0]
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise RuleNotExpanded("its RRULE has an unreadable UNTIL")


def _weekday(text: str) -> int:
    code = str(text).strip().upper()
    if code not in WEEKDAYS:
        raise RuleNotExpanded(f"its RRULE names no weekday {text!r}")
    return WEEKDAYS.index(code)


def _month(value) -> int:
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= 12:  # "5L" is a leap month (RFC 7529)
        raise RuleNotExpanded(f"its RRULE names no month {text!r}")
    return int(text)


def _numbers(parts: dict, name: str) -> tuple[int, ...]:
    highest = _RANGES[name]
    numbers = []
    for value in parts.get(name, ()):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise RuleNotExpanded(f"its RRULE has an unreadable {name}") from None
        if number == 0 or abs(number) > highest:
            raise RuleNotExpanded(f"its RRULE's {name}={number} is out of range")
        numbers.append(number)
    return tuple(numbers)


def _byday(value) -> tuple[int | None, int]:
    text = str(value).strip().upper()
    ordinal_text, code = text[:-2], text[-2:]
    if code not in WEEKDAYS:
        raise RuleNotExpanded(f"its RRULE names no weekday {text!r}")
    if not ordinal_text:
        return None, WEEKDAYS.index(code)
    try:
        ordinal = int(ordinal_text)
    except ValueError:
        raise RuleNotExpanded(f"its RRULE's BYDAY={text} is unreadable") from None
    if ordinal == 0 or abs(ordinal) > 53:
        raise RuleNotExpanded(f"its RRULE's BYDAY={text} is out of range")
    return ordinal, WEEKDAYS.index(code)


def _check(rule: Rule) -> None:
    """What RFC 5545 allows per frequency; the rest is refused rather than guessed."""
    if not 1 <= rule.interval <= MAX_INTERVAL:
        raise RuleNotExpanded(f"its RRULE's INTERVAL={rule.interval} is out of range")
    if rule.count is not None and rule.count < 1:
        raise RuleNotExpanded(f"its RRULE's COUNT={rule.count} is out of range")
    if rule.count is not None and rule.until is not None:
        raise RuleNotExpanded("its RRULE has both COUNT and UNTIL, which RFC 5545 forbids")
    if rule.freq != "YEARLY" and (rule.byweekno or rule.byyearday):
        raise RuleNotExpanded("BYWEEKNO and BYYEARDAY belong to yearly rules only")
    if rule.freq == "WEEKLY" and rule.bymonthday:
        raise RuleNotExpanded("BYMONTHDAY does not belong to a weekly rule")
    numbered = any(ordinal is not None for ordinal, _ in rule.byday)
    if numbered and (rule.freq in ("WEEKLY", "DAILY") or rule.byweekno):
        raise RuleNotExpanded("a numbered BYDAY (such as 4TH) belongs to a monthly or yearly rule")


def rule_dates(
    rule: Rule, *, start: date, first: date, last: date, budget: Budget
) -> Iterator[date]:
    """The dates an occurrence starts on, in order, from `start` (DTSTART) up to `last`.

    Dates before `first` may come out too (the caller clips to the window); periods
    wholly before it are skipped unless COUNT needs them counted. DTSTART itself is the
    caller's business: RFC 5545 counts it as the first instance whether or not it matches.
    """
    until = min(rule.until or last, last)
    count = rule.count
    budget.start_rule()
    for period in _periods(rule, start=start, first=start if count else first):
        if period > until:
            return
        budget.spend()
        for day in _period_dates(rule, period, start):
            if day < start:
                continue
            if day > until:
                return
            if count is not None:
                count -= 1
                if count < 0:
                    return
            yield day


def _periods(rule: Rule, *, start: date, first: date) -> Iterator[date]:
    """First day of each period of the rule, from the one holding `first` on."""
    step = rule.interval
    try:
        if rule.freq == "YEARLY":
            skip = max(0, (first.year - start.year) // step)
            for year in range(start.year + skip * step, date.max.year + 1, step):
                yield date(year, 1, 1)
        elif rule.freq == "MONTHLY":
            origin = start.year * 12 + start.month - 1
            skip = max(0, (first.year * 12 + first.month - 1 - origin) // step)
            for index in range(origin + skip * step, date.max.year * 12 + 12, step):
                yield date(index // 12, index % 12 + 1, 1)
        else:
            days = 7 * step if rule.freq == "WEEKLY" else step
            origin = start
            if rule.freq == "WEEKLY":  # a week begins on WKST
                origin = start - timedelta(days=(start.weekday() - rule.wkst) % 7)
            period = origin + timedelta(days=max(0, (first - origin).days // days) * days)
            while True:
                yield period
                period += timedelta(days=days)
    except OverflowError:  # past the year 9999
        return


def _period_dates(rule: Rule, period: date, start: date) -> list[date]:
    if rule.freq in _ONE_PERIOD:
        return _dateutil_period(rule, period, start)
    length = 7 if rule.freq == "WEEKLY" else 1
    weekdays = {day for _, day in rule.byday}
    if rule.freq == "WEEKLY" and not weekdays:
        weekdays = {start.weekday()}
    candidates = []
    for offset in range(length):
        try:
            day = period + timedelta(days=offset)
        except OverflowError:
            break
        if rule.bymonth and day.month not in rule.bymonth:
            continue
        if rule.bymonthday and not _monthday_matches(day, rule.bymonthday):
            continue
        if weekdays and day.weekday() not in weekdays:
            continue
        candidates.append(day)
    return _setpos(candidates, rule.bysetpos)


def _monthday_matches(day: date, monthdays: tuple[int, ...]) -> bool:
    length = calendar.monthrange(day.year, day.month)[1]
    return day.day in monthdays or day.day - length - 1 in monthdays


def _setpos(candidates: list[date], positions: tuple[int, ...]) -> list[date]:
    if not positions:
        return candidates
    chosen = set()
    for position in positions:
        index = position - 1 if position > 0 else len(candidates) + position
        if 0 <= index < len(candidates):
            chosen.add(candidates[index])
    return sorted(chosen)


def _dateutil_period(rule: Rule, period: date, start: date) -> list[date]:
    """One year or month of the rule, expanded by dateutil, which stops after it."""
    bymonth, bymonthday, byweekday = rule.bymonth, rule.bymonthday, rule.byday
    # dateutil would take these defaults from its dtstart, which here is the period's
    # first day; take them from the event's DTSTART instead, as RFC 5545 says.
    if not (rule.byweekno or rule.byyearday or bymonthday or byweekday):
        bymonthday = (start.day,)
        if rule.freq == "YEARLY" and not bymonth:
            bymonth = (start.month,)
    weekdays = [du.weekday(day, ordinal) for ordinal, day in byweekday]
    expanded = du.rrule(
        du.YEARLY if rule.freq == "YEARLY" else du.MONTHLY,
        dtstart=datetime(period.year, period.month, 1),
        interval=_ONE_PERIOD[rule.freq],
        wkst=rule.wkst,
        bymonth=bymonth or None,
        bymonthday=bymonthday or None,
        byyearday=rule.byyearday or None,
        byweekno=rule.byweekno or None,
        byweekday=weekdays or None,
        bysetpos=rule.bysetpos or None,
        cache=False,
    )
    return [moment.date() for moment in expanded]
