"""The negotiated agreement: proposals to change an agreement's terms, and their sign-off.

A marketing or sales manager of the agreement's teams (or an admin, for a side) proposes
changes to either side's terms with a note and an effective date. A proposal measures
nothing until a manager of each side has accepted it (the proposer's side accepts by
proposing); then, from local midnight of its `effective_from`, it becomes the agreement's
next version through the agreement's own versioning (sla.agreements.agreement_update),
dated at that instant, so leads delivered from then on take it and months closing after
it are measured under it (sla.books.MarketingTerms). Either side may reject it with a
reason, or counter it with a new proposal that supersedes it. Every step is a
ProposalEvent, and both sides' managers are notified through the outbox.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.access import definition_owner_teams, is_admin
from accounts.models import Role, User
from core.errors import RuleRefused
from leads.models import LeadDefinition
from sla.agreements import _validate, agreement_update
from sla.books import CLOSED, month_period
from sla.models import Agreement, Notification, Proposal, ProposalEvent

SIDES = (Proposal.Side.MARKETING, Proposal.Side.SALES)
# The agreement's fields a proposal may change: both sides' terms and the definition.
PROPOSABLE = (*Agreement.SALES_TERMS, *Agreement.MARKETING_TERMS, "definition")
MAX_NOTE = 5000


# --- who acts for which side ----------------------------------------------------------------


def managed_sides(user, agreement: Agreement) -> set[str]:
    """The sides of the agreement the person manages: a marketing manager of its marketing
    team, a sales manager of its sales team; an admin may act for both."""
    if not (user and user.is_authenticated):
        return set()
    if is_admin(user):
        return set(SIDES)
    teams = set(user.teams.values_list("id", flat=True))
    if user.role == Role.MARKETING and agreement.marketing_team_id in teams:
        return {Proposal.Side.MARKETING}
    if user.role == Role.SALES_MANAGER and agreement.sales_team_id in teams:
        return {Proposal.Side.SALES}
    return set()


def _side_for(user, agreement: Agreement, acting_for: str | None, *, missing=None) -> str:
    """The side `user` acts for: their own; an admin names it (`acting_for`), or takes the
    one still `missing` (a signature)."""
    sides = managed_sides(user, agreement)
    if not sides:
        raise PermissionDenied(
            "Only a marketing manager of the agreement's marketing team, a sales manager of "
            "its sales team, or an admin may act on its proposals."
        )
    if acting_for not in (None, ""):
        if acting_for not in SIDES:
            raise ValidationError({"acting_for": "must be marketing or sales."})
        if acting_for not in sides:
            raise PermissionDenied(f"You may not act for {acting_for}.")
        return acting_for
    if len(sides) == 1:
        return next(iter(sides))
    if missing:
        return missing
    raise ValidationError(
        {"acting_for": "An admin names the side it acts for: marketing or sales."}
    )


def _acting_for(user, side: str) -> str:
    """The side recorded as `acting_for` when an admin acted in a side's place."""
    return side if is_admin(user) else ""


# --- the proposed terms -------------------------------------------------------------------


def effective_instant(agreement: Agreement, day: date) -> datetime:
    """Local midnight of `day` in the agreement calendar's zone."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(agreement.calendar.timezone))


def terms_with(agreement: Agreement, changes: dict) -> Agreement:
    """An unsaved copy of the agreement with `changes` applied (nothing is written)."""
    candidate = Agreement.objects.select_related("calendar", "definition").get(pk=agreement.pk)
    for name, value in changes.items():
        if name == "definition":
            candidate.definition_id = value
        else:
            setattr(candidate, name, value)
    return candidate


def proposal_terms(proposal: Proposal) -> Agreement:
    """The agreement as it would be under the proposal (unsaved)."""
    return terms_with(proposal.agreement, proposal.changes)


def _nested(error: ValidationError) -> ValidationError:
    """The agreement's own validation errors, named as the body names them."""
    found: dict = {}
    for name, messages in error.message_dict.items():
        if name in Agreement.SALES_TERMS:
            found.setdefault("sales", {})[name] = messages
        elif name in Agreement.MARKETING_TERMS:
            found.setdefault("marketing", {})[name] = messages
        else:
            found[name] = messages
    return ValidationError(found)


