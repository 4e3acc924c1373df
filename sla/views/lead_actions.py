"""One small view per action on a lead's page, each calling the same action as the API.

A refused action comes back as a message in words, and changes nothing. An inbox row's
htmx request is answered with the row rendered again, the counts out of band and a
toast; a plain form with a redirect to the lead's page.

A form posted after the session expired is not lost: it is kept in the (new, anonymous)
session and the login sends the person back to the lead's page (an htmx request: to
the page it came from), where the form is filled in again as it was typed.
"""

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import may_act_on_lead
from core.errors import RuleRefused
from core.timeparse import instant_field, local_text
from sla import actions, callbacks
from sla.views.leads import DRAFT_KEY, inbox_row_response, visible_lead

# How a field the services name reads on the page.
FIELD_WORDS = {
    "kind": "Kind",
    "outcome": "Outcome",
    "at": "Time",
    "note": "Note",
    "reason": "Reason",
    "stage": "Stage",
    "owner": "Owner",
}
# The rules a refusal names by code, in words.
RULE_WORDS = {
    "attempts_before_abandon": "Too few attempts to abandon the lead",
    "max_callback_business_days": "Callback too far ahead",
    "max_callbacks": "Too many callbacks",
    "clock_breached": "Too late for a callback",
    "lead_closed": "The lead is closed",
    "lead_not_qualified": "No clock to pause",
}
RULE_CODE = re.compile(r"^([a-z]+(?:_[a-z]+)+): (.*)$", re.DOTALL)
# The fields a form may bring back after a login (never the CSRF token).
DRAFT_FIELDS = ("kind", "outcome", "note", "reason", "stage", "owner", "override", "at")


def describe(error: Exception) -> str:
    """A refused action as a sentence for the page: fields and rules named in words."""
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        parts = []
        for field, msgs in error.message_dict.items():
            text = " ".join(msgs)
            label = FIELD_WORDS.get(field, field.replace("_", " ").capitalize())
            parts.append(text if field == "__all__" else f"{label}: {text}")
        return "; ".join(parts)
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    text = str(error) or "Not allowed."
    match = RULE_CODE.match(text)
    if match:
        code, rest = match.groups()
        words = RULE_WORDS.get(code, code.replace("_", " ").capitalize())
        return f"{words}: {rest}"
    return text


def toast(response: HttpResponse, text: str, level: str) -> HttpResponse:
    response["HX-Trigger"] = json.dumps({"toast": {"text": text, "level": level}})
    return response


def session_expired(request, pk: int, action: str):
    """Keep what was posted, and send the person to log in and come back to it."""
    fields = {name: request.POST[name] for name in DRAFT_FIELDS if name in request.POST}
    request.session[DRAFT_KEY] = {"lead": pk, "action": action, "fields": fields}
    lead_page = reverse("lead-detail", args=[pk])
    if request.htmx:
        # Not the login page swapped into a row: the whole page goes to the login.
        back = request.htmx.current_url_abs_path or lead_page
        return HttpResponseClientRedirect(redirect_to_login(back).url)
    messages.info(
        request,
        f"Your session had expired, so the {action} was not saved. "
        "Log in again: the form comes back as you filled it in.",
    )
    return redirect_to_login(lead_page)


def lead_action(needed: str = "touch"):
    """Wrap `run(request, lead, now) -> message` as a POST view on a visible lead."""

    def decorate(run):
        action = run.__name__.removeprefix("lead_")

        @require_POST
        def view(request, pk: int):
            if not request.user.is_authenticated:
                return session_expired(request, pk, action)
            lead = visible_lead(request, pk)
            if not may_act_on_lead(request.user, lead, action=needed):
                raise PermissionDenied
            now = timezone.now()
            try:
                done, level = run(request, lead, now), "success"
            except (ValidationError, RuleRefused, PermissionDenied) as error:
                done, level = describe(error), "danger"
            if request.htmx and "inbox_query" in request.POST:
                return toast(HttpResponse(inbox_row_response(request, lead, now=now)), done, level)
            (messages.success if level == "success" else messages.error)(request, done)
            if request.htmx:
                return HttpResponseClientRedirect(reverse("lead-detail", args=[lead.pk]))
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


def local_instant(text: str, zone: str) -> datetime:
    """A form's time: an ISO instant with its offset, or a wall time (what a
    `datetime-local` input sends) read in `zone`. ValidationError naming `at` otherwise."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"at": "Say when the prospect asked to be contacted."})
    try:
        wall = datetime.fromisoformat(text)
    except ValueError:
        wall = None
    if wall is None or wall.tzinfo is not None:
        return instant_field(text)
    # Through the one parser again, for its range of years.
    return instant_field(wall.replace(tzinfo=ZoneInfo(zone)).isoformat())


def form_zone(name: str) -> str:
    """The zone a form's wall times are in (the viewer's, sent with the form), else UTC."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


@lead_action(needed="callback")
def lead_callback(request, lead, now):
    """The prospect asked to be contacted later: pause the clock until then."""
    form = request.POST
    zone = form_zone(form.get("zone") or "UTC")
    callback = callbacks.lead_callback(
        lead=lead,
        by=request.user,
        at=local_instant(form.get("at", ""), zone),
        note=form.get("note", ""),
        now=now,
    )
    approved = " (beyond the agreement's limits: approved by you)" if callback.approved_by else ""
    return f"Callback set for {local_text(callback.at, zone)}{approved}."


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
