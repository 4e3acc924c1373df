"""The executive dashboard's reads: both sides' scorecards for many agreements at once,
by rep, the chart series (pacing, time to first touch, breaches, funnel), the trend, and
the tables of cells with the filtered list behind each number.

Set-based: each figure family costs a constant number of queries over every agreement
shown, however many agreements or leads there are. The scorecards, the by-rep table and
the trend are `sla.compliance`'s own figures (`compliance_trend_together`, its by-rep
rows); the charts count what it does not. A month is each agreement's own calendar
month, so a chart's query filters on the OR of (agreement, month bounds) pairs and
groups local dates by a CASE over the calendars' zones. tests/sla/test_dashboard.py
holds the figures equal to `compliance_for`.
"""

from sla.figures.charts import (
    BREACH_COLUMNS,
    BREACH_LABELS,
    breaches,
    funnel,
    pacing,
    touch_distribution,
)
from sla.figures.dashboard import dashboard_figures
from sla.figures.scope import Scope, month_scope
from sla.figures.scorecards import sales_by_rep, scorecards, scorecards_of
from sla.figures.trend import trend

__all__ = [
    "BREACH_COLUMNS",
    "BREACH_LABELS",
    "Scope",
    "breaches",
    "dashboard_figures",
    "funnel",
    "month_scope",
    "pacing",
    "sales_by_rep",
    "scorecards",
    "scorecards_of",
    "touch_distribution",
    "trend",
]
