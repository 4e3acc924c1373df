"""Disputed verdicts: marketing disputes a sales rejection, the sales side rules on it.

Marketing (a member of the agreement's marketing team, or an admin) may dispute a rejected
lead within the agreement's `dispute_window_business_days` business days of the verdict
(in the agreement's calendar), with a note; a lead has at most one dispute. A sales
manager of the lead's team, or an admin, rules: `upheld` (the rejection is final) or
`overturned` (the lead counts as accepted; the verdict row stays as sales gave it, so
the verdict-change path, which refuses leads of closed months, is not involved). How the
figures count each state is sla.tallies' (`dispute_cutoff`); a dispute or a ruling on a
lead of a closed month marks that month to be counted again.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction

from accounts.access import is_admin
from accounts.models import Role, User
from core.errors import RuleRefused
from core.timeparse import local_text
from leads.models import Lead
from sla.books import ClosedMonths
from sla.checks.months import month_evaluations_reopen
from sla.models import Agreement, Dispute
from sla.tallies import dispute_window_ends

MAX_NOTE = 5000
OUTCOMES = (Dispute.State.UPHELD, Dispute.State.OVERTURNED)


class RulingOutcome(models.TextChoices):
    """The ruling's outcomes as the API names them (one enum in the OpenAPI schema)."""

    UPHELD = "upheld", "Upheld: the rejection stands"
    OVERTURNED = "overturned", "Overturned: the lead counts as accepted"


RULING_OUTCOMES = RulingOutcome.choices


def may_dispute(user, agreement: Agreement) -> bool:
    """Marketing of the agreement's marketing team, and admins."""
    if is_admin(user):
        return True
    return (
        user.role == Role.MARKETING and user.teams.filter(pk=agreement.marketing_team_id).exists()
    )


def may_rule(user, lead: Lead) -> bool:
    """A sales manager of the lead's sales team, and admins."""
    if is_admin(user):
        return True
    return (
        user.role == Role.SALES_MANAGER
        and lead.team_id is not None
        and user.teams.filter(pk=lead.team_id).exists()
    )


def _note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why."})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"at most {MAX_NOTE} characters."})
    return note


def dispute_refusal(*, lead: Lead, agreement: Agreement, now: datetime) -> RuleRefused | None:
    """Why the lead's rejection may not be disputed now (None: it may)."""
    if lead.verdict != Lead.Verdict.REJECTED:
        return RuleRefused(
            f"lead_not_rejected: lead {lead.pk} is {lead.verdict}; only a rejection is disputed.",
            rule="lead_not_rejected",
        )
    existing = Dispute.objects.filter(lead=lead).first()
    if existing is not None and existing.state == Dispute.State.OPEN:
        return RuleRefused(
            f"one_open_dispute: lead {lead.pk} is already disputed; a sales manager rules on it.",
            rule="one_open_dispute",
        )
    if existing is not None:
        return RuleRefused(
            f"dispute_ruled: the dispute of lead {lead.pk} was {existing.state}; the ruling "
            "is final.",
            rule="dispute_ruled",
        )
    try:
        ClosedMonths(now).refuse(agreement, lead.received_at)
    except RuleRefused as refused:
        return refused
    ends = dispute_window_ends(agreement, lead.verdict_at)
    if now >= ends:
        return RuleRefused(
            f"dispute_window: the rejection may be disputed for "
            f"{agreement.dispute_window_business_days} business days; that ended "
            f"{local_text(ends, agreement.calendar.timezone)}.",
            rule="dispute_window",
        )
    return None


@transaction.atomic
def dispute_open(*, lead: Lead, by: User, note: str, now: datetime) -> Dispute:
    """Marketing disputes the lead's rejection (see the module's rules)."""
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("terms__agreement__calendar")
        .get(pk=lead.pk)
    )
    agreement = lead.terms.agreement
    if not may_dispute(by, agreement):
        raise PermissionDenied("Only marketing of the agreement's marketing team disputes.")
    note = _note(note)
    refused = dispute_refusal(lead=lead, agreement=agreement, now=now)
    if refused is not None:
        raise refused
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(lead=lead, note=note, opened_by=by, opened_at=now)
    except IntegrityError:  # disputed at the same moment by someone else
        raise RuleRefused(
            f"one_open_dispute: lead {lead.pk} is already disputed.", rule="one_open_dispute"
        ) from None
    month_evaluations_reopen(leads=[(agreement, lead.received_at)], now=now)
    return dispute


@transaction.atomic
def dispute_rule(*, lead: Lead, by: User, outcome: str, note: str, now: datetime) -> Dispute:
    """The sales side rules on the open dispute of the lead: upheld or overturned. Allowed
    on a lead of a closed month: the dispute was raised in time."""
    lead = Lead.objects.select_related("terms__agreement__calendar").get(pk=lead.pk)
    if not may_rule(by, lead):
        raise PermissionDenied("Only a sales manager of the lead's team, or an admin, rules.")
    if outcome not in OUTCOMES:
        raise ValidationError({"outcome": "must be upheld or overturned."})
    note = _note(note)
    dispute = Dispute.objects.select_for_update().filter(lead=lead).first()
    if dispute is None or dispute.state != Dispute.State.OPEN:
        raise RuleRefused(
            f"no_open_dispute: lead {lead.pk} has no open dispute to rule on.",
            rule="no_open_dispute",
        )
    dispute.state, dispute.ruled_by, dispute.ruled_at = outcome, by, now
    dispute.ruling_note = note
    dispute.save(update_fields=["state", "ruled_by", "ruled_at", "ruling_note"])
    month_evaluations_reopen(leads=[(lead.terms.agreement, lead.received_at)], now=now)
    return dispute


def dispute_body(dispute: Dispute | None) -> dict | None:
    """A lead's `dispute`: null, or {"state", "opened_at", "by", "note", "ruling"}."""
    if dispute is None:
        return None
    ruling = None
    if dispute.state != Dispute.State.OPEN:
        ruling = {
            "outcome": dispute.state,
            "by": dispute.ruled_by.username if dispute.ruled_by else None,
            "at": dispute.ruled_at,
            "note": dispute.ruling_note,
        }
    return {
        "state": dispute.state,
        "opened_at": dispute.opened_at,
        "by": dispute.opened_by.username if dispute.opened_by else None,
        "note": dispute.note,
        "ruling": ruling,
    }
