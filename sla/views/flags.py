"""The flags page: every missed or threatened promise the viewer may see, and resolving one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import may_resolve_flag
from core.errors import RuleRefused
from sla.filters import FlagFilter
from sla.flags import flag_resolve
from sla.models import Flag
from sla.selectors import flags_visible_to


@login_required
def flag_list(request):
    flags = flags_visible_to(request.user).select_related(
        "lead", "owner", "agreement__calendar", "resolved_by"
    )
    params = request.GET.copy()
    params.setdefault("state", Flag.State.OPEN)  # the page opens on what needs action
    shown = params.copy()
    if shown.get("state") == "all":  # "Any" state: no state filter
        shown.pop("state")
    filterset = FlagFilter(shown, queryset=flags, request=request)
    flags = filterset.qs if filterset.is_valid() else flags.none()
    filters = {name: params.get(name, "") for name in ("kind", "state", "month")}
    page = Paginator(flags.order_by("-raised_at", "-id"), 50).get_page(request.GET.get("page"))
    for flag in page.object_list:
        flag.resolvable = flag.state == Flag.State.OPEN and may_resolve_flag(request.user, flag)
    return render(
        request,
        "sla/flag_list.html",
        {
            "page": page,
            "filters": filters,
            "kinds": Flag.Kind.choices,
            "states": Flag.State.choices,
            "errors": filterset.errors,
        },
    )


def back_to(request) -> str:
    """The page the form was on (its `next`), if it is ours; else the flags page."""
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return reverse("flag-list")


@require_POST
def flag_resolve_view(request, pk: int):
    if not request.user.is_authenticated:
        # After the login, back to the page of the form, not to this POST-only address.
        messages.info(request, "Your session had expired, so the flag was not resolved.")
        return redirect_to_login(back_to(request))
    flag = get_object_or_404(flags_visible_to(request.user), pk=pk)
    if not may_resolve_flag(request.user, flag):
        raise PermissionDenied
    try:
        flag_resolve(
            flag=flag, by=request.user, note=request.POST.get("note", ""), at=timezone.now()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except RuleRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Resolved: {flag.get_kind_display()}.")
    return redirect(back_to(request))
