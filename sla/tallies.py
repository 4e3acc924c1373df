"""The counts behind the compliance figures: every count of both sides, for any number
of (agreement, month) pairs, in a constant number of queries (sla/compliance.py turns
them into the figures).

On PostgreSQL it is one statement: one pass over the pairs' leads, each qualified lead's
first-touch clock looked up by index (`clock_first_touch_figures` covers it), the rules
compiled by the ORM from sla.models' `kept_q` / `late_q`, counts and percentiles grouped
per pair, per pair and owner, and per pair and tier with GROUPING SETS (and per month
name, for several agreements together). Elsewhere (the SQLite default) five queries and
the percentiles in Python. tests/sla/test_compliance_sql.py holds both equal to each
other and to a computation from scratch.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from calendars.months import MonthWindow, after_business_days
from core.aggregates import PercentileCont, PercentileDisc
from leads.models import Lead
from sla.models import (
    Agreement,
    Clock,
    Flag,
    MonthEvaluation,
    MonthlyCommitment,
    kept_q,
    late_q,
)

OPEN_BREACH_KINDS = (Flag.Kind.FIRST_TOUCH_BREACHED, Flag.Kind.NEXT_TOUCH_BREACHED)


# --- disputed rejections -------------------------------------------------------------------
# A rejection counts against marketing's quality once final: undisputed past the agreement's
# dispute window, or upheld; overturned it counts as accepted; inside its window or under
# an open dispute it counts in neither (`rejections_pending`).


def dispute_window_ends(agreement: Agreement, verdict_at: datetime) -> datetime:
    """When a rejection given at `verdict_at` may no longer be disputed: local midnight after
    the window's last business day (the verdict itself with a window of 0)."""
    days = agreement.dispute_window_business_days
    if not days:
        return verdict_at
    return after_business_days(agreement.calendar.as_work_calendar(), verdict_at, days)


def dispute_cutoff(agreement: Agreement, at: datetime) -> datetime:
    """Rejections given at or after this instant are still inside their dispute window as
    of `at` (the window's end only grows with the verdict's local date, so one instant,
    a local midnight, splits them); no query."""
    if not agreement.dispute_window_business_days:
        return at + timedelta(microseconds=1)
    zone = ZoneInfo(agreement.calendar.timezone)

    def midnight(ordinal: int) -> datetime:
        return datetime.combine(date.fromordinal(ordinal), time(0), tzinfo=zone)

    day = at.astimezone(zone).toordinal()
    for _ in range(400):  # a window of business days spans a few weeks at most
        if dispute_window_ends(agreement, midnight(day - 1)) <= at:
            break
        day -= 1
    return midnight(day)


def _in_window_q(cutoffs: dict | None, prefix: str = "") -> tuple[Q, Q]:
    """(inside its window, past it) for undisputed rejections, by each agreement's cutoff
    (an agreement without one: every rejection is past its window)."""
    inside = Q(pk__in=[])
    for agreement_id, cutoff in (cutoffs or {}).items():
        inside |= Q(
            **{f"{prefix}terms__agreement_id": agreement_id, f"{prefix}verdict_at__gte": cutoff}
        )
    return inside, ~inside


def disputes_recount(months: list, *, at: datetime) -> None:
    """Mark to be counted again the closed months whose last dispute window ended after
    their counts were kept (their pending rejections are final now). `months`: (agreement,
    YYYY-MM, when its books last closed). A closed month takes no verdict and no new
    dispute, so its last window is the one of a verdict given as its books closed; no
    lead is read."""
    recount = Q(pk__in=[])
    for agreement, month, closing in months:
        horizon = dispute_window_ends(agreement, closing)
        if horizon <= at:
            recount |= Q(agreement_id=agreement.id, month=month, counted_at__lt=horizon)
    MonthEvaluation.objects.filter(recount, stale=False).update(stale=True)


def month_disputes_settled(agreement: Agreement, window: MonthWindow, at: datetime) -> bool:
    """Whether the month's disputes have settled as of `at`: no dispute open and no
    undisputed rejection still inside its window, or else its last window over (an open
    dispute waits no longer). One query."""
    rows = list(
        Lead.objects.filter(
            terms__agreement_id=agreement.id,
            received_at__gte=window.start,
            received_at__lt=window.end,
            verdict=Lead.Verdict.REJECTED,
            verdict_at__isnull=False,
        ).values_list("verdict_at", "dispute__state")
    )
    ends = [dispute_window_ends(agreement, verdict_at) for verdict_at, _ in rows]
    waiting = any(
        state == "open" or (state is None and end > at)
        for (_, state), end in zip(rows, ends, strict=True)
    )
    return not waiting or max(ends) <= at


