"""A business calendar: working hours in an IANA zone's wall time, and holidays."""

import functools
import json

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from calendars.engine import CalendarSpecError, WorkCalendar


def _default_working_hours():
    return {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class BusinessCalendar(models.Model):
    """Working hours in local wall time of an IANA zone, and holidays as local dates.

    Clocks store the due times computed from the calendar when they start, so editing a
    calendar moves no deadline already running; new clocks use the new hours.
    """

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    working_hours = models.JSONField(default=_default_working_hours)
    holidays = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The table kept its name when the model moved here from the sla app.
    history = HistoricalRecords(table_name="sla_historicalbusinesscalendar")

    class Meta:
        db_table = "sla_businesscalendar"
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.timezone})"

    def clean(self):

        try:
            spec = WorkCalendar.from_spec(self.timezone, self.working_hours, self.holidays or [])
        except CalendarSpecError as exc:
            raise ValidationError({exc.field: exc.message}) from exc
        if not any(spec.windows):
            raise ValidationError(
                {"working_hours": "Give at least one working window, or no clock can ever run."}
            )
        # Store the normalised form (sorted windows, sorted unique holidays).
        normal = spec.to_spec()
        self.working_hours = normal["working_hours"]
        self.holidays = normal["holidays"]

    def as_work_calendar(self):
        """The engine's immutable calendar; shared between calls so its day cache is reused."""
        key = (
            self.timezone,
            json.dumps(self.working_hours, sort_keys=True),
            tuple(self.holidays or ()),
        )
        return _work_calendar(key)


@functools.lru_cache(maxsize=256)
def _work_calendar(key):
    timezone, hours, holidays = key
    return WorkCalendar.from_spec(timezone, json.loads(hours), holidays)
