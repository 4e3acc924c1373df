"""`/api/calendars/`: business calendars, and the due time one of them gives.

The calendar rules (zone, windows, holidays) live in BusinessCalendar.clean(); the
serializer only runs it and names the field at fault. `holiday_country` is a write-only
convenience that merges a country's public holidays (the `holidays` library) into
`holidays` before that check.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import holidays as holiday_data
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from calendars.engine import add_business_minutes, business_minutes_between
from calendars.ics import IcsRefused
from calendars.models import BusinessCalendar
from calendars.services import (
    calendar_holidays_import,
    calendar_today,
    clean_file_name,
    holidays_from_upload,
)
from core.errors import RuleRefused
from core.permissions import AdminWritesOthersRead
from core.timeparse import parse_instant

SPEC_FIELDS = ("timezone", "working_hours", "holidays")
# Ten years of round-the-clock minutes: the engine looks no further ahead than that.
MAX_DEADLINE_MINUTES = 3653 * 1440
# A query string's unencoded "+" arrives as a space: "...T16:30:00 05:00".


class CalendarSerializer(serializers.ModelSerializer):
    holiday_country = serializers.CharField(
        write_only=True,
        required=False,
        max_length=3,
        help_text="ISO 3166 country code: merge its public holidays into `holidays`.",
    )
    holiday_subdivision = serializers.CharField(
        write_only=True,
        required=False,
        max_length=50,
        help_text="State or region of `holiday_country`, such as NY.",
    )
    holiday_years = serializers.ListField(
        child=serializers.IntegerField(min_value=1970, max_value=2200),
        write_only=True,
        required=False,
        allow_empty=False,
        max_length=10,
        help_text="Years of public holidays to merge; default the current and next year.",
    )

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "timezone",
            "working_hours",
            "holidays",
            "created_at",
            "updated_at",
            "holiday_country",
            "holiday_subdivision",
            "holiday_years",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "timezone": {"help_text": "IANA zone name, such as America/New_York."},
            "working_hours": {
                "help_text": 'Local wall-time windows by day: {"mon": [["09:00", "17:00"]], ...};'
                ' days left out are closed; "24:00" may end a window; an end before the start'
                " runs past midnight."
            },
            "holidays": {"help_text": 'Whole local days off: ["2026-12-25", ...].'},
        }

    def validate(self, attrs):
        country = attrs.pop("holiday_country", None)
        subdivision = attrs.pop("holiday_subdivision", None)
        years = attrs.pop("holiday_years", None)
        if country is None and (subdivision or years):
            raise serializers.ValidationError(
                {"holiday_country": ["Name the country whose holidays to add."]}
            )
        # Check a copy, so a refused PATCH leaves the stored calendar untouched.
        candidate = BusinessCalendar()  # the model's defaults for what a POST leaves out
        for name in SPEC_FIELDS:
            if name in attrs:
                setattr(candidate, name, attrs[name])
            elif self.instance is not None:
                setattr(candidate, name, getattr(self.instance, name))
        _clean(candidate)
        if country is not None:
            years = years or _current_and_next_year(candidate.timezone)
            extra = public_holidays(country=country, subdivision=subdivision, years=years)
            candidate.holidays = [*candidate.holidays, *extra]
            _clean(candidate)
        attrs.update({name: getattr(candidate, name) for name in SPEC_FIELDS})
        return attrs


def _clean(calendar: BusinessCalendar) -> None:
    try:
        calendar.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from exc


def _current_and_next_year(zone: str) -> list[int]:
    year = timezone.now().astimezone(ZoneInfo(zone)).year
    return [year, year + 1]


def public_holidays(*, country: str, subdivision: str | None, years: list[int]) -> list[str]:
    """The public holidays of a country (and subdivision) in those years, as ISO dates."""
    code = country.strip().upper()
    supported = holiday_data.list_supported_countries()
    if code not in supported:
        raise serializers.ValidationError(
            {"holiday_country": [f"No public holidays are known for country {country!r}."]}
        )
    if subdivision is not None:
        # The library's subdivisions are codes ("NY") or names ("Zone A"): match any case.
        matches = [name for name in supported[code] if name.casefold() == subdivision.casefold()]
        if not matches:
            raise serializers.ValidationError(
                {"holiday_subdivision": [f"{code} has no subdivision {subdivision!r}."]}
            )
        subdivision = matches[0]
    found = holiday_data.country_holidays(code, subdiv=subdivision, years=years)
    return [day.isoformat() for day in sorted(found)]


class DeadlineQuerySerializer(serializers.Serializer):
    start = serializers.CharField(help_text="ISO-8601 instant with a UTC offset.")
    minutes = serializers.IntegerField(min_value=0, max_value=MAX_DEADLINE_MINUTES)

    def validate_start(self, value: str) -> datetime:
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


DeadlineResponse = inline_serializer(
    "CalendarDeadline",
    {
        "start": serializers.DateTimeField(),
        "minutes": serializers.IntegerField(),
        "due_at": serializers.DateTimeField(),
        "business_minutes_check": serializers.FloatField(),
    },
)


class HolidayImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="An iCalendar (.ics) file, UTF-8, at most CALENDAR_ICS_MAX_BYTES (1 MB by"
        " default): its all-day events become"
        " holidays; repeating ones are read from 1 January this year to 31 December two"
        " years on."
    )


class HolidayImportQuerySerializer(serializers.Serializer):
    preview = serializers.BooleanField(required=False, default=False)


class HolidayDateSerializer(serializers.Serializer):
    date = serializers.DateField(source="day")
    name = serializers.CharField(help_text="The events giving this date, ' / ' between them.")


class IgnoredEventSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The event's SUMMARY, or '(untitled)'.")
    start = serializers.CharField(help_text="Its DTSTART in ISO form, or '' without one.")
    reason = serializers.CharField(help_text="Why it gives no holiday.")


class HolidayImportResultSerializer(serializers.Serializer):
    preview = serializers.BooleanField(help_text="True: nothing was written.")
    file = serializers.CharField(help_text="The uploaded file's name.")
    added = HolidayDateSerializer(
        many=True, help_text="Dates new to the calendar (previewed: that would be added)."
    )
    already = HolidayDateSerializer(many=True, help_text="Dates already holidays.")
    ignored = IgnoredEventSerializer(many=True, help_text="Events that give no holiday.")
    holidays = serializers.ListField(
        child=serializers.DateField(),
        help_text="Every holiday of the calendar after the import (previewed: as it would be).",
    )
    repeats_from = serializers.DateField(help_text="Repeating events are read from this date…")
    repeats_to = serializers.DateField(help_text="…to this one.")
    version = serializers.IntegerField(
        allow_null=True,
        help_text="The calendar's version after the import (its count of history records,"
        " the first being its creation); null when nothing was written.",
    )


class CalendarViewSet(viewsets.ModelViewSet):
    """Business calendars: everyone signed in reads them; the admin role changes them."""

    queryset = BusinessCalendar.objects.all()
    serializer_class = CalendarSerializer
    permission_classes = [AdminWritesOthersRead]

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise RuleRefused(_in_use_detail(instance, exc.protected_objects)) from exc

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="ISO-8601 with offset"),
            OpenApiParameter("minutes", int, required=True, description="business minutes"),
        ],
        responses={200: DeadlineResponse},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def deadline(self, request, pk=None):
        """When `minutes` business minutes after `start` run out on this calendar."""
        calendar = self.get_object()
        query = DeadlineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, minutes = query.validated_data["start"], query.validated_data["minutes"]
        work = calendar.as_work_calendar()
        try:
            due_at = add_business_minutes(work, start, minutes)
        except ValueError as exc:  # the calendar never opens within the engine's horizon
            raise serializers.ValidationError({"minutes": [str(exc)]}) from exc
        field = serializers.DateTimeField(default_timezone=UTC)  # the contract answers in UTC
        return Response(
            {
                "start": field.to_representation(start),
                "minutes": minutes,
                "due_at": field.to_representation(due_at),
                "business_minutes_check": business_minutes_between(work, start, due_at),
            }
        )

    @extend_schema(
        operation_id="calendars_holidays_import",
        request={"multipart/form-data": HolidayImportInputSerializer},
        parameters=[
            OpenApiParameter(
                "preview", bool, description="Answer what would be added; write nothing."
            )
        ],
        responses={
            200: HolidayImportResultSerializer,
            400: OpenApiResponse(
                description='`{"file": [message]}`: no file, not an iCalendar file, larger'
                " than the cap (1 MB by default), or more dates than one import adds"
                ' (1,000 by default). `{"preview": [message]}`: not a boolean. Nothing is'
                " written."
            ),
            403: OpenApiResponse(description="Only the admin role changes calendars."),
            404: OpenApiResponse(description="No such calendar."),
            409: OpenApiResponse(description="The stored calendar itself cannot be used."),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="holidays/import",
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,
    )
    def holidays_import(self, request, pk=None):
        """Add the all-day events of an iCalendar (.ics) file to this calendar's holidays.

        A new version of the calendar, in its history; running clocks keep their due
        times. `?preview=1` answers the same without writing.
        """
        calendar = self.get_object()
        query = HolidayImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        form = HolidayImportInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        today = calendar_today(calendar, timezone.now())
        try:
            found = holidays_from_upload(upload, today=today)
        except IcsRefused as exc:
            raise serializers.ValidationError({"file": [exc.message]}) from exc
        result = calendar_holidays_import(
            calendar=calendar,
            found=found,
            file_name=clean_file_name(upload.name),
            by=request.user,
            preview=query.validated_data["preview"],
        )
        return Response(HolidayImportResultSerializer(result).data)


def _in_use_detail(calendar: BusinessCalendar, users) -> str:
    by_kind: dict[str, list[str]] = {}
    for obj in sorted(users, key=str):
        by_kind.setdefault(obj._meta.verbose_name, []).append(str(obj))
    uses = "; ".join(
        f"{kind}{'s' if len(names) > 1 else ''} {', '.join(names)}"
        for kind, names in sorted(by_kind.items())
    )
    return (
        f"Calendar {calendar.name!r} is in use by {uses}: "
        "point them at another calendar before deleting it."
    )