def _lead_counts(cutoffs: dict | None = None) -> dict:
    rejected = Q(verdict=Lead.Verdict.REJECTED)
    inside, past = _in_window_q(cutoffs)
    undisputed = Q(dispute__isnull=True)
    return {
        "delivered": Count("id"),
        "delivered_qualified": Count("id", filter=Q(qualifies=True)),
        "accepted": Count(
            "id",
            filter=Q(verdict=Lead.Verdict.ACCEPTED) | (rejected & Q(dispute__state="overturned")),
        ),
        "rejected": Count(
            "id", filter=rejected & (Q(dispute__state="upheld") | (undisputed & past))
        ),
        "rejections_pending": Count(
            "id", filter=rejected & (Q(dispute__state="open") | (undisputed & inside))
        ),
        "disputes_open": Count("id", filter=Q(dispute__state="open")),
        "duplicates": Count("id", filter=Q(duplicate_of__isnull=False)),
    }


@dataclass
class Tally:
    """The counts of a month, or of one owner's share of it."""

    delivered: int = 0
    delivered_qualified: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0  # duplicates by e-mail of an open lead (sla.duplicates)
    within: int = 0  # first-touch clocks kept, as of `at`
    breached: int = 0  # first-touch clocks late, as of `at`
    minutes: tuple = (None, None)  # (median, p90) whole business minutes to first touch
    rejections_pending: int = 0  # rejected, inside the dispute window or under dispute
    disputes_open: int = 0

    def counts(self) -> dict:
        return {
            "delivered": self.delivered,
            "delivered_qualified": self.delivered_qualified,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "rejections_pending": self.rejections_pending,
            "disputes_open": self.disputes_open,
        }


@dataclass
class MonthTally:
    """One month of one agreement: the total, each owner's share, the month's other rows."""

    total: Tally = field(default_factory=Tally)
    # By username (None: unassigned), for each owner of at least one qualified lead.
    owners: dict = field(default_factory=dict)
    # By the tier stamped on the lead's terms ("": the default terms), likewise.
    tiers: dict = field(default_factory=dict)
    logged_quota: int | None = None  # marketing's commitment, None when none was logged
    open_breaches: int = 0
    premature_abandons: int = 0


def month_tallies(
    *, agreement: Agreement, windows: list[MonthWindow], at: datetime, by_owner: bool = True
) -> list[MonthTally]:
    """The tallies of each window of one agreement (in order) as of `at`, in a constant
    number of queries. `by_owner=False` leaves `owners` and `tiers` empty (a trend needs
    totals)."""
    tallies, _ = pairs_tallies(
        pairs=[(agreement.id, window) for window in windows],
        at=at,
        by_owner=by_owner,
        cutoffs={agreement.id: dispute_cutoff(agreement, at)},
    )
    return tallies


def pairs_tallies(
    *,
    pairs: list[tuple[int, MonthWindow]],
    at: datetime,
    by_owner: bool = False,
    cutoffs: dict | None = None,
) -> tuple[list[MonthTally], dict[str, tuple]]:
    """The tallies of (agreement id, window) pairs, in order, and the (median, p90) of
    all the pairs of each month name together; a constant number of queries. `cutoffs`:
    each agreement's `dispute_cutoff` (left out: every undisputed rejection is final)."""
    distinct = list(dict.fromkeys(pairs))  # a lead counts in one window: ask each once
    if not distinct:
        return [], {}
    if connection.vendor == "postgresql":
        tallies, together = _tallies_in_sql(distinct, at, by_owner, cutoffs or {})
    else:
        tallies, together = _tallies_in_orm(distinct, at, by_owner, cutoffs or {})
    found = dict(zip(distinct, tallies, strict=True))
    return [found[pair] for pair in pairs], together


def _decided_late_q(at: datetime) -> Q:
    # Decided as of `at`: a clock stopped late after `at` was not yet known to be late.
    return late_q(at) & Q(due_at__lte=at)


def _touched_q(at: datetime) -> Q:
    """First touches made by `at`, with their stored business minutes."""
    return Q(stop_reason__in=Clock.TOUCH_STOPS, stopped_at__lte=at, touch_minutes__isnull=False)


