"""The 12-month trend of both sides, all agreements together, as the dashboard shows it.

The figures are `sla.compliance.compliance_trend_together` (a constant number of
queries however many agreements and months); this only picks the trend's columns.
"""

from __future__ import annotations

from datetime import datetime

from core.timeparse import month_add, month_name
from sla.compliance import compliance_trend_together


def trend(*, agreements, year: int, month: int, at: datetime, months: int = 12) -> list[dict]:
    """Both sides, all agreements together, for the `months` months ending with the given
    one: committed (agreements in effect that month), qualified, attainment, acceptance and
    first-touch compliance."""
    names = [month_name(*month_add(year, month, offset)) for offset in range(1 - months, 1)]
    entries = compliance_trend_together(agreements=list(agreements), months=names, at=at)
    return [
        {
            "month": entry["month"],
            "committed": entry["marketing"]["committed"],
            "qualified": entry["marketing"]["delivered_qualified"],
            "attainment_percent": entry["marketing"]["attainment_percent"],
            "acceptance_percent": entry["marketing"]["acceptance_percent"],
            "compliance_percent": entry["sales"]["compliance_percent"],
        }
        for entry in entries
    ]
