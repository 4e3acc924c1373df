"""The lead checks: abandons that came before the agreed number of touches."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from core.timeparse import local_text, month_text
from leads.models import Lead, Touch
from sla.flags import flag_team, flags_insert
from sla.models import Flag

logger = logging.getLogger(__name__)

BATCH = 10_000
FIELDS = (
    "id",
    "abandoned_at",
    "abandon_reason",
    "abandoned_by__username",
    "owner_id",
    "team_id",
    "touch_count",
    "terms__attempts_required",
    "terms__agreement_id",
    "terms__agreement__sales_team_id",
    "terms__agreement__calendar__timezone",
)


def _candidates(at: datetime):
    touches = (
        Touch.objects.filter(lead=OuterRef("pk"))
        .order_by()
        .values("lead")
        .annotate(count=Count("id"))
        .values("count")
    )
    flagged = Flag.objects.filter(lead=OuterRef("pk"), kind=Flag.Kind.PREMATURE_ABANDON)
    return (
        Lead.objects.filter(abandoned_at__isnull=False, abandoned_at__lte=at, terms__isnull=False)
        .annotate(touch_count=Coalesce(Subquery(touches), Value(0)))
        .filter(touch_count__lt=F("terms__attempts_required"))
        .filter(~Exists(flagged))
        .order_by("abandoned_at", "id")
    )


def premature_abandon_flag(row: dict, *, at: datetime) -> Flag:
    timezone = row["terms__agreement__calendar__timezone"]
    who = row["abandoned_by__username"] or "someone"
    detail = (
        f"abandoned {local_text(row['abandoned_at'], timezone)} by {who} after "
        f"{row['touch_count']} of {row['terms__attempts_required']} required touches"
    )
    if row["abandon_reason"]:
        detail += f" (reason: {row['abandon_reason']})"
    return Flag(
        kind=Flag.Kind.PREMATURE_ABANDON,
        raised_at=row["abandoned_at"],
        noticed_at=at,
        lead_id=row["id"],
        agreement_id=row["terms__agreement_id"],
        month=month_text(row["abandoned_at"], timezone),
        owner_id=row["owner_id"],
        team_id=flag_team(row["team_id"], row["terms__agreement__sales_team_id"]),
        detail=detail,
    )


# Is there any? The question `_candidates` asks, as one statement PostgreSQL plans in a
# fraction of the time of the six-way join that then reads the rows (a pass with nothing
# to flag is the common case), walking the partial index `lead_abandoned` in its order.
PROBE = """
SELECT (
    SELECT l.id FROM leads_lead l JOIN sla_leadterms t ON t.lead_id = l.id
    WHERE l.abandoned_at IS NOT NULL AND l.abandoned_at <= %(at)s
      AND (SELECT count(*) FROM leads_touch h WHERE h.lead_id = l.id) < t.attempts_required
      AND NOT EXISTS (
          SELECT 1 FROM sla_flag f WHERE f.lead_id = l.id AND f.kind = 'premature_abandon'
      )
    ORDER BY l.abandoned_at LIMIT 1
) IS NOT NULL
"""


def _any_candidate(at: datetime) -> bool:
    if connection.vendor != "postgresql":
        return True  # the candidate query itself answers as fast here
    with connection.cursor() as cursor:
        cursor.execute(PROBE, {"at": at})
        return cursor.fetchone()[0]


def premature_abandon(*, at: datetime) -> list[Flag]:
    """Leads abandoned (by a manager's override) before the agreed attempts, not flagged yet.

    The lead rows are locked with SKIP LOCKED while their flags are written, and the
    unique constraint `flag_premature_abandon_once` stops any second copy.
    """
    created: list[Flag] = []
    if not _any_candidate(at):
        return created
    while True:
        with transaction.atomic():
            locked = _candidates(at).select_for_update(skip_locked=True, no_key=True, of=("self",))
            rows = list(locked.values(*FIELDS)[:BATCH])
            flags = []
            for row in rows:
                try:
                    flags.append(premature_abandon_flag(row, at=at))
                except Exception:
                    logger.exception("check skipped abandoned lead %s", row["id"])
            created += flags_insert(flags=flags, at=at)
        if len(rows) < BATCH or not flags:
            return created