def _decided(at: datetime) -> dict:
    return {
        "within": Count("id", filter=kept_q(at)),
        "breached": Count("id", filter=_decided_late_q(at)),
    }


_TALLY_SQL = """
WITH windows (idx, agreement_id, name) AS (VALUES {windows}),
month_leads AS MATERIALIZED (
    -- The windows as constants (not a join), so the planner knows how many leads match.
    SELECT CASE {buckets} END AS idx, l.id, l.owner_id, t.tier, l.qualifies, l.verdict,
           l.duplicate_of_id IS NOT NULL AS duplicate, d.state AS dispute,
           -- An undisputed rejection inside its dispute window (sla.tallies.dispute_cutoff).
           COALESCE(CASE {cutoffs} END, false) AS in_window
    FROM leads_lead l JOIN sla_leadterms t ON t.lead_id = l.id
    LEFT JOIN sla_dispute d ON d.lead_id = l.id
    WHERE {where}
), leads AS (
    SELECT idx, {owner}, {tier}, {total} AS total,
           count(*) AS delivered,
           count(*) FILTER (WHERE qualifies) AS delivered_qualified,
           count(*) FILTER (WHERE verdict = '{accepted}'
                            OR (verdict = '{rejected}' AND dispute = 'overturned')) AS accepted,
           count(*) FILTER (WHERE verdict = '{rejected}' AND (dispute = 'upheld'
                            OR (dispute IS NULL AND NOT in_window))) AS rejected,
           count(*) FILTER (WHERE duplicate) AS duplicates,
           count(*) FILTER (WHERE verdict = '{rejected}' AND (dispute = 'open'
                            OR (dispute IS NULL AND in_window))) AS rejections_pending,
           count(*) FILTER (WHERE dispute = 'open') AS disputes_open
    FROM month_leads {group}
), first_touch AS (
    -- One index lookup per qualified lead (OFFSET 0 keeps the planner from hashing every
    -- clock); the rules are sla.models' kept_q / late_q, compiled by the ORM.
    SELECT m.idx, m.owner_id, m.tier, c.within, c.breached, c.minutes
    FROM month_leads m CROSS JOIN LATERAL ({clock} OFFSET 0) c
    WHERE m.qualifies
), clocks AS (
    SELECT idx, {owner}, {tier}, {total} AS total,
           count(*) FILTER (WHERE within) AS within,
           count(*) FILTER (WHERE breached) AS breached,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) AS middle,
           percentile_disc(0.9) WITHIN GROUP (ORDER BY minutes) AS p90
    FROM first_touch {group}
), flags AS (
    SELECT w.idx,
           count(*) FILTER (WHERE f.kind IN %s AND f.state = 'open') AS open_breaches,
           count(*) FILTER (WHERE f.kind = %s) AS premature_abandons
    FROM windows w JOIN sla_flag f ON f.agreement_id = w.agreement_id AND f.month = w.name
    GROUP BY w.idx
){together_cte}
SELECT w.idx, l.total, u.username, l.tier, l.delivered, l.delivered_qualified, l.accepted,
       l.rejected, l.duplicates, c.within, c.breached, c.middle, c.p90,
       f.open_breaches, f.premature_abandons, q.quota, {together_columns},
       l.rejections_pending, l.disputes_open
FROM windows w
LEFT JOIN leads l ON l.idx = w.idx
LEFT JOIN clocks c
       ON c.idx = l.idx AND c.total = l.total AND c.owner_id IS NOT DISTINCT FROM l.owner_id
      AND c.tier IS NOT DISTINCT FROM l.tier
LEFT JOIN accounts_user u ON u.id = l.owner_id
LEFT JOIN flags f ON f.idx = w.idx
LEFT JOIN sla_monthlycommitment q ON q.agreement_id = w.agreement_id AND q.month = w.name
{together_join}
"""
# The pairs of the same month name together: their percentiles over all their clocks.
_TOGETHER_CTE = """, together AS (
    SELECT w.name, percentile_cont(0.5) WITHIN GROUP (ORDER BY ft.minutes) AS middle,
           percentile_disc(0.9) WITHIN GROUP (ORDER BY ft.minutes) AS p90
    FROM first_touch ft JOIN windows w ON w.idx = ft.idx
    GROUP BY w.name
)"""


_TOTAL, _BY_OWNER = 3, 1  # GROUPING(owner_id, tier) of the pair's row and of an owner's

