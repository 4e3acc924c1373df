"""Both sides' scorecards of every agreement shown and of all together, and by rep.

The figures are `sla.compliance`'s: each agreement's card is its sides exactly as
`compliance_for` answers them, all together is `compliance_trend_together`'s (counts
summed, percentages recomputed, median and p90 over every first touch, never averaged).
The cards only add what the page shows beside them: expected to date all together, and
the open breaches split into first and next touch.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from sla.compliance import (
    _owner_rows,
    compliance_trend_together,
    expected_to_date,
    pairs_tallies,
)
from sla.compliance import sales_by_rep as compliance_by_rep
from sla.compliance import sales_by_tier as compliance_by_tier
from sla.figures.scope import Scope
from sla.models import Flag


def _open_split(scopes: list[Scope]) -> dict[tuple[int, str], dict]:
    """{(agreement, month): {open_first, open_next}} of every scope, in one query."""
    agreements = {a.id for scope in scopes for a in scope.agreements}
    rows = (
        Flag.objects.filter(
            agreement__in=agreements,
            month__in=[scope.month for scope in scopes],
            state=Flag.State.OPEN,
        )
        .values("agreement_id", "month")
        .annotate(
            open_first=Count("id", filter=Q(kind=Flag.Kind.FIRST_TOUCH_BREACHED)),
            open_next=Count("id", filter=Q(kind=Flag.Kind.NEXT_TOUCH_BREACHED)),
        )
        .order_by()
    )
    return {(row.pop("agreement_id"), row.pop("month")): row for row in rows}


def _card(sides: dict, split: dict | None) -> dict:
    """One scorecard: both sides' figures under the page's names."""
    marketing, sales = sides["marketing"], sides["sales"]
    card = {**marketing, **sales, "within": sales["touched_within_sla"]}
    del card["touched_within_sla"]
    card.update(split or {"open_first": 0, "open_next": 0})
    card.setdefault("status", None)
    return card


def _expected_together(scope: Scope, cards: dict) -> float:
    """Expected to date of the agreements in effect that month (whose quota is summed)."""
    return round(
        sum(
            expected_to_date(cards[a.id]["committed"], scope.windows[a.id])
            for a in scope.agreements
            if a.in_effect_during(scope.windows[a.id].year, scope.windows[a.id].month)
        ),
        1,
    )


def scorecards_of(scopes: list[Scope], at: datetime) -> list[dict]:
    """For each scope (the same agreements, one month each): {agreement id: card, None:
    all together}; one `compliance_trend_together` call and one query of flags."""
    if not scopes or not scopes[0].agreements:
        return [{} for _ in scopes]
    agreements = list(scopes[0].agreements)
    entries = compliance_trend_together(
        agreements=agreements, months=[scope.month for scope in scopes], at=at
    )
    split = _open_split(scopes)
    found = []
    for scope, entry in zip(scopes, entries, strict=True):
        cards = {
            side["agreement"]: _card(side, split.get((side["agreement"], scope.month)))
            for side in entry["agreements"]
        }
        together = {"open_first": 0, "open_next": 0}
        for card in cards.values():
            together["open_first"] += card["open_first"]
            together["open_next"] += card["open_next"]
        cards[None] = _card(entry, together)
        cards[None]["expected_to_date"] = _expected_together(scope, cards)
        found.append(cards)
    return found


def scorecards(scope: Scope, at: datetime) -> dict:
    """The cards of one month: {agreement id: card, None: all together}."""
    return scorecards_of([scope], at)[0]


def sales_by_rep(scope: Scope, at: datetime) -> list[dict]:
    """compliance_for's `by_rep` of every agreement at once, each row with its
    `agreement_id`, in the order of the agreements; a constant number of queries."""
    return sales_by_rep_and_tier(scope, at)[0]


def sales_by_rep_and_tier(scope: Scope, at: datetime) -> tuple[list[dict], list[dict]]:
    """compliance_for's `by_rep` and `by_tier` of every agreement at once, from the same
    tallies, each row with its `agreement_id`, in the order of the agreements."""
    pairs = [(a.id, scope.windows[a.id]) for a in scope.agreements]
    tallies, _ = pairs_tallies(pairs=pairs, at=at, by_owner=True)
    reps, tiers = [], []
    for agreement, tally in zip(scope.agreements, tallies, strict=True):
        reps += [
            {"agreement_id": agreement.id, **rep}
            for rep in compliance_by_rep(owners=_owner_rows(tally))
        ]
        tiers += [
            {"agreement_id": agreement.id, **row}
            for row in compliance_by_tier(tiers=tally.tiers, order=agreement.tiers)
        ]
    return reps, tiers
