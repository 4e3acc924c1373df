"""What-if on history: the last closed months of an agreement replayed under other terms.

For each month, what was measured (sla.tallies.month_tallies, the live figures) beside
what the month would have been under the candidate terms (a proposal's), replayed over
the real leads, first touches and verdicts:

1. One query reads the months' leads (their data for scoring and tiers, owner, verdict)
   and one their first-touch clocks (start, stop, how it stopped, stored minutes).
2. Under a changed definition each lead is scored again (leads.scoring, through the
   definition version's own `score`); otherwise it qualifies as it did.
3. Each qualified lead's tier and window come from sla.terms.sales_terms_for (the rule
   delivery applies); its due time from calendars.engine.add_business_minutes, from the
   real clock's start (a lead that had no clock: its delivery), memoised per window.
4. A first touch is kept or late by the Clock rule (`Clock.is_late`, the Python twin of
   kept_q / late_q), decided as of `at` as the tallies decide it.
5. The counts go into a MonthTally, and both columns are turned into figures by the same
   functions as GET /api/compliance/ (sla.compliance `_both_sides`, `sales_by_rep`), so
   the replay of the current terms is exactly what was measured.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import datetime

from django.db.models import Min

from calendars.engine import add_business_minutes, business_minutes_between
from calendars.months import month_of
from core.timeparse import month_before
from leads.models import Lead, Touch
from leads.scoring import LEAD_FIELDS
from sla.books import CLOSED, MarketingTerms
from sla.compliance import _both_sides, _owner_rows, month_window, sales_by_rep
from sla.models import Agreement, Clock
from sla.tallies import MonthTally, Tally, _python_summary, month_tallies
from sla.terms import sales_terms_for

# What the replay takes from what was measured: no term changes who delivered or judged.
VERDICT_COUNTS = [
    name
    for name in (
        "delivered",
        "accepted",
        "rejected",
        "duplicates",
        "rejections_pending",
        "disputes_open",
    )
    if hasattr(Tally(), name)
]
DEFAULT_MONTHS = 3
MAX_MONTHS = 12


def closed_windows(agreement: Agreement, *, months: int, at: datetime, terms: MarketingTerms):
    """The last `months` closed months of the agreement (newest first), as windows."""
    calendar = agreement.calendar.as_work_calendar()
    year, month = month_of(calendar, at)
    windows = []
    for _ in range(months + 3):  # a month in grace is skipped, not counted
        year, month = month_before(year, month)
        if not agreement.in_effect_during(year, month):
            if (year, month) < (agreement.effective_from.year, agreement.effective_from.month):
                break
            continue
        if terms.period(agreement, year, month) == CLOSED:
            windows.append(month_window(calendar, year, month, at))
        if len(windows) == months:
            break
    return windows


class _OwnTerms:
    """MarketingTerms for candidate terms: every month is measured under their own fields
    (the periods stay the agreement's)."""

    def __init__(self, real: MarketingTerms):
        self.real = real

    def of(self, agreement: Agreement, year: int, month: int) -> dict:
        return {name: getattr(agreement, name) for name in Agreement.MARKETING_TERMS}

    def period(self, agreement: Agreement, year: int, month: int) -> str:
        return self.real.period(agreement, year, month)


def _figures(agreement, window, tally: MonthTally, terms) -> dict:
    return {
        **_both_sides(agreement, window, tally, terms),
        "by_rep": sales_by_rep(owners=_owner_rows(tally)),
    }


def whatif(*, agreement: Agreement, candidate: Agreement, months: int, at: datetime) -> dict:
    """The body of GET .../proposals/<pid>/whatif/: per month, measured and proposed."""
    terms = MarketingTerms([agreement], at=at)
    windows = closed_windows(agreement, months=months, at=at, terms=terms)
    measured = month_tallies(agreement=agreement, windows=windows, at=at) if windows else []
    replayed = replay(agreement=agreement, candidate=candidate, windows=windows, at=at)
    entries = []
    for window, real, replay_tally in zip(windows, measured, replayed, strict=True):
        # Deliveries, verdicts, disputes and flags are what happened; a logged commitment
        # holds unless the quota changes.
        for name in VERDICT_COUNTS:
            setattr(replay_tally.total, name, getattr(real.total, name))
        replay_tally.open_breaches = real.open_breaches
        replay_tally.premature_abandons = real.premature_abandons
        if candidate.monthly_quota == agreement.monthly_quota:
            replay_tally.logged_quota = real.logged_quota
        entries.append(
            {
                "month": window.name,
                "measured": _figures(agreement, window, real, terms),
                "proposed": _figures(candidate, window, replay_tally, _OwnTerms(terms)),
            }
        )
    return {"agreement": agreement.id, "as_of": at, "months": entries}


def replay(
    *, agreement: Agreement, candidate: Agreement, windows: list, at: datetime
) -> list[MonthTally]:
    """The MonthTally of each window under the candidate's terms (steps 1-4 above): the
    qualified leads, kept and breached first touches and minutes, per month and owner.
    Verdicts and flags are what happened: the caller takes them from what was measured."""
    if not windows:
        return []
    calendar = agreement.calendar.as_work_calendar()
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    in_span = {"received_at__gte": start, "received_at__lt": end}
    rescored = candidate.definition_id != agreement.definition_id
    # A lead's data is read only when a rule looks at it: a new definition, or tiers.
    data_fields = ["score", "attributes", *LEAD_FIELDS] if rescored or candidate.tiers else []
    leads = Lead.objects.filter(terms__agreement=agreement, **in_span).values(
        "id", "received_at", "qualifies", "owner__username", *data_fields
    )
    clocks = {
        row[0]: row[1:]
        for row in Clock.objects.filter(
            kind=Clock.Kind.FIRST_TOUCH,
            lead__terms__agreement=agreement,
            **{f"lead__{name}": value for name, value in in_span.items()},
        ).values_list(
            "lead_id", "state", "started_at", "stopped_at", "stop_reason", "touch_minutes"
        )
    }
    # Leads that had no clock (they did not qualify) may qualify under a new definition:
    # their first touch, if any, in one more query.
    touched = {}
    if rescored:
        touched = dict(
            Touch.objects.filter(
                lead__terms__agreement=agreement,
                lead__qualifies=False,
                **{f"lead__{name}": value for name, value in in_span.items()},
            )
            .values("lead_id")
            .annotate(first=Min("at"))
            .values_list("lead_id", "first")
            .order_by()
        )
    qualify = _qualifier(agreement, candidate)
    terms_of = _sales_terms(candidate)
    starts = [w.start for w in windows]
    order = sorted(range(len(windows)), key=lambda i: starts[i])
    sorted_starts = [starts[i] for i in order]
    tallies = [MonthTally() for _ in windows]
    minutes: list[dict] = [{} for _ in windows]
    for lead in leads.order_by():
        index = order[bisect_right(sorted_starts, lead["received_at"]) - 1]
        month, owner = tallies[index], lead["owner__username"]
        qualified, data = qualify(lead)
        shares = (month.total, month.owners.setdefault(owner, Tally()))
        if not qualified:
            continue
        for tally in shares:
            tally.delivered_qualified += 1
        clock = _clock_for(lead, clocks.get(lead["id"]), touched.get(lead["id"]), calendar)
        if clock is None:  # qualified, yet no clock (a duplicate): nothing to judge
            continue
        clock.due_at = add_business_minutes(
            calendar, clock.started_at, terms_of(data).first_touch_minutes
        )
        late = clock.is_late(at)
        kept = clock.state == Clock.State.STOPPED and not late and clock.stopped_at <= at
        late = late and clock.due_at <= at
        for tally in shares:
            tally.within += kept
            tally.breached += late
        if clock.touch_minutes is not None and clock.stopped_at <= at:
            minutes[index].setdefault(owner, []).append(clock.touch_minutes)
    for month, found in zip(tallies, minutes, strict=True):
        month.total.minutes = _python_summary([m for values in found.values() for m in values])
        for owner, tally in month.owners.items():
            tally.minutes = _python_summary(found.get(owner, []))
        month.owners = {o: t for o, t in month.owners.items() if t.delivered_qualified}
    return tallies


class _FirstTouch:
    """A first-touch clock in memory, judged by the model's own rule (`Clock.is_late`)
    without a model instance per lead."""

    __slots__ = ("state", "started_at", "due_at", "stopped_at", "touch_minutes")
    State = Clock.State
    is_late = Clock.is_late

    def __init__(self, state, started_at, stopped_at=None, touch_minutes=None):
        self.state, self.started_at, self.due_at = state, started_at, None
        self.stopped_at, self.touch_minutes = stopped_at, touch_minutes


def _clock_for(lead: dict, row, first_touch, calendar) -> _FirstTouch | None:
    """The lead's first-touch clock: the real one, or, for a lead that had none because it
    did not qualify, one started at delivery and stopped by its first touch."""
    if row is not None:
        state, started_at, stopped_at, stop_reason, touch_minutes = row
        if stop_reason not in Clock.TOUCH_STOPS:
            touch_minutes = None
        return _FirstTouch(state, started_at, stopped_at, touch_minutes)
    if lead["qualifies"]:
        return None
    if first_touch is None:
        return _FirstTouch(Clock.State.RUNNING, lead["received_at"])
    minutes = math.floor(business_minutes_between(calendar, lead["received_at"], first_touch))
    return _FirstTouch(Clock.State.STOPPED, lead["received_at"], first_touch, minutes)


def _qualifier(agreement: Agreement, candidate: Agreement):
    """(qualifies, lead-shaped data with its score) of a lead row under the candidate's
    definition: as it was, unless the definition changes."""
    if candidate.definition_id == agreement.definition_id:
        return lambda lead: (lead["qualifies"], lead)
    version = candidate.definition.current_version

    def qualify(lead: dict):
        found = version.score(lead)
        return found.qualifies, {**lead, "score": found.score}

    return qualify


def _sales_terms(candidate: Agreement):
    """The sales terms of a lead under the candidate (its tier's, else the defaults)."""
    terms = {name: getattr(candidate, name) for name in Agreement.SALES_TERMS}
    if not terms.get("tiers"):
        defaults = sales_terms_for(terms, {})
        return lambda data: defaults
    return lambda data: sales_terms_for(terms, data)