# Stands for `at` in the compiled lookup: compiling it costs more than a small month's
# statement, so it is compiled once and `at` put in its place.
_AS_OF = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def _clock_lookup_sql(at: datetime) -> tuple[str, tuple]:
    """The first-touch clock of lead `m.id`, judged as of `at`, as SQL and its params."""
    sql, params = _clock_lookup_compiled()
    return sql, tuple(at if value == _AS_OF else value for value in params)


@functools.cache
def _clock_lookup_compiled() -> tuple[str, tuple]:
    at = _AS_OF
    clocks = (
        Clock.objects.filter(kind=Clock.Kind.FIRST_TOUCH, lead_id=RawSQL("m.id", ()))
        .annotate(
            within=ExpressionWrapper(kept_q(at), output_field=BooleanField()),
            breached=ExpressionWrapper(_decided_late_q(at), output_field=BooleanField()),
            minutes=Case(When(_touched_q(at), then=F("touch_minutes")), default=None),
        )
        .values("within", "breached", "minutes")
        .order_by()
    )
    sql, params = clocks.query.sql_with_params()
    return sql, tuple(params)


def _tallies_in_sql(pairs, at, by_owner, cutoffs=None) -> tuple[list[MonthTally], dict]:
    clock_sql, clock_params = _clock_lookup_sql(at)
    cutoffs = cutoffs or {}
    together = len({window.name for _, window in pairs}) < len(pairs)
    # `total` says which grouping a row is: 3 the pair's, 1 an owner's, 2 a tier's.
    grouped = {
        "owner": "owner_id" if by_owner else "NULL::bigint AS owner_id",
        "tier": "tier" if by_owner else "NULL::text AS tier",
        "total": "GROUPING(owner_id, tier)" if by_owner else str(_TOTAL),
        "group": (
            "GROUP BY GROUPING SETS ((idx, owner_id), (idx, tier), (idx))"
            if by_owner
            else "GROUP BY idx"
        ),
        "together_cte": _TOGETHER_CTE if together else "",
        "together_columns": "tg.middle, tg.p90" if together else "NULL, NULL",
        "together_join": "LEFT JOIN together tg ON tg.name = w.name" if together else "",
    }
    spans = {}  # per agreement
    for agreement_id, window in pairs:
        spans.setdefault(agreement_id, []).append(window)
    spans = {agreement_id: _spans(windows) for agreement_id, windows in spans.items()}
    in_range = "(l.received_at >= %s AND l.received_at < %s)"
    sql = _TALLY_SQL.format(
        windows=", ".join(["(%s::int, %s::bigint, %s::text)"] * len(pairs)),
        buckets=" ".join(
            f"WHEN t.agreement_id = %s AND {in_range} THEN {index}" for index in range(len(pairs))
        ),
        where=" OR ".join(
            f"(t.agreement_id = %s AND ({' OR '.join([in_range] * len(ranges))}))"
            for ranges in spans.values()
        ),
        cutoffs=" ".join(
            ["WHEN t.agreement_id = %s THEN l.verdict_at >= %s"] * len(cutoffs)
            or ["WHEN false THEN false"]
        ),
        clock=clock_sql,
        accepted=Lead.Verdict.ACCEPTED.value,  # constants of the model, never input
        rejected=Lead.Verdict.REJECTED.value,
        **grouped,
    )
    params = [v for i, (a, w) in enumerate(pairs) for v in (i, a, w.name)]
    params += [v for a, w in pairs for v in (a, w.start, w.end)]
    params += [v for agreement_id, cutoff in cutoffs.items() for v in (agreement_id, cutoff)]
    for agreement_id, ranges in spans.items():
        params += [agreement_id, *(v for span in ranges for v in span)]
    params += [*clock_params, tuple(OPEN_BREACH_KINDS), Flag.Kind.PREMATURE_ABANDON]
    tallies = [MonthTally() for _ in pairs]
    with connection.cursor() as cursor:
        # A few hundred thousand rows cross PostgreSQL's JIT threshold, and compiling
        # costs more than it saves on a statement this short (docs/performance.md). Sent
        # together, the two run as one implicit transaction: the setting ends with it
        # (or with the caller's transaction), in one round trip.
        cursor.execute("SET LOCAL jit = off; " + sql, params)
        rows = cursor.fetchall()
    minutes = {}
    for row in rows:
        idx, total, owner, tier = row[:4]
        counts, (within, breached, middle, p90) = row[4:9], row[9:13]
        opened, abandons, quota, all_middle, all_p90 = row[13:18]
        pending, disputed = row[18:20]
        month = tallies[idx]
        month.logged_quota = quota
        month.open_breaches, month.premature_abandons = opened or 0, abandons or 0
        minutes[pairs[idx][1].name] = _summary(all_middle, all_p90)
        if total is None:  # a month without leads
            continue
        tally = Tally(*counts, within or 0, breached or 0, _summary(middle, p90))
        tally.rejections_pending, tally.disputes_open = pending or 0, disputed or 0
        if total == _TOTAL:
            month.total = tally
        elif tally.delivered_qualified and total == _BY_OWNER:
            month.owners[owner] = tally
        elif tally.delivered_qualified:
            month.tiers[tier] = tally
    if not together:  # each name is one pair: its own figures
        minutes = {
            w.name: tally.total.minutes for (_, w), tally in zip(pairs, tallies, strict=True)
        }
    return tallies, minutes


