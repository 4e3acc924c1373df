"""`/leads/new/`: marketing delivers one lead by hand.

The form checks the shapes `POST /api/leads/` checks, then calls the same delivery
action (`sla.actions.lead_deliver`, a batch of one through `sla.delivery`), so a lead
typed here is scored, assigned and clocked exactly like one the API receives.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.access import may_import
from core.errors import RuleRefused
from core.htmx import login_required_htmx
from leads.csvfile import MAX_INT, attributes_json
from leads.selectors import leads_visible_to
from sla.actions import lead_deliver
from sla.selectors import agreements_visible_to

TEXT_FIELDS = ("first_name", "last_name", "company", "title", "country", "source", "external_id")


def viewer_zone_name(user, agreements) -> str:
    """The zone a typed wall time is read in: the person's own, else the calendar zone
    their agreements share (as `{% when %}` shows instants), else UTC."""
    chosen = getattr(user, "time_zone", "") or ""
    if not chosen:
        zones = set(agreements.values_list("calendar__timezone", flat=True))
        chosen = zones.pop() if len(zones) == 1 else "UTC"
    try:
        ZoneInfo(chosen)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return chosen


class LeadForm(forms.Form):
    """The body of `POST /api/leads/` (owner and team are the admins' API-only choices)."""

    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=200, required=False)
    title = forms.CharField(max_length=200, required=False)
    country = forms.CharField(max_length=100, required=False)
    company_size = forms.IntegerField(min_value=0, max_value=MAX_INT, required=False)
    source = forms.CharField(max_length=100, required=False)
    external_id = forms.CharField(max_length=200, required=False)
    received_at = forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    agreement = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="The one in effect"
    )
    attributes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        agreements = agreements_visible_to(user).order_by("name")
        self.zone = viewer_zone_name(user, agreements)
        self.fields["agreement"].queryset = agreements
        self.fields["agreement"].error_messages["invalid_choice"] = "Choose one of your agreements."
        self.fields["email"].error_messages["required"] = "An email address is required."
        self.fields["received_at"].error_messages["invalid"] = (
            "Give a date and time, such as 2026-12-04 16:30."
        )

    def styled(self) -> LeadForm:
        """Bootstrap classes, and each refused box marked and tied to its message."""
        for name, field in self.fields.items():
            css = "form-select" if name == "agreement" else "form-control"
            attrs = field.widget.attrs
            attrs["class"] = css + (" is-invalid" if name in self.errors else "")
            if name in self.errors:
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{name}-error"
        return self

    def clean_received_at(self):
        value = self.cleaned_data.get("received_at")
        if value is None:
            return None
        # A wall time typed in the page, read in the zone the page names beside the box.
        wall = value.replace(tzinfo=None) if timezone.is_aware(value) else value
        return wall.replace(tzinfo=ZoneInfo(self.zone))

    def clean_attributes(self):
        try:
            return attributes_json(self.cleaned_data.get("attributes", "").strip())
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def body(self) -> tuple[dict, object]:
        """(the lead body `lead_deliver` takes, the agreement chosen or None)."""
        data = dict(self.cleaned_data)
        agreement = data.pop("agreement")
        body = {"email": data["email"], "attributes": data["attributes"]}
        body.update({name: data[name] for name in TEXT_FIELDS if data.get(name)})
        if data.get("company_size") is not None:
            body["company_size"] = data["company_size"]
        if data.get("received_at") is not None:
            body["received_at"] = data["received_at"]
        return body, agreement


def _deliver(form: LeadForm, user, now: datetime):
    """Deliver the form's lead; the service's refusals land beside their fields."""
    body, agreement = form.body()
    try:
        with transaction.atomic():
            lead, created = lead_deliver(by=user, data=body, agreement=agreement, now=now)
    except ValidationError as exc:
        for name, texts in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, " ".join(texts))
        return None, False
    except RuleRefused as refused:  # received in a closed month
        field = "received_at" if "received_at" in form.fields else None
        form.add_error(field, refused.message.split(": ", 1)[-1])
        return None, False
    if not created and not leads_visible_to(user).filter(pk=lead.pk).exists():
        form.add_error("external_id", "This external_id belongs to another team's lead.")
        return None, False
    return lead, created


@login_required_htmx
def lead_new(request):
    if not may_import(request.user):
        raise PermissionDenied
    form = LeadForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        lead, created = _deliver(form, request.user, timezone.now())
        if lead is not None:
            if created:
                verdict = "qualifies" if lead.qualifies else "does not qualify"
                owner = f", assigned to {lead.owner.username}" if lead.owner_id else ""
                messages.success(
                    request, f"Lead {lead.email} delivered: score {lead.score}, {verdict}{owner}."
                )
            else:
                messages.info(
                    request,
                    f"This lead was delivered before (external_id {lead.external_id}): "
                    "here it is, unchanged.",
                )
            return redirect("lead-detail", pk=lead.pk)
    return render(
        request,
        "leads/lead_form.html",
        {"form": form.styled(), "zone": form.zone},
        status=400 if form.is_bound and form.errors else 200,
    )
