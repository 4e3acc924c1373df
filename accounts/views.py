"""The person's own settings page: their time zone and how each kind of flag reaches them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.forms import PersonSettingsForm, zone_names


@login_required
def person_settings(request):
    form = PersonSettingsForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your settings are saved.")
        return redirect("person-settings")
    status = 400 if form.is_bound else 200
    context = {"form": form, "zones": zone_names(), "now": timezone.now()}
    return render(request, "accounts/settings.html", context, status=status)