def _spans(windows: list[MonthWindow]) -> list[tuple[datetime, datetime]]:
    """The windows' instants as few ranges as possible (the 12 months of a trend: one)."""
    spans: list[list[datetime]] = []
    for window in sorted(windows, key=lambda w: w.start):
        if spans and window.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], window.end)
        else:
            spans.append([window.start, window.end])
    return [(start, end) for start, end in spans]


def _tallies_in_orm(pairs, at, by_owner, cutoffs=None) -> tuple[list[MonthTally], dict]:
    """The same tallies as `_tallies_in_sql`, portable: three queries over the pairs'
    leads and clocks (each pair a CASE bucket), one for the flags, one for the
    commitments; the percentiles in Python over the touched clocks' stored minutes."""
    tallies = [MonthTally() for _ in pairs]

    def bucket(lead: str):
        whens = [
            When(
                **{f"{lead}terms__agreement_id": a},
                **{f"{lead}received_at__gte": w.start, f"{lead}received_at__lt": w.end},
                then=Value(i),
            )
            for i, (a, w) in enumerate(pairs)
        ]
        return Case(*whens, default=None, output_field=IntegerField())

    def in_pairs(lead: str) -> Q:  # the index's ranges; the buckets then sort them
        where = Q(pk__in=[])
        for agreement_id in dict.fromkeys(a for a, _ in pairs):
            for start, end in _spans([w for a, w in pairs if a == agreement_id]):
                where |= Q(
                    **{f"{lead}terms__agreement_id": agreement_id},
                    **{f"{lead}received_at__gte": start, f"{lead}received_at__lt": end},
                )
        return where

    def shares(month: MonthTally, owner, tier) -> tuple[Tally, Tally]:
        """The owner's and the tier's tallies a group of (owner, tier) adds to."""
        return month.owners.setdefault(owner, Tally()), month.tiers.setdefault(tier, Tally())

    leads = (
        Lead.objects.filter(in_pairs(""))
        .annotate(bucket=bucket(""))
        .filter(bucket__isnull=False)
        .values("bucket", "owner__username", "terms__tier")
        .annotate(**_lead_counts(cutoffs))
        .order_by()
    )
    for row in leads:
        for tally in shares(tallies[row["bucket"]], row["owner__username"], row["terms__tier"]):
            for name in _LEAD_COUNTS:
                setattr(tally, name, getattr(tally, name) + row[name])
    clocks = Clock.objects.filter(
        in_pairs("lead__"), kind=Clock.Kind.FIRST_TOUCH, lead__qualifies=True
    ).annotate(bucket=bucket("lead__"))
    clocks = clocks.filter(bucket__isnull=False)
    decided = (
        clocks.values("bucket", "lead__owner__username", "lead__terms__tier")
        .annotate(**_decided(at))
        .order_by()
    )
    for row in decided:
        month = tallies[row["bucket"]]
        for tally in shares(month, row["lead__owner__username"], row["lead__terms__tier"]):
            tally.within += row["within"]
            tally.breached += row["breached"]
    minutes: dict = {}  # {pair index: {("owner", name) or ("tier", name): [minutes]}}
    by_name: dict = {}
    touched = clocks.filter(_touched_q(at)).values_list(
        "bucket", "lead__owner__username", "lead__terms__tier", "touch_minutes"
    )
    for index, owner, tier, value in touched:
        found = minutes.setdefault(index, {})
        found.setdefault(("owner", owner), []).append(value)
        found.setdefault(("tier", tier), []).append(value)
        by_name.setdefault(pairs[index][1].name, []).append(value)
    ids, names = {a for a, _ in pairs}, {w.name for _, w in pairs}
    flags = {
        (row.pop("agreement_id"), row.pop("month")): row
        for row in Flag.objects.filter(agreement__in=ids, month__in=names)
        .values("agreement_id", "month")
        .annotate(**_flag_counts())
        .order_by()
    }
    logged = {
        (agreement_id, month): quota
        for agreement_id, month, quota in MonthlyCommitment.objects.filter(
            agreement__in=ids, month__in=names
        ).values_list("agreement_id", "month", "quota")
    }
    for index, ((agreement_id, window), month) in enumerate(zip(pairs, tallies, strict=True)):
        by_share = minutes.get(index, {})
        for owner, tally in month.owners.items():
            tally.minutes = _python_summary(by_share.get(("owner", owner), []))
            for name in _LEAD_COUNTS:
                setattr(month.total, name, getattr(month.total, name) + getattr(tally, name))
            month.total.within += tally.within
            month.total.breached += tally.breached
        for tier, tally in month.tiers.items():
            tally.minutes = _python_summary(by_share.get(("tier", tier), []))
        every = [
            value for (kind, _), values in by_share.items() if kind == "owner" for value in values
        ]
        month.total.minutes = _python_summary(every)
        month.owners = {o: t for o, t in month.owners.items() if by_owner and t.delivered_qualified}
        month.tiers = {n: t for n, t in month.tiers.items() if by_owner and t.delivered_qualified}
        month.logged_quota = logged.get((agreement_id, window.name))
        counted = flags.get((agreement_id, window.name), {})
        month.open_breaches = counted.get("open_breaches", 0)
        month.premature_abandons = counted.get("premature_abandons", 0)
    return tallies, {w.name: _python_summary(by_name.get(w.name, [])) for _, w in pairs}


