"""The Integrations page (admin role): webhook endpoints with their delivery logs and a
test button, and event sources; a secret is shown once, on the page after it is made."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from core.permissions import is_admin
from integrations.models import EVENT_TYPES, EventSource, WebhookDelivery, WebhookEndpoint
from integrations.services import (
    PREVIOUS_SECRET_VALID,
    endpoint_create,
    endpoint_test,
    endpoint_update,
    secret_rotate,
    source_create,
)
from sla.models import Agreement

LOG_ROWS = 100


class EndpointForm(forms.Form):
    url = forms.CharField(label="URL", max_length=500, help_text="https://, a public address.")
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=EVENT_TYPES,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        initial=[],
    )


class SourceForm(forms.Form):
    name = forms.CharField(max_length=100)
    agreement = forms.ModelChoiceField(
        queryset=Agreement.objects.order_by("name"),
        required=False,
        help_text="Where its new leads go (a lead may name another).",
    )
    user = forms.ModelChoiceField(
        label="Recorded as",
        queryset=User.objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        help_text="Stage moves and leads are recorded as by this user; touches as by the "
        "lead's owner.",
    )


def _admin(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied("Only the admin role manages integrations.")


def _page(request, *, endpoint_form=None, source_form=None, status=200):
    return render(
        request,
        "integrations/integrations.html",
        {
            "endpoints": WebhookEndpoint.objects.all(),
            "sources": EventSource.objects.select_related("agreement", "user"),
            "endpoint_form": endpoint_form or EndpointForm(),
            "source_form": source_form or SourceForm(),
        },
        status=status,
    )


def _secret_page(request, *, what: str, name: str, secret: str, back: str, rotated: bool):
    return render(
        request,
        "integrations/secret.html",
        {
            "what": what,
            "name": name,
            "secret": secret,
            "back": back,
            "rotated": rotated,
            "previous_hours": int(PREVIOUS_SECRET_VALID.total_seconds() // 3600),
        },
    )


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def integrations_home(request):
    _admin(request)
    return _page(request)


@login_required
@require_POST
def endpoint_new(request):
    _admin(request)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = endpoint_create(
                **form.cleaned_data, by=request.user, at=timezone.now()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return _secret_page(
                request,
                what="webhook endpoint",
                name=endpoint.url,
                secret=secret,
                back=reverse("integrations-endpoint", args=[endpoint.pk]),
                rotated=False,
            )
    return _page(request, endpoint_form=form, status=400)


@login_required
def endpoint_detail(request, pk: int):
    _admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    log = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")[:LOG_ROWS]
    return render(request, "integrations/endpoint_detail.html", {"endpoint": endpoint, "log": log})


@login_required
@require_POST
def endpoint_send_test(request, pk: int):
    _admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    delivery = endpoint_test(endpoint=endpoint, by=request.user, at=timezone.now())
    if delivery.state == WebhookDelivery.State.DELIVERED:
        messages.success(request, f"Test event delivered (HTTP {delivery.last_status_code}).")
    else:
        messages.warning(request, f"Test event not delivered: {delivery.last_error}.")
    return redirect("integrations-endpoint", pk=pk)


@login_required
@require_POST
def endpoint_rotate(request, pk: int):
    _admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    secret = secret_rotate(owner=endpoint, at=timezone.now())
    return _secret_page(
        request,
        what="webhook endpoint",
        name=endpoint.url,
        secret=secret,
        back=reverse("integrations-endpoint", args=[endpoint.pk]),
        rotated=True,
    )


@login_required
@require_POST
def endpoint_toggle(request, pk: int):
    _admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    endpoint_update(endpoint=endpoint, changes={"active": not endpoint.active}, at=timezone.now())
    messages.success(request, f"{'Enabled' if endpoint.active else 'Disabled'} {endpoint.url}.")
    return redirect("integrations-endpoint", pk=pk)


@login_required
@require_POST
def source_new(request):
    _admin(request)
    form = SourceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            source, secret = source_create(
                name=data["name"], agreement=data["agreement"], user=data["user"], at=timezone.now()
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            return _secret_page(
                request,
                what="event source",
                name=source.name,
                secret=secret,
                back=reverse("integrations"),
                rotated=False,
            )
    return _page(request, source_form=form, status=400)


@login_required
@require_POST
def source_rotate(request, pk: int):
    _admin(request)
    source = get_object_or_404(EventSource, pk=pk)
    secret = secret_rotate(owner=source, at=timezone.now())
    return _secret_page(
        request,
        what="event source",
        name=source.name,
        secret=secret,
        back=reverse("integrations"),
        rotated=True,
    )


@login_required
@require_POST
def source_toggle(request, pk: int):
    _admin(request)
    source = get_object_or_404(EventSource, pk=pk)
    source.active = not source.active
    source.save(update_fields=["active"])
    messages.success(request, f"{'Enabled' if source.active else 'Disabled'} {source.name}.")
    return redirect("integrations")
