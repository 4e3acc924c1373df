"""Pages of the negotiated agreement: its proposals (list, propose, compare, sign) and the
dispute panel of a rejected lead. Each form calls the same service as the API
(sla/proposals.py, sla/disputes.py); a refusal comes back as a message in words and
changes nothing."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from calendars.months import month_of
from core.errors import RuleRefused
from core.timeparse import month_add
from leads.models import Lead, LeadDefinition
from sla.api.agreements import AgreementMarketingTermsSerializer, AgreementSalesTermsSerializer
from sla.disputes import (
    dispute_body,
    dispute_open,
    dispute_refusal,
    dispute_rule,
    may_dispute,
    may_rule,
)
from sla.models import Agreement, Dispute, Proposal
from sla.proposals import (
    SIDES,
    managed_sides,
    proposal_accept,
    proposal_create,
    proposal_reject,
    proposal_terms,
)
from sla.selectors import agreements_visible_to
from sla.tallies import dispute_window_ends
from sla.views.agreements import MARKETING_TERMS, SALES_TERMS
from sla.views.leads import visible_lead
from sla.whatif import whatif

# The numbers a proposal may change on the form, with their labels, side by side.
NUMBERS = {
    "sales": [(name, label) for name, label, _ in SALES_TERMS],
    "marketing": [
        *((name, label) for name, label, _ in MARKETING_TERMS),
        ("close_grace_business_days", "Business days of grace before a month's books close"),
        ("duplicate_window_days", "Days a repeated e-mail counts as a duplicate"),
        ("dispute_window_business_days", "Business days marketing may dispute a rejection"),
    ],
}
LABELS = {name: label for rows in NUMBERS.values() for name, label in rows}
LABELS.update({"tiers": "Tiers", "definition": "Lead definition"})


def _agreement(request, pk) -> Agreement:
    return get_object_or_404(
        agreements_visible_to(request.user).select_related(
            "calendar", "definition", "marketing_team", "sales_team"
        ),
        pk=pk,
    )


def _words(error) -> list[str]:
    """A service's refusal as sentences naming the field."""
    if isinstance(error, RuleRefused):
        return [error.message]
    if isinstance(error, PermissionDenied):
        return [str(error) or "You may not do this."]
    if hasattr(error, "error_dict"):
        found = []
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                found.append(f"{LABELS.get(field, field.replace('_', ' '))}: {message}")
        return found
    return [" ".join(error.messages)]


def _nested_words(errors: dict) -> list[str]:
    return [
        f"{LABELS.get(field, field)}: {' '.join(str(m) for m in messages_)}"
        for field, messages_ in errors.items()
    ]


def _firsts(agreement: Agreement, now) -> list[date]:
    """The effective dates offered: the first of each of the next twelve months."""
    year, month = month_of(agreement.calendar.as_work_calendar(), now)
    today = now.astimezone(ZoneInfo(agreement.calendar.timezone)).date()
    firsts = []
    for step in range(0, 13):
        first = date(*month_add(year, month, step), 1)
        if first >= today:
            firsts.append(first)
    return firsts[:12]


def _definitions(agreement: Agreement):
    return LeadDefinition.objects.filter(team=agreement.marketing_team_id) | (
        LeadDefinition.objects.filter(pk=agreement.definition_id)
    )


def _changes_rows(proposal: Proposal, agreement: Agreement) -> list[dict]:
    rows = []
    names = {}
    if "definition" in proposal.changes:
        names = {
            d.pk: str(d) for d in LeadDefinition.objects.filter(pk=proposal.changes["definition"])
        }
    for name, value in proposal.changes.items():
        if name == "definition":
            current, proposed = str(agreement.definition), names.get(value, f"#{value}")
        elif name == "tiers":
            current = json.dumps(agreement.tiers, ensure_ascii=False)
            proposed = json.dumps(value, ensure_ascii=False)
        else:
            current, proposed = getattr(agreement, name), value
        rows.append({"label": LABELS.get(name, name), "current": current, "proposed": proposed})
    return rows