_LEAD_COUNTS = (
    "delivered",
    "delivered_qualified",
    "accepted",
    "rejected",
    "duplicates",
    "rejections_pending",
    "disputes_open",
)


def _flag_counts() -> dict:
    return {
        "open_breaches": Count("id", filter=Q(kind__in=OPEN_BREACH_KINDS, state=Flag.State.OPEN)),
        "premature_abandons": Count("id", filter=Q(kind=Flag.Kind.PREMATURE_ABANDON)),
    }


# --- percentiles --------------------------------------------------------------------------


def _percentile_nearest_rank(values: list[int], share: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _summary(middle: float | None, p90: float | None) -> tuple[int | None, int | None]:
    """Median rounded half up, and the nearest-rank p90, as whole minutes."""
    if middle is None:
        return None, None
    return math.floor(middle + 0.5), int(p90)


def _python_summary(values: list[int]) -> tuple[int | None, int | None]:
    if not values:
        return None, None
    return math.floor(median(values) + 0.5), _percentile_nearest_rank(values, 0.9)


def minutes_summaries(touched) -> tuple[tuple, dict]:
    """((median, p90) over all, {owner: (median, p90)}) of the stored `touch_minutes`.

    PostgreSQL computes them (percentile_cont for the median, percentile_disc for the
    nearest-rank p90); elsewhere the same definitions run over the stored integers.
    """
    if connection.vendor == "postgresql":
        return summaries_in_sql(touched)
    return summaries_in_python(touched)


def summaries_in_sql(touched) -> tuple[tuple, dict]:
    figures = {
        "middle": PercentileCont("touch_minutes", 0.5),
        "p90": PercentileDisc("touch_minutes", 0.9),
    }
    overall = touched.aggregate(**figures)
    rows = touched.values("lead__owner__username").annotate(**figures).order_by()
    return _summary(overall["middle"], overall["p90"]), {
        row["lead__owner__username"]: _summary(row["middle"], row["p90"]) for row in rows
    }


def summaries_in_python(touched) -> tuple[tuple, dict]:
    by_owner: dict = {}
    for owner, minutes in touched.values_list("lead__owner__username", "touch_minutes"):
        by_owner.setdefault(owner, []).append(minutes)
    every = [m for values in by_owner.values() for m in values]
    return _python_summary(every), {o: _python_summary(v) for o, v in by_owner.items()}
