"""One small view per action on a lead's page, each calling the same action as the API.

A refused action comes back as a message naming the rule, and changes nothing.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import may_act_on_lead
from core.errors import RuleRefused
from core.htmx import login_required_htmx
from core.timeparse import instant_field
from sla import actions
from sla.views.leads import visible_lead


def describe(error: Exception) -> str:
    """A refused action as a sentence for the page."""
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "Not allowed."


def lead_action(needed: str = "touch"):
    """Wrap `run(request, lead, now) -> message` as a POST view on a visible lead."""

    def decorate(run):
        @require_POST
        @login_required_htmx
        def view(request, pk: int):
            lead = visible_lead(request, pk)
            if not may_act_on_lead(request.user, lead, action=needed):
                raise PermissionDenied
            try:
                done = run(request, lead, timezone.now())
            except (ValidationError, RuleRefused, PermissionDenied) as error:
                messages.error(request, describe(error))
            else:
                messages.success(request, done)
            return redirect("lead-detail", pk=lead.pk)

        view.__name__ = view.__qualname__ = run.__name__
        view.__doc__ = run.__doc__
        return view

    return decorate


@lead_action()
def lead_touch(request, lead, now):
    """Log a contact attempt."""
    form = request.POST
    at = instant_field(form["at"]) if form.get("at") else None
    actions.lead_touch(
        lead=lead,
        by=request.user,
        kind=form.get("kind", ""),
        outcome=form.get("outcome", ""),
        at=at,
        note=form.get("note", ""),
        now=now,
    )
    return "Touch logged."


@lead_action()
def lead_acknowledge(request, lead, now):
    actions.lead_acknowledge(lead=lead, by=request.user, now=now)
    return "Lead accepted."


@lead_action()
def lead_reject(request, lead, now):
    form = request.POST
    actions.lead_reject(
        lead=lead,
        by=request.user,
        reason=form.get("reason", ""),
        note=form.get("note", ""),
        now=now,
    )
    return "Lead rejected."


@lead_action()
def lead_stage(request, lead, now):
    form = request.POST
    actions.lead_move_stage(
        lead=lead, by=request.user, stage=form.get("stage", ""), note=form.get("note", ""), now=now
    )
    return "Stage changed."


@lead_action(needed="assign")
def lead_assign(request, lead, now):
    owner = request.POST.get("owner", "")
    actions.lead_assign(lead=lead, by=request.user, owner=owner, now=now)
    return f"Assigned to {owner}."


@lead_action()
def lead_abandon(request, lead, now):
    form = request.POST
    actions.lead_abandon(
        lead=lead,
        by=request.user,
        reason=form.get("reason", ""),
        note=form.get("note", ""),
        override=form.get("override") == "1",
        now=now,
    )
    return "Lead abandoned."