def _checked_changes(agreement: Agreement, changes: dict) -> dict:
    """The changes that differ from the current terms, validated with the agreement's own
    rules (sla.agreements._validate, which checks tiers with sla.terms)."""
    unknown = sorted(set(changes) - set(PROPOSABLE))
    if unknown:
        raise ValidationError({"detail": f"not a term a proposal changes: {', '.join(unknown)}."})
    if "definition" in changes:
        _check_definition(agreement, changes["definition"])
    candidate = terms_with(agreement, changes)
    try:
        _validate(candidate)
    except ValidationError as error:
        raise _nested(error) from None
    cleaned = {}
    for name in changes:
        value = candidate.definition_id if name == "definition" else getattr(candidate, name)
        current = agreement.definition_id if name == "definition" else getattr(agreement, name)
        if value != current:
            cleaned[name] = value
    if not cleaned:
        raise ValidationError(
            {"non_field_errors": ["The proposal changes no term: give the terms that change."]}
        )
    return cleaned


def _check_definition(agreement: Agreement, definition_id) -> None:
    if not isinstance(definition_id, int) or isinstance(definition_id, bool):
        raise ValidationError({"definition": "must be the id of a lead definition."})
    definition = LeadDefinition.objects.filter(pk=definition_id).first()
    if definition is None:
        raise ValidationError({"definition": f"no lead definition {definition_id}."})
    owners = definition_owner_teams(definition)
    if definition.pk != agreement.definition_id and agreement.marketing_team_id not in owners:
        raise ValidationError(
            {"definition": "must be a definition of the agreement's marketing team."}
        )


def _check_effective_from(agreement: Agreement, day, now: datetime) -> None:
    if not isinstance(day, date):
        raise ValidationError({"effective_from": "must be a date (YYYY-MM-DD)."})
    if day.day != 1:
        raise ValidationError({"effective_from": "must be the first day of a month."})
    today = now.astimezone(ZoneInfo(agreement.calendar.timezone)).date()
    if day < today:
        raise ValidationError(
            {"effective_from": f"may not be in the past (today is {today.isoformat()})."}
        )
    if agreement.effective_to and day > agreement.effective_to:
        raise ValidationError({"effective_from": "must fall before the agreement ends."})
    if month_period(agreement, day.year, day.month, now) == CLOSED:
        raise RuleRefused(
            f"month_closed: {day:%Y-%m} is closed; its terms are final.", rule="month_closed"
        )


# --- the steps ----------------------------------------------------------------------------


def _event(proposal: Proposal, kind: str, *, by, side: str, acting_for: str, at, note=""):
    return ProposalEvent.objects.create(
        proposal=proposal, kind=kind, side=side, acting_for=acting_for, by=by, at=at, note=note
    )


def _refuse_unless_open(proposal: Proposal) -> None:
    if proposal.state != Proposal.State.OPEN:
        raise RuleRefused(
            f"proposal_not_open: proposal {proposal.pk} is {proposal.state}; only an open "
            "proposal is accepted, rejected or countered.",
            rule="proposal_not_open",
        )


