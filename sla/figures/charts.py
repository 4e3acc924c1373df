"""The chart series: quota pacing, time to first touch, breaches, the funnel."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from calendars.engine import business_minutes_between
from core.timeparse import month_add
from funnel.models import Stage, StageChange
from leads.models import Lead
from sla.compliance import (
    MonthWindow,
    percent,
)
from sla.figures.scope import (
    Scope,
    local_trunc,
    touched_clocks,
)
from sla.models import Flag

# Upper edges (business minutes, exclusive) of the time-to-first-touch histogram's bars.
TOUCH_BUCKETS = (15, 30, 60, 120, 240, 480, 960)


def _month_days(window: MonthWindow) -> list[date]:
    first = date(window.year, window.month, 1)
    following = date(*month_add(window.year, window.month, 1), 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def pacing(scope: Scope, at: datetime, cards: dict) -> list[dict]:
    """Per agreement: cumulative qualified leads at the end of each business day, the
    commitment, the expected pace and, in an open month, the projection to month end.
    A lead received on a non-working day counts on the next business day."""
    day = local_trunc(TruncDate, "received_at", scope.agreements, "terms__agreement_id")
    rows = (
        Lead.objects.filter(scope.in_month(), qualifies=True)
        .annotate(day=day)
        .values("terms__agreement_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_day: dict = {}
    for row in rows:
        per_day[(row["terms__agreement_id"], row["day"])] = row["n"]
    series = []
    for agreement in scope.agreements:
        window = scope.windows[agreement.id]
        calendar = agreement.calendar.as_work_calendar()
        today = at.astimezone(ZoneInfo(agreement.calendar.timezone)).date()
        committed = cards[agreement.id]["committed"]
        days = _month_days(window)
        points, running = [], 0
        for d in days:
            running += per_day.get((agreement.id, d), 0)
            if calendar._business_day(d.toordinal()):
                points.append({"day": d, "qualified": running if d <= today else None})
        if points and days[-1] <= today:  # leads after the last business day join it
            points[-1]["qualified"] = running
        for index, point in enumerate(points, start=1):
            point["expected"] = round(committed * index / len(points), 1)
        projection = None
        if not window.closed and window.elapsed >= 1 and at >= window.start:
            qualified = cards[agreement.id]["delivered_qualified"]
            projection = round(qualified / window.elapsed * window.days)
        series.append(
            {
                "agreement": agreement,
                "committed": committed,
                "points": points,
                "projection": projection,
            }
        )
    return series


def touch_distribution(scope: Scope, at: datetime) -> list[dict]:
    """Leads first touched in each band of business minutes, all agreements together."""
    edges = (0, *TOUCH_BUCKETS)
    bands = {
        f"b{low}": Count("id", filter=Q(touch_minutes__gte=low, touch_minutes__lt=high))
        for low, high in zip(edges, TOUCH_BUCKETS, strict=False)
    }
    bands[f"b{TOUCH_BUCKETS[-1]}"] = Count("id", filter=Q(touch_minutes__gte=TOUCH_BUCKETS[-1]))
    counts = touched_clocks(scope, at).aggregate(**bands)
    labels = [f"{low}–{high}" for low, high in zip(edges, TOUCH_BUCKETS, strict=False)]
    labels.append(f"{TOUCH_BUCKETS[-1]}+")
    return [
        {"band": label, "leads": counts[key] or 0} for label, key in zip(labels, bands, strict=True)
    ]


BREACH_COLUMNS = (
    Flag.Kind.FIRST_TOUCH_BREACHED,
    Flag.Kind.NEXT_TOUCH_BREACHED,
    Flag.Kind.PREMATURE_ABANDON,
)
BREACH_LABELS = ("First touch", "Next touch", "Abandoned early")


def breaches(scope: Scope) -> list[dict]:
    """Breach flags of the month per (agreement, owner, team, kind): one grouped query."""
    return list(
        Flag.objects.filter(
            agreement__in=[a.id for a in scope.agreements],
            month=scope.month,
            kind__in=BREACH_COLUMNS,
        )
        .values("agreement_id", "owner__username", "team_id", "team__name", "kind")
        .annotate(n=Count("id"))
        .order_by("agreement_id", "owner__username", "team__name", "kind")
    )


def funnel(scope: Scope, at: datetime) -> list[dict]:
    """The month's leads through the open and won stages: now in each stage, reached
    it (entered it or a later one), conversion to the next, median business minutes
    spent in it (to the next change, the close, or `at`)."""
    stages = [s for s in Stage.objects.exclude(kind=Stage.Kind.LOST) if s.is_active]
    now_in = dict(
        Lead.objects.filter(scope.in_month())
        .values("stage_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("stage_id", "n")
    )
    changes = StageChange.objects.filter(scope.in_month("lead__"))
    later = ~Q(to_stage__kind=Stage.Kind.LOST)
    counts = {}
    for s in stages:
        counts[f"r{s.id}"] = Count(
            "lead_id", distinct=True, filter=Q(to_stage__position__gte=s.position) & later
        )
        counts[f"e{s.id}"] = Count("lead_id", distinct=True, filter=Q(to_stage=s))
    reached = changes.aggregate(**counts) if stages else {}
    # The funnel starts where leads enter it (no stage before the first one entered).
    while stages and not reached[f"e{stages[0].id}"] and not now_in.get(stages[0].id):
        stages.pop(0)
    spent = _minutes_in_stage(scope, changes, at)
    rows = []
    for index, stage in enumerate(stages):
        count = reached.get(f"r{stage.id}") or 0
        following = stages[index + 1] if index + 1 < len(stages) else None
        next_count = (reached.get(f"r{following.id}") or 0) if following else None
        values = spent.get(stage.id, [])
        rows.append(
            {
                "stage": stage,
                "now": now_in.get(stage.id, 0),
                "reached": count,
                "conversion_percent": percent(next_count, count) if following else None,
                "median_minutes": math.floor(median(values) + 0.5) if values else None,
            }
        )
    return rows


def _minutes_in_stage(scope: Scope, changes, at: datetime) -> dict[int, list[float]]:
    """Business minutes of each stay, from one query of the stage history. There is no
    stored column for it, so the stays are measured here, by each agreement's calendar."""
    calendars = {a.id: a.calendar.as_work_calendar() for a in scope.agreements}
    rows = changes.values_list(
        "lead_id", "to_stage_id", "at", "lead__closed_at", "lead__terms__agreement_id"
    ).order_by("lead_id", "at", "id")
    spent: dict[int, list[float]] = {}
    previous = None
    for row in (*rows, None):
        if previous is not None:
            lead_id, stage_id, start, closed_at, agreement_id = previous
            if row is not None and row[0] == lead_id:
                until = row[2]
            else:
                until = closed_at if closed_at and closed_at >= start else at
            if until >= start:
                minutes = business_minutes_between(calendars[agreement_id], start, until)
                spent.setdefault(stage_id, []).append(minutes)
        previous = row
    return spent
