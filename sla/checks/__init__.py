"""The scheduled checks: each takes the instant it runs "as of" and returns the flags it raised.

Every check is set-based and idempotent: running it again, or in two workers at once,
flags each miss exactly once (claims, SKIP LOCKED, and the unique constraints on Flag).
With nothing to flag each costs an indexed probe or O(agreements) (see sla/checks/months.py).
`run_all_checks` runs them all; Celery beat calls it every minute (sla/tasks.py), and
`manage.py run_sla_checks` calls it once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sla.checks.clocks import first_touch_at_risk, first_touch_breached, next_touch_breached
from sla.checks.leads import premature_abandon
from sla.checks.months import one_pass, quality_shortfall, quota_at_risk, quota_shortfall
from sla.models import Flag
from sla.proposals import proposals_apply_due

logger = logging.getLogger(__name__)

CHECKS = {
    Flag.Kind.FIRST_TOUCH_AT_RISK: first_touch_at_risk,
    Flag.Kind.FIRST_TOUCH_BREACHED: first_touch_breached,
    Flag.Kind.NEXT_TOUCH_BREACHED: next_touch_breached,
    Flag.Kind.PREMATURE_ABANDON: premature_abandon,
    Flag.Kind.QUOTA_AT_RISK: quota_at_risk,
    Flag.Kind.QUOTA_SHORTFALL: quota_shortfall,
    Flag.Kind.QUALITY_SHORTFALL: quality_shortfall,
}

__all__ = [
    "CHECKS",
    "ChecksFailed",
    "run_all_checks",
    *(check.__name__ for check in CHECKS.values()),
]


class ChecksFailed(Exception):
    """One or more checks raised; the others ran. `counts` holds what they flagged."""

    def __init__(self, failed: list[str], counts: dict[str, int]):
        super().__init__(f"checks failed: {', '.join(failed)}")
        self.failed = failed
        self.counts = counts


def run_all_checks(*, at: datetime) -> dict[str, int]:
    """Run every check as of `at`; return how many flags each raised.

    A check that raises does not stop the others: all run, then ChecksFailed names it.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    counts: dict[str, int] = {}
    failed = []
    try:  # accepted proposals whose first day has come become the agreement's next version
        proposals_apply_due(at=at)
    except Exception:
        logger.exception("applying proposals failed as of %s", at.isoformat())
        failed.append("proposals")
    with one_pass():
        for kind, check in CHECKS.items():
            try:
                counts[str(kind)] = len(check(at=at))
            except Exception:
                logger.exception("check %s failed as of %s", kind, at.isoformat())
                failed.append(str(kind))
    if failed:
        raise ChecksFailed(failed, counts)
    return counts