@transaction.atomic
def proposal_create(
    *,
    agreement: Agreement,
    by: User,
    note: str,
    effective_from,
    changes: dict,
    now: datetime,
    acting_for: str | None = None,
    counters: Proposal | None = None,
) -> Proposal:
    """Propose changes to the agreement's terms; the proposer's side has accepted it.

    With `counters`, the new proposal answers that open one, which is superseded."""
    side = _side_for(by, agreement, acting_for)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what the proposal changes and why."})
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": f"at most {MAX_NOTE} characters."})
    _check_effective_from(agreement, effective_from, now)
    cleaned = _checked_changes(agreement, changes or {})
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if counters is not None:
        counters = Proposal.objects.select_for_update().get(pk=counters.pk)
        if counters.agreement_id != agreement.pk:
            raise ValidationError({"counters": "must be a proposal of the same agreement."})
        _refuse_unless_open(counters)
    open_same_side = Proposal.objects.filter(agreement=agreement, side=side, state="open")
    if counters is not None:
        open_same_side = open_same_side.exclude(pk=counters.pk)
    if open_same_side.exists():
        raise RuleRefused(
            f"one_open_proposal: {side} already has an open proposal on {agreement.name}; "
            "withdraw it by countering it, or wait for its answer.",
            rule="one_open_proposal",
        )
    if counters is not None:
        counters.state = Proposal.State.SUPERSEDED
        counters.save(update_fields=["state"])
    signed = {f"{side}_signed_by": by, f"{side}_signed_at": now}
    signed[f"{side}_signed_as_admin"] = bool(_acting_for(by, side))
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                agreement=agreement,
                side=side,
                note=note,
                effective_from=effective_from,
                changes=cleaned,
                base_version=agreement.version,
                counters=counters,
                proposed_by=by,
                proposed_at=now,
                **signed,
            )
    except IntegrityError:  # a concurrent proposal of the same side won
        raise RuleRefused(
            f"one_open_proposal: {side} already has an open proposal on {agreement.name}.",
            rule="one_open_proposal",
        ) from None
    event = _event(
        proposal,
        ProposalEvent.Kind.PROPOSED,
        by=by,
        side=side,
        acting_for=_acting_for(by, side),
        at=now,
        note=note,
    )
    if counters is not None:
        _event(
            counters,
            ProposalEvent.Kind.SUPERSEDED,
            by=by,
            side=side,
            acting_for=_acting_for(by, side),
            at=now,
            note=f"Countered by proposal {proposal.pk}.",
        )
    _notify(proposal, event)
    return proposal


@transaction.atomic
def proposal_accept(
    *, proposal: Proposal, by: User, now: datetime, acting_for: str | None = None
) -> Proposal:
    """A manager of the side that has not signed accepts; with both signatures the proposal
    is accepted, and takes effect at once when its first day has come."""
    proposal = Proposal.objects.select_for_update().select_related("agreement").get(pk=proposal.pk)
    missing = next((s for s in SIDES if not getattr(proposal, f"{s}_signed_by_id")), None)
    side = _side_for(by, proposal.agreement, acting_for, missing=missing)
    _refuse_unless_open(proposal)
    if getattr(proposal, f"{side}_signed_by_id"):
        raise RuleRefused(
            f"already_signed: {side} has already accepted proposal {proposal.pk}; the other "
            "side's manager signs next.",
            rule="already_signed",
        )
    setattr(proposal, f"{side}_signed_by", by)
    setattr(proposal, f"{side}_signed_at", now)
    setattr(proposal, f"{side}_signed_as_admin", bool(_acting_for(by, side)))
    if all(getattr(proposal, f"{s}_signed_by_id") for s in SIDES):
        proposal.state = Proposal.State.ACCEPTED
    proposal.save()
    event = _event(
        proposal,
        ProposalEvent.Kind.ACCEPTED,
        by=by,
        side=side,
        acting_for=_acting_for(by, side),
        at=now,
    )
    _notify(proposal, event)
    if proposal.state == Proposal.State.ACCEPTED:
        proposals_apply_due(at=now, agreement=proposal.agreement)
        proposal.refresh_from_db()
    return proposal


@transaction.atomic
def proposal_reject(
    *, proposal: Proposal, by: User, reason: str, now: datetime, acting_for: str | None = None
) -> Proposal:
    """Either side refuses the proposal, saying why; it measures nothing, ever."""
    proposal = Proposal.objects.select_for_update().select_related("agreement").get(pk=proposal.pk)
    side = _side_for(by, proposal.agreement, acting_for, missing=_other(proposal.side))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the proposal is rejected."})
    _refuse_unless_open(proposal)
    proposal.state = Proposal.State.REJECTED
    proposal.rejected_by, proposal.rejected_at, proposal.reject_reason = by, now, reason
    proposal.save()
    event = _event(
        proposal,
        ProposalEvent.Kind.REJECTED,
        by=by,
        side=side,
        acting_for=_acting_for(by, side),
        at=now,
        note=reason,
    )
    _notify(proposal, event)
    return proposal


def _other(side: str) -> str:
    return Proposal.Side.SALES if side == Proposal.Side.MARKETING else Proposal.Side.MARKETING


