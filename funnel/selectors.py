"""Reads on the funnel: how many leads are in each stage, and how many move on.

funnel imports neither leads nor sla: callers pass the querysets to count, already
scoped to what the reader may see.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from funnel.models import Stage


@dataclass(frozen=True)
class StageCount:
    stage: Stage
    count: int


@dataclass(frozen=True)
class Conversion:
    entered: int
    reached: int

    @property
    def percent(self) -> float | None:
        """Share of those that entered which reached, one decimal; None when none entered."""
        if not self.entered:
            return None
        return round(100 * self.reached / self.entered, 1)


def stage_list(*, include_inactive: bool = True) -> QuerySet[Stage]:
    stages = Stage.objects.all()
    return stages if include_inactive else stages.filter(is_active=True)


def stage_counts(leads_qs: QuerySet) -> list[StageCount]:
    """Leads of `leads_qs` in each stage, in funnel order.

    Every active stage is listed (zero included); an inactive stage only while leads
    are still in it.
    """
    rows = leads_qs.order_by().values("stage_id").annotate(n=Count("pk"))
    counts = {row["stage_id"]: row["n"] for row in rows}
    return [
        StageCount(stage=stage, count=counts.get(stage.pk, 0))
        for stage in Stage.objects.all()
        if stage.is_active or counts.get(stage.pk)
    ]


def conversion(history_qs: QuerySet, from_slug: str, to_slug: str) -> Conversion:
    """Of the leads whose history (StageChange rows) enters `from_slug`, how many later
    enter `to_slug`. "Later" is by `at`, then by row id for moves at the same instant.
    """
    history_qs = history_qs.order_by()  # ordering columns would join the DISTINCT
    entered = history_qs.filter(to_stage__slug=from_slug).values("lead_id").distinct().count()
    earlier_entry = history_qs.filter(
        Q(at__lt=OuterRef("at")) | Q(at=OuterRef("at"), pk__lt=OuterRef("pk")),
        lead_id=OuterRef("lead_id"),
        to_stage__slug=from_slug,
    )
    reached = (
        history_qs.filter(to_stage__slug=to_slug)
        .filter(Exists(earlier_entry))
        .values("lead_id")
        .distinct()
        .count()
    )
    return Conversion(entered=entered, reached=reached)
