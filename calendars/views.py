"""Calendar pages: every calendar at a glance, one calendar's week, its deadline
calculator (an htmx partial that also works as a plain GET form without JavaScript), and
the import of holidays from a calendar file (upload, preview, confirm).

Times are shown on the calendar's wall clock with its zone named; the maths is the
business-time engine's, on `BusinessCalendar.as_work_calendar()`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from calendars.engine import (
    HORIZON_DAYS,
    WorkCalendar,
    add_business_minutes,
    is_working,
    next_opening,
)
from calendars.ics import IcsHoliday, IcsHolidays, IcsRefused
from calendars.models import BusinessCalendar
from calendars.months import business_days_elapsed, business_days_in_month
from calendars.services import (
    HolidayImport,
    calendar_holidays_import,
    calendar_today,
    clean_file_name,
    holidays_from_upload,
)
from calendars.spec import MINUTES_PER_DAY
from core.errors import RuleRefused
from core.htmx import login_required_htmx
from core.permissions import is_admin

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UPCOMING_HOLIDAYS = 12
ICS_PREVIEW_SALT = "calendars.ics-import-preview"
PREVIEW_AGE = 3600  # seconds a preview may be confirmed in
IGNORED_SHOWN = 100  # ignored events listed on the preview page; the API lists them all


@dataclass(frozen=True)
class Window:
    start: str
    end: str
    overnight: bool  # ends the next day, after midnight

    def __str__(self) -> str:
        return f"{self.start}–{self.end}" + (" (next day)" if self.overnight else "")


@dataclass(frozen=True)
class WeekDay:
    name: str
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class CalendarRow:
    calendar: BusinessCalendar
    problem: str  # why the stored calendar cannot be used, or ""
    summary: str = ""
    open_now: bool = False
    local_now: datetime | None = None


class DeadlineForm(forms.Form):
    start = forms.DateTimeField(
        label="Start (local time)",
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    minutes = forms.IntegerField(
        label="Business minutes",
        min_value=0,
        max_value=HORIZON_DAYS * MINUTES_PER_DAY,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


@login_required
def calendar_list(request):
    now = timezone.now()
    rows = [_row(calendar, now) for calendar in BusinessCalendar.objects.all()]
    return render(request, "calendars/calendar_list.html", {"rows": rows})


@login_required
def calendar_detail(request, pk: int):
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    return render(request, "calendars/calendar_detail.html", _detail(request, calendar))


def _detail(request, calendar: BusinessCalendar, **extra) -> dict:
    context = {"calendar": calendar, "can_edit": is_admin(request.user), **extra}
    try:
        work = calendar.as_work_calendar()
    except ValueError as exc:
        context["problem"] = str(exc)
        return context
    now = timezone.now()
    local_now = now.astimezone(work_zone(work))
    bound = "start" in request.GET or "minutes" in request.GET
    form, result = _deadline(work, request.GET if bound else None, local_now)
    context.update(_overview(work, now, local_now), form=form, result=result)
    return context


@login_required_htmx
def calendar_deadline(request, pk: int):
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    if not request.htmx:  # without JavaScript the whole page shows the answer
        query = request.GET.urlencode()
        return redirect(reverse("calendar-detail", args=[pk]) + (f"?{query}" if query else ""))
    context = {"calendar": calendar}
    try:
        work = calendar.as_work_calendar()
    except ValueError as exc:
        context["problem"] = str(exc)
        return render(request, "calendars/_calendar_deadline.html", context)
    local_now = timezone.now().astimezone(work_zone(work))
    context["form"], context["result"] = _deadline(work, request.GET, local_now)
    return render(request, "calendars/_calendar_deadline.html", context)


@login_required
@require_POST
def calendar_ics_import(request, pk: int):
    """Upload an .ics file: answer its preview. Confirm the preview: import it.

    The preview holds the parsed dates in a signed field of its confirm form, so the
    upload is never kept on the server and the confirmation imports exactly what was
    shown (against the calendar as it is then: a date added meanwhile counts as already
    there). Refusals re-render the calendar page with the message on the file field.
    """
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    if not is_admin(request.user):
        raise PermissionDenied("Only the admin role changes calendars.")
    if "confirm" in request.POST:
        return _ics_confirm(request, calendar)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise IcsRefused("Choose an iCalendar (.ics) file to import.")
        found = holidays_from_upload(upload, today=calendar_today(calendar, timezone.now()))
    except IcsRefused as exc:
        return _ics_refused(request, calendar, exc.message)
    except RuleRefused as exc:
        return _ics_refused(request, calendar, exc.message, status=409)
    file_name = clean_file_name(upload.name)
    result = calendar_holidays_import(
        calendar=calendar, found=found, file_name=file_name, by=request.user, preview=True
    )
    token = signing.dumps(
        {
            "calendar": calendar.pk,
            "user": request.user.pk,
            "file": file_name,
            "holidays": [[h.day.isoformat(), h.name] for h in found.holidays],
            "window": [found.repeats_from.isoformat(), found.repeats_to.isoformat()],
        },
        salt=ICS_PREVIEW_SALT,
        compress=True,
    )
    context = {"calendar": calendar, "result": result, "token": token}
    context["ignored_shown"] = result.ignored[:IGNORED_SHOWN]
    context["ignored_more"] = max(0, len(result.ignored) - IGNORED_SHOWN)
    return render(request, "calendars/calendar_ics_preview.html", context)


def _ics_confirm(request, calendar: BusinessCalendar):
    try:
        kept = signing.loads(request.POST["confirm"], salt=ICS_PREVIEW_SALT, max_age=PREVIEW_AGE)
    except signing.BadSignature:  # also an expired one
        return _ics_refused(
            request, calendar, "That preview has expired or was altered: upload the file again."
        )
    if kept.get("calendar") != calendar.pk or kept.get("user") != request.user.pk:
        return _ics_refused(request, calendar, "That preview was for another calendar or person.")
    found = IcsHolidays(
        holidays=tuple(IcsHoliday(date.fromisoformat(day), name) for day, name in kept["holidays"]),
        ignored=(),
        repeats_from=date.fromisoformat(kept["window"][0]),
        repeats_to=date.fromisoformat(kept["window"][1]),
    )
    try:
        result = calendar_holidays_import(
            calendar=calendar, found=found, file_name=kept["file"], by=request.user, preview=False
        )
    except RuleRefused as exc:
        return _ics_refused(request, calendar, exc.message, status=409)
    if result.added:
        messages.success(request, _imported(result))
    else:
        messages.info(
            request, f"Nothing imported from {result.file!r}: every date was already a holiday."
        )
    return redirect(reverse("calendar-detail", args=[calendar.pk]) + "#holidays-title")


def _imported(result: HolidayImport) -> str:
    count, already = len(result.added), len(result.already)
    text = f"Imported {count} holiday{pluralize(count)} from {result.file!r}"
    text += f" as version {result.version} of the calendar." if result.version else "."
    if already:
        text += (
            f" {already} {'was already a holiday' if already == 1 else 'were already holidays'}."
        )
    return text


def _ics_refused(request, calendar: BusinessCalendar, message: str, status: int = 400):
    """The calendar page again, the message on the file field (or, for a calendar that
    cannot be used at all, the page's own account of why)."""
    context = _detail(request, calendar, ics_error=message)
    return render(request, "calendars/calendar_detail.html", context, status=status)


def work_zone(work: WorkCalendar) -> ZoneInfo:
    return ZoneInfo(work.timezone)


def _row(calendar: BusinessCalendar, now: datetime) -> CalendarRow:
    try:
        work = calendar.as_work_calendar()
    except ValueError as exc:
        return CalendarRow(calendar=calendar, problem=str(exc))
    return CalendarRow(
        calendar=calendar,
        problem="",
        summary=week_summary(week(work)),
        open_now=is_working(work, now),
        local_now=now.astimezone(work_zone(work)),
    )


def _overview(work: WorkCalendar, now: datetime, local_now: datetime) -> dict:
    zone = work_zone(work)
    today = local_now.date()
    holidays = sorted(day for day in work.holidays if day >= today)
    open_now = is_working(work, now)
    try:
        opening = None if open_now else next_opening(work, now).astimezone(zone)
    except ValueError:  # closed for good (no windows, or ten years of holidays)
        opening = None
    return {
        "local_now": local_now,
        "week": week(work),
        "open_now": open_now,
        "open_until": open_until(work, local_now) if open_now else None,
        "next_opening": opening,
        "upcoming_holidays": holidays[:UPCOMING_HOLIDAYS],
        "more_holidays": max(0, len(holidays) - UPCOMING_HOLIDAYS),
        "past_holidays": len(work.holidays) - len(holidays),
        "days_in_month": business_days_in_month(work, today.year, today.month),
        "days_elapsed": business_days_elapsed(work, now),
    }


def _deadline(work: WorkCalendar, data, local_now: datetime) -> tuple[DeadlineForm, dict | None]:
    """The calculator's form, and its answer when the form was submitted and is valid."""
    if data is None:
        initial = {"start": local_now.strftime("%Y-%m-%dT%H:%M"), "minutes": 240}
        return DeadlineForm(initial=initial), None
    form = DeadlineForm(data)
    # The naive local time typed into the form is read on the calendar's wall clock.
    with timezone.override(work_zone(work)):
        valid = form.is_valid()
    if not valid:
        return form, None
    start, minutes = form.cleaned_data["start"], form.cleaned_data["minutes"]
    try:
        due_at = add_business_minutes(work, start, minutes)
    except (ValueError, OverflowError) as exc:
        form.add_error(None, f"No due time: {exc}.")
        return form, None
    zone = work_zone(work)
    return form, {
        "start": start.astimezone(zone),
        "minutes": minutes,
        "due_local": due_at.astimezone(zone),
        "due_utc": due_at.astimezone(UTC),
    }


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def week(work: WorkCalendar) -> list[WeekDay]:
    """Monday to Sunday, each with its windows in wall time."""
    return [
        WeekDay(
            name=name,
            windows=tuple(
                Window(_clock(start), _clock(end % MINUTES_PER_DAY or end), end > MINUTES_PER_DAY)
                for start, end in windows
            ),
        )
        for name, windows in zip(DAY_NAMES, work.windows, strict=True)
    ]


def week_summary(days: list[WeekDay]) -> str:
    """Runs of days with the same windows: "Mon–Fri 09:00–17:00 · Sat 10:00–14:00"."""
    parts = []
    index = 0
    while index < len(days):
        last = index
        while last + 1 < len(days) and days[last + 1].windows == days[index].windows:
            last += 1
        if days[index].windows:
            names = days[index].name if last == index else f"{days[index].name}–{days[last].name}"
            parts.append(f"{names} {', '.join(str(w) for w in days[index].windows)}")
        index = last + 1
    return " · ".join(parts) or "Closed all week"


def open_until(work: WorkCalendar, local_now: datetime) -> str | None:
    """When the open stretch closes on the wall clock: "17:00" today, else "Sat 02:00".

    Windows that follow on without a gap (24:00 then 00:00) are one stretch. None when
    the stretch runs on for a week or more, or the wall clock finds no window (a
    daylight-saving jump).
    """
    minute = local_now.hour * 60 + local_now.minute
    today = local_now.date().toordinal()
    # Windows from yesterday (overnight ones) to a week ahead, in minutes since today's
    # local midnight.
    windows = sorted(
        (start + offset * MINUTES_PER_DAY, end + offset * MINUTES_PER_DAY)
        for offset in range(-1, 8)
        if date.fromordinal(today + offset) not in work.holidays
        for start, end in work.windows[date.fromordinal(today + offset).weekday()]
    )
    until = None
    for start, end in windows:
        if until is None and start <= minute < end:
            until = end
        elif until is not None and start <= until:
            until = max(until, end)
        elif until is not None:
            break
    if until is None or until >= 7 * MINUTES_PER_DAY:
        return None
    # A close at midnight reads as 24:00 of the day it ends.
    day, clock = divmod(until - 1, MINUTES_PER_DAY)
    text = _clock(clock + 1)
    return text if day == 0 else f"{DAY_NAMES[date.fromordinal(today + day).weekday()]} {text}"
