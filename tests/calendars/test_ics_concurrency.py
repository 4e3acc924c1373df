"""Two imports into one calendar at once both land: the second waits for the first's
lock and merges into what it saved, rather than overwriting it (PostgreSQL: SQLite's
select_for_update does nothing)."""

import threading
from datetime import date

import pytest
from django.db import connection, transaction

from calendars.ics import IcsHoliday, IcsHolidays
from calendars.models import BusinessCalendar
from calendars.services import calendar_holidays_import
from tests.factories import CalendarFactory


def found(*days: str) -> IcsHolidays:
    return IcsHolidays(
        holidays=tuple(IcsHoliday(date.fromisoformat(day), "Holiday") for day in days),
        ignored=(),
        repeats_from=date(2026, 1, 1),
        repeats_to=date(2028, 12, 31),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_both_land_and_make_two_versions():
    calendar = CalendarFactory(name="New York", holidays=["2026-11-26"])
    versions = calendar.history.count()
    first_holds_lock = threading.Event()
    outcomes = {}

    def first():
        try:
            with transaction.atomic():
                outcomes["first"] = calendar_holidays_import(
                    calendar=calendar,
                    found=found("2026-12-24"),
                    file_name="a.ics",
                    by=None,
                    preview=False,
                ).version
                first_holds_lock.set()
                threading.Event().wait(0.5)  # keep the row locked while the second one asks
        finally:
            first_holds_lock.set()
            connection.close()

    def second():
        first_holds_lock.wait(5)
        try:
            outcomes["second"] = calendar_holidays_import(
                calendar=calendar,
                found=found("2026-12-25"),
                file_name="b.ics",
                by=None,
                preview=False,
            ).version
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert outcomes == {"first": versions + 1, "second": versions + 2}
    stored = BusinessCalendar.objects.get(pk=calendar.pk).holidays
    assert stored == ["2026-11-26", "2026-12-24", "2026-12-25"]
