"""The agreements a dashboard shows and each one's window of the same named month, and
the querysets every figure family starts from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Case, DateField, Q, When

from core.timeparse import month_name
from sla.compliance import MonthWindow, month_window
from sla.models import Agreement, Clock


@dataclass(frozen=True)
class Scope:
    """The agreements shown and each one's window of the same named month."""

    agreements: tuple[Agreement, ...]
    windows: dict[int, MonthWindow]
    month: str

    def in_month(self, lead_path: str = "") -> Q:
        """Leads (or rows reaching a lead by `lead_path`) received in their agreement's month."""
        where = Q(pk__in=[])
        for agreement in self.agreements:
            window = self.windows[agreement.id]
            where |= Q(
                **{
                    f"{lead_path}terms__agreement_id": agreement.id,
                    f"{lead_path}received_at__gte": window.start,
                    f"{lead_path}received_at__lt": window.end,
                }
            )
        return where

    def bounds(self, agreement: Agreement | None = None) -> tuple[datetime, datetime] | None:
        """The month's instants: one agreement's, or the span of all (zones may differ)."""
        windows = [self.windows[agreement.id]] if agreement else list(self.windows.values())
        if not windows:
            return None
        return min(w.start for w in windows), max(w.end for w in windows)


def month_scope(*, agreements, year: int, month: int, at: datetime) -> Scope:
    agreements = tuple(agreements)
    windows = {
        a.id: month_window(a.calendar.as_work_calendar(), year, month, at) for a in agreements
    }
    return Scope(agreements, windows, month_name(year, month))


def local_trunc(trunc, field: str, agreements, agreement_path: str):
    """`field` truncated to a local date or month in each agreement's calendar zone."""
    zones: dict[str, list[int]] = {}
    for agreement in agreements:
        zones.setdefault(agreement.calendar.timezone, []).append(agreement.id)
    return Case(
        *(
            When(**{f"{agreement_path}__in": ids}, then=trunc(field, tzinfo=ZoneInfo(zone)))
            for zone, ids in zones.items()
        ),
        output_field=DateField(),
    )


def first_touch_clocks(scope: Scope):
    return Clock.objects.filter(
        scope.in_month("lead__"), kind=Clock.Kind.FIRST_TOUCH, lead__qualifies=True
    )


def touched_clocks(scope: Scope, at: datetime):
    return first_touch_clocks(scope).filter(
        stop_reason__in=Clock.TOUCH_STOPS, stopped_at__lte=at, touch_minutes__isnull=False
    )