def proposals_apply_due(*, at: datetime, agreement: Agreement | None = None) -> list[Proposal]:
    """Apply the accepted proposals whose first day has come: each becomes the agreement's
    next version, dated local midnight of its `effective_from` (the checks call this every
    pass; acceptance calls it at once). Idempotent: an applied proposal is skipped."""
    waiting = Proposal.objects.filter(state=Proposal.State.ACCEPTED, version_made__isnull=True)
    if agreement is not None:
        waiting = waiting.filter(agreement=agreement)
    applied = []
    for proposal in waiting.select_related("agreement__calendar").order_by("effective_from", "id"):
        starts = effective_instant(proposal.agreement, proposal.effective_from)
        if starts > at:
            continue
        applied.append(_apply(proposal.pk, starts=starts, at=at))
    return [p for p in applied if p is not None]


@transaction.atomic
def _apply(proposal_id: int, *, starts: datetime, at: datetime) -> Proposal | None:
    proposal = Proposal.objects.select_for_update().select_related("agreement").get(pk=proposal_id)
    if proposal.version_made is not None or proposal.state != Proposal.State.ACCEPTED:
        return None  # another pass applied it
    changes = dict(proposal.changes)
    if "definition" in changes:
        changes["definition"] = LeadDefinition.objects.get(pk=changes["definition"])
    # The version is dated when it takes effect; the sales signatory is its author.
    agreement = agreement_update(
        agreement=proposal.agreement,
        by=proposal.sales_signed_by or proposal.proposed_by,
        now=starts,
        **changes,
    )
    proposal.version_made, proposal.applied_at = agreement.version, at
    proposal.save(update_fields=["version_made", "applied_at"])
    event = _event(
        proposal,
        ProposalEvent.Kind.IN_EFFECT,
        by=None,
        side="",
        acting_for="",
        at=at,
        note=f"In effect from {proposal.effective_from:%Y-%m-%d} as version {agreement.version}.",
    )
    _notify(proposal, event)
    return proposal


# --- who signed which version ---------------------------------------------------------------


def signatures_by_version(agreement: Agreement) -> dict[int, Proposal]:
    """{version: the proposal that made it}, for the terms page (one query)."""
    return {
        p.version_made: p
        for p in Proposal.objects.filter(agreement=agreement, version_made__isnull=False)
        .select_related("marketing_signed_by", "sales_signed_by")
        .order_by("version_made")
    }


# --- notifying both sides -------------------------------------------------------------------

SUBJECTS = {
    ProposalEvent.Kind.PROPOSED: "New proposal on {agreement}",
    ProposalEvent.Kind.ACCEPTED: "Proposal on {agreement} accepted by {side}",
    ProposalEvent.Kind.REJECTED: "Proposal on {agreement} rejected by {side}",
    ProposalEvent.Kind.IN_EFFECT: "Proposal on {agreement} is in effect",
}


def _notify(proposal: Proposal, event: ProposalEvent) -> int:
    """One e-mail outbox row per manager of both sides (keys unique per event and person)."""
    agreement = proposal.agreement
    managers = User.objects.filter(is_active=True).exclude(email="")
    managers = managers.filter(
        teams__id=agreement.marketing_team_id, role=Role.MARKETING
    ) | managers.filter(teams__id=agreement.sales_team_id, role=Role.SALES_MANAGER)
    subject = SUBJECTS[event.kind].format(agreement=agreement.name, side=event.side or "both")
    who = event.by.username if event.by else "slaops"
    body = (
        f"{subject}.\n\nProposal {proposal.pk} ({proposal.get_state_display()}), from "
        f"{proposal.effective_from.isoformat()}: {proposal.note}\n"
        f"{event.get_kind_display()} by {who}"
        + (f" for {event.acting_for}" if event.acting_for else "")
        + (f": {event.note}" if event.note and event.kind != "proposed" else ".")
    )
    rows = [
        Notification(
            key=f"proposal:{proposal.pk}:event:{event.pk}:user:{user.pk}",
            channel=Notification.Channel.EMAIL,
            recipient=user,
            address=user.email,
            subject=subject[:300],
            body=body,
            not_before=event.at,
            created_at=event.at,
        )
        for user in managers.distinct()
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
