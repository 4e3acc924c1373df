"""The dashboard as one read: scorecards, tables and chart data for a month."""

from __future__ import annotations

from datetime import datetime

from core.timeparse import month_add, month_name
from sla.figures.charts import breaches, funnel, pacing, touch_distribution
from sla.figures.scope import month_scope
from sla.figures.scorecards import sales_by_rep_and_tier, scorecards_of
from sla.figures.tables import (
    breach_tables,
    distribution_table,
    funnel_table,
    pacing_table,
    rep_table,
    scorecard_blocks,
    scorecard_table,
    tier_table,
    trend_table,
)
from sla.figures.trend import trend


def dashboard_figures(*, agreements: list, year: int, month: int, now: datetime) -> dict:
    """Everything the dashboard shows for the month and the one before, as of `now`, in
    a constant number of queries whatever the agreements or their leads."""
    number = month
    current = month_scope(agreements=agreements, year=year, month=number, at=now)
    before_year, before_month = month_add(year, number, -1)
    previous = month_scope(agreements=agreements, year=before_year, month=before_month, at=now)
    cards_now, cards_before = scorecards_of([current, previous], now)
    blocks = scorecard_blocks(current, previous, cards_now, cards_before) if agreements else []
    series = pacing(current, now, cards_now)
    bands = touch_distribution(current, now)
    breaches_rep, team_table = breach_tables(breaches(current), current)
    stages = funnel(current, now)
    months = trend(agreements=agreements, year=year, month=number, at=now)
    reps, tiers = sales_by_rep_and_tier(current, now)
    tables = {
        table["name"]: table
        for table in (
            scorecard_table(blocks, current, previous),
            pacing_table(series),
            distribution_table(bands),
            rep_table(reps, current),
            tier_table(tiers, current),
            breaches_rep,
            team_table,
            funnel_table(stages, current),
            trend_table(months),
        )
    }
    return {
        "agreements": agreements,
        "blocks": blocks,
        "month": current.month,
        "previous_month": previous.month,
        "next_month": month_name(*month_add(year, number, 1)),
        "as_of": now,
        "zone": agreements[0].calendar.timezone if agreements else None,
        "tables": tables,
        "chart_data": chart_data(series, bands, tables, stages, months),
    }


def chart_data(pacing, bands, tables, stages, months) -> dict:
    """What dashboard.js draws, as plain JSON (json_script puts it in the page)."""
    return {
        "pacing": [
            {
                "agreement": item["agreement"].name,
                "committed": item["committed"],
                "days": [p["day"].isoformat() for p in item["points"]],
                "qualified": [p["qualified"] for p in item["points"]],
                "expected": [p["expected"] for p in item["points"]],
                "projection": item["projection"],
            }
            for item in pacing
        ],
        "first_touch": {"bands": [b["band"] for b in bands], "leads": [b["leads"] for b in bands]},
        "breaches_by_rep": _stacks(tables["breaches_by_rep"]),
        "breaches_by_team": _stacks(tables["breaches_by_team"]),
        "funnel": [
            {
                "stage": row["stage"].name,
                "reached": row["reached"],
                "conversion": row["conversion_percent"],
                "median_minutes": row["median_minutes"],
            }
            for row in stages
        ],
        "trend": {
            "months": [row["month"] for row in months],
            "attainment": [row["attainment_percent"] for row in months],
            "acceptance": [row["acceptance_percent"] for row in months],
            "compliance": [row["compliance_percent"] for row in months],
        },
    }


def _stacks(table) -> dict:
    return {
        "labels": [row[0]["value"] for row in table["rows"]],
        "kinds": table["header"][1:],
        "counts": [
            [row[i]["value"] for row in table["rows"]] for i in range(1, len(table["header"]))
        ],
    }