@login_required
def proposal_list(request, pk: int):
    agreement = _agreement(request, pk)
    proposals = (
        Proposal.objects.filter(agreement=agreement)
        .select_related("proposed_by", "marketing_signed_by", "sales_signed_by", "rejected_by")
        .order_by("-proposed_at", "-id")
    )
    context = {
        "agreement": agreement,
        "proposals": proposals,
        "may_propose": bool(managed_sides(request.user, agreement)),
        "zone": agreement.calendar.timezone,
    }
    return render(request, "sla/proposals/list.html", context)


def _form_changes(request, agreement: Agreement) -> tuple[dict, list[str]]:
    """The terms the form changes (fields left as they are change nothing), and errors."""
    errors: list[str] = []
    sides = {}
    for side, serializer in (
        ("sales", AgreementSalesTermsSerializer),
        ("marketing", AgreementMarketingTermsSerializer),
    ):
        given = {}
        for name, _ in NUMBERS[side]:
            raw = request.POST.get(name, "").strip()
            if raw != "" and raw != str(getattr(agreement, name)):
                given[name] = raw
        if side == "sales":
            raw = request.POST.get("tiers", "").strip() or "[]"
            try:
                tiers = json.loads(raw)
            except json.JSONDecodeError as error:
                errors.append(f"Tiers: not JSON ({error.msg}, line {error.lineno}).")
                tiers = agreement.tiers
            if tiers != agreement.tiers:
                given["tiers"] = tiers
        body = serializer(data=given)
        if not body.is_valid():
            errors += _nested_words(body.errors)
        sides[side] = body.validated_data if not body.errors else {}
    changes = {**sides["sales"], **sides["marketing"]}
    definition = request.POST.get("definition", "")
    if definition and definition != str(agreement.definition_id):
        try:
            changes["definition"] = int(definition)
        except ValueError:
            errors.append("Lead definition: choose one of the list.")
    return changes, errors


@login_required
def proposal_new(request, pk: int):
    agreement = _agreement(request, pk)
    sides = managed_sides(request.user, agreement)
    if not sides:
        raise PermissionDenied("Only the managers of the agreement's teams, or an admin, propose.")
    now = timezone.now()
    counters = None
    counters_id = request.POST.get("counters") or request.GET.get("counters")
    if counters_id:
        counters = get_object_or_404(Proposal, agreement=agreement, pk=counters_id, state="open")
    errors: list[str] = []
    if request.method == "POST":
        changes, errors = _form_changes(request, agreement)
        try:
            effective_from = date.fromisoformat(request.POST.get("effective_from", ""))
        except ValueError:
            errors.append("Effective from: choose the first of a month.")
        if not errors:
            try:
                proposal = proposal_create(
                    agreement=agreement,
                    by=request.user,
                    note=request.POST.get("note", ""),
                    effective_from=effective_from,
                    changes=changes,
                    acting_for=request.POST.get("acting_for") or None,
                    counters=counters,
                    now=now,
                )
            except (ValidationError, RuleRefused, PermissionDenied) as error:
                errors = _words(error)
            else:
                messages.success(request, "Proposed: the other side's manager signs next.")
                return redirect("proposal-detail", pk=agreement.pk, pid=proposal.pk)
    base = proposal_terms(counters) if counters else agreement
    values = {
        name: request.POST.get(name, getattr(base, name))
        for rows in NUMBERS.values()
        for name, _ in rows
    }
    context = {
        "agreement": agreement,
        "counters": counters,
        "errors": errors,
        "sales_rows": [(n, label, values[n]) for n, label in NUMBERS["sales"]],
        "marketing_rows": [(n, label, values[n]) for n, label in NUMBERS["marketing"]],
        "tiers": request.POST.get("tiers", json.dumps(base.tiers, indent=2, ensure_ascii=False)),
        "definitions": _definitions(agreement),
        "definition": int(request.POST.get("definition") or base.definition_id),
        "firsts": _firsts(agreement, now),
        "effective_from": request.POST.get("effective_from", ""),
        "note": request.POST.get("note", ""),
        "acting_for_choices": SIDES if len(sides) > 1 else (),
    }
    return render(request, "sla/proposals/form.html", context, status=400 if errors else 200)


