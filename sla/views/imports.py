"""The import pages: upload a CSV to import as a job, and watch its progress.

The same service as `POST /api/imports/` (sla/imports.py); the progress part of the page
refreshes itself through htmx while the job runs.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.access import is_admin, may_import
from core.htmx import login_required_htmx
from sla.imports import import_cancel, import_start
from sla.models import ImportJob
from sla.selectors import agreements_visible_to


def _jobs(user):
    jobs = ImportJob.objects.select_related("agreement", "created_by")
    return jobs if is_admin(user) else jobs.filter(created_by=user)


@login_required_htmx
def import_list(request):
    if not may_import(request.user):
        raise PermissionDenied
    agreements = agreements_visible_to(request.user).order_by("name")
    form = {"agreement": "", "partial": False}
    errors: dict = {}
    if request.method == "POST":
        form = {
            "agreement": request.POST.get("agreement", ""),
            "partial": request.POST.get("partial") == "1",
        }
        upload = request.FILES.get("file")
        agreement = agreements.filter(pk=form["agreement"]).first() if form["agreement"] else None
        if form["agreement"] and agreement is None:
            errors["agreement"] = ["Choose one of your agreements."]
        if upload is None:
            errors["file"] = ["Choose a CSV file to import."]
        if not errors:
            try:
                job = import_start(
                    by=request.user,
                    upload=upload,
                    agreement=agreement,
                    partial=form["partial"],
                    now=timezone.now(),
                )
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                messages.success(request, f"Import {job.pk} queued: its progress shows below.")
                return redirect("import-detail", pk=job.pk)
    return render(
        request,
        "sla/import_list.html",
        {
            "jobs": _jobs(request.user)[:50],
            "agreements": agreements,
            "form": form,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required_htmx
def import_detail(request, pk: int):
    job = get_object_or_404(_jobs(request.user), pk=pk)
    template = "sla/_import_progress.html" if request.htmx else "sla/import_detail.html"
    return render(request, template, {"job": job})


@require_POST
@login_required_htmx
def import_cancel_view(request, pk: int):
    job = get_object_or_404(_jobs(request.user), pk=pk)
    job = import_cancel(job=job, now=timezone.now())
    messages.info(request, f"Import {job.pk}: {job.get_state_display().lower()}.")
    return redirect("import-detail", pk=job.pk)
