"""Business calendars, agreements, clocks, flags and the worker heartbeat."""

from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords


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
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.timezone})"

    def clean(self):
        from sla.business_time import CalendarSpecError, WorkCalendar

        try:
            spec = WorkCalendar.from_spec(self.timezone, self.working_hours, self.holidays or [])
        except CalendarSpecError as exc:
            raise ValidationError({exc.field: str(exc)}) from exc
        # Store the normalised form (sorted windows, sorted unique holidays).
        normal = spec.to_spec()
        self.working_hours = normal["working_hours"]
        self.holidays = normal["holidays"]

    def as_work_calendar(self):
        from sla.business_time import WorkCalendar

        return WorkCalendar.from_spec(self.timezone, self.working_hours, self.holidays or [])


class WorkerHeartbeat(models.Model):
    """The last time a worker ran the heartbeat task; /healthz reads it."""

    name = models.CharField(max_length=50, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