@login_required
def proposal_detail(request, pk: int, pid: int):
    agreement = _agreement(request, pk)
    proposal = get_object_or_404(
        Proposal.objects.select_related(
            "proposed_by", "marketing_signed_by", "sales_signed_by", "rejected_by", "counters"
        ).prefetch_related("events__by"),
        agreement=agreement,
        pk=pid,
    )
    now = timezone.now()
    sides = managed_sides(request.user, agreement)
    unsigned = [s for s in SIDES if not getattr(proposal, f"{s}_signed_by_id")]
    is_open = proposal.state == Proposal.State.OPEN
    body = whatif(agreement=agreement, candidate=proposal_terms(proposal), months=3, at=now)
    context = {
        "agreement": agreement,
        "proposal": proposal,
        "changes": _changes_rows(proposal, agreement),
        "months": body["months"],
        "may_accept": is_open and bool(set(unsigned) & sides),
        "may_reject": is_open and bool(sides),
        "may_counter": is_open and bool(sides),
        "zone": agreement.calendar.timezone,
        "countered_by": proposal.countered_by.first(),
    }
    return render(request, "sla/proposals/detail.html", context)


def _signed_step(request, pk: int, pid: int, step) -> object:
    agreement = _agreement(request, pk)
    proposal = get_object_or_404(Proposal, agreement=agreement, pk=pid)
    try:
        step(proposal)
    except (ValidationError, RuleRefused, PermissionDenied) as error:
        for text in _words(error):
            messages.error(request, text)
    return redirect("proposal-detail", pk=agreement.pk, pid=proposal.pk)


@login_required
@require_POST
def proposal_accept_view(request, pk: int, pid: int):
    def accept(proposal):
        proposal = proposal_accept(
            proposal=proposal,
            by=request.user,
            acting_for=request.POST.get("acting_for") or None,
            now=timezone.now(),
        )
        messages.success(
            request,
            "Accepted by both sides." if proposal.state == "accepted" else "Accepted.",
        )

    return _signed_step(request, pk, pid, accept)


@login_required
@require_POST
def proposal_reject_view(request, pk: int, pid: int):
    def reject(proposal):
        proposal_reject(
            proposal=proposal,
            by=request.user,
            reason=request.POST.get("reason", ""),
            acting_for=request.POST.get("acting_for") or None,
            now=timezone.now(),
        )
        messages.success(request, "Rejected: it measures nothing.")

    return _signed_step(request, pk, pid, reject)


# --- the lead page's dispute panel -----------------------------------------------------------


@login_required
def lead_dispute_panel(request, pk: int):
    """The dispute panel of a lead's page, loaded into it (sla/_dispute.html)."""
    lead = visible_lead(request, pk)
    terms = getattr(lead, "terms", None)
    agreement = terms.agreement if terms else None
    dispute = Dispute.objects.filter(lead=lead).select_related("opened_by", "ruled_by").first()
    now = timezone.now()
    context = {"lead": lead, "dispute": dispute_body(dispute), "zone": "UTC", "now": now}
    if agreement is not None and lead.verdict == Lead.Verdict.REJECTED:
        context["zone"] = agreement.calendar.timezone
        context["may_dispute"] = (
            may_dispute(request.user, agreement)
            and dispute_refusal(lead=lead, agreement=agreement, now=now) is None
        )
        if lead.verdict_at:
            context["window_ends"] = dispute_window_ends(agreement, lead.verdict_at)
        context["may_rule"] = dispute is not None and dispute.state == "open"
        context["may_rule"] = context["may_rule"] and may_rule(request.user, lead)
    return render(request, "sla/_dispute.html", context)


def _lead_step(request, pk: int, step):
    lead = visible_lead(request, pk)
    try:
        step(lead)
    except (ValidationError, RuleRefused, PermissionDenied) as error:
        for text in _words(error):
            messages.error(request, text)
    return redirect(reverse("lead-detail", args=[lead.pk]))


@login_required
@require_POST
def lead_dispute_view(request, pk: int):
    def open_(lead):
        dispute_open(
            lead=lead, by=request.user, note=request.POST.get("note", ""), now=timezone.now()
        )
        messages.success(request, "Disputed: a sales manager of the team rules on it.")

    return _lead_step(request, pk, open_)


@login_required
@require_POST
def lead_dispute_ruling_view(request, pk: int):
    def ruling(lead):
        dispute = dispute_rule(
            lead=lead,
            by=request.user,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            now=timezone.now(),
        )
        messages.success(request, f"Ruled: the rejection is {dispute.state}.")

    return _lead_step(request, pk, ruling)
