"""Admin for business calendars; every save is kept in the calendar's history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from calendars.models import BusinessCalendar


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ["name", "timezone", "updated_at"]
    search_fields = ["name", "timezone"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "timezone"]}),
        (
            "Working time",
            {
                "fields": ["working_hours", "holidays"],
                "description": (
                    'Hours as {"mon": [["09:00", "17:00"]], ...} in the zone\'s wall time; '
                    "days left out are closed, 24:00 may end a window, and an end before "
                    'the start runs past midnight. Holidays as ["2026-12-25", ...].'
                ),
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
