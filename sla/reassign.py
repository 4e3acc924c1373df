"""Moving leads in bulk: an absent rep's open leads, and the team's manager queue.

Both spread the leads round robin over the team's reps free at that instant, with the
rules delivery uses (`leads.services.leads.reps_take`: not away, under their cap, the
turn resting on the last rep given one), in a constant number of queries: the leads
locked in one query, one bulk UPDATE of their owners, one bulk INSERT of OwnerChange
rows, and the `unassigned` flags of the leads that get an owner resolved in one UPDATE.
Clocks are not touched: a due time stays where it was, and a flag raised later names
the owner at the time of the miss (sla.flags.owners_at).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from accounts.absences import away_at, is_away
from accounts.models import Team, User
from core.errors import RuleRefused
from leads.models import Lead, OwnerChange
from leads.services.leads import reps_take
from sla.flags import unassigned_resolve

URGENT = F("sla_due_at").asc(nulls_last=True)  # the earliest running clock first


def _spread(*, team: Team, leads: list[Lead], by: User | None, at: datetime, reason: str, skip=()):
    """Give each lead the next free rep of the team; a lead no rep is free for keeps its
    owner. Returns {"moved", "to": {username: count}, "left"}."""
    reps = reps_take(team=team, received_at=[at] * len(leads), skip=skip) if leads else []
    moved, changes = [], []
    for lead, rep in zip(leads, reps, strict=True):
        if rep is None:
            continue
        changes.append(
            OwnerChange(
                lead_id=lead.pk,
                from_owner_id=lead.owner_id,
                to_owner=rep,
                at=at,
                by=by,
                reason=reason,
            )
        )
        lead.owner, lead.assigned_at = rep, at
        moved.append(lead)
    if moved:
        Lead.objects.bulk_update(moved, ["owner", "assigned_at"])
        OwnerChange.objects.bulk_create(changes)
        unassigned_resolve(
            lead_ids=[lead.pk for lead in moved],
            at=at,
            by=by,
            note="assigned from the manager queue",
        )
    counts = Counter(lead.owner.username for lead in moved)
    return {
        "moved": len(moved),
        "to": dict(sorted(counts.items())),
        "left": len(leads) - len(moved),
    }


@transaction.atomic
def open_leads_move(*, team: Team, member: User, by: User | None, at: datetime) -> dict:
    """Spread every open lead `member` owns in `team` over the team's other free reps.

    Refused (409) unless the member is away at `at`: moving a rep's work is what an
    absence is for (record it first). A lead no rep is free to take stays with them and
    is counted in `left`. Returns {"moved", "to": {username: count}, "left"}.
    """
    if not team.members.filter(pk=member.pk).exists():
        raise ValidationError({"username": f"{member.username!r} is not a member of {team}."})
    if not is_away(away_at(user_ids=[member.pk], instants=[at]).get(member.pk), at):
        raise RuleRefused(
            f"{member.username} is not away now: record their absence before moving their "
            "open leads."
        )
    leads = list(
        Lead.objects.select_for_update()
        .filter(owner=member, team=team, closed_at__isnull=True)
        .order_by(URGENT, "received_at", "id")
        .only("id", "owner_id", "assigned_at")
    )
    return _spread(
        team=team, leads=leads, by=by, at=at, reason=OwnerChange.Reason.ABSENCE, skip={member.pk}
    )


@transaction.atomic
def queue_assign(*, team: Team, by: User | None, at: datetime) -> dict:
    """Give the team's manager queue (its open leads with no owner) to its free reps, the
    most urgent first; their `unassigned` flags resolve. Returns as `open_leads_move`."""
    leads = list(
        Lead.objects.select_for_update()
        .filter(owner__isnull=True, team=team, closed_at__isnull=True, qualifies=True)
        .order_by(URGENT, "received_at", "id")
        .only("id", "owner_id", "assigned_at")
    )
    return _spread(team=team, leads=leads, by=by, at=at, reason=OwnerChange.Reason.ROUND_ROBIN)
