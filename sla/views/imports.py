"""The import pages: upload a CSV, check it, import it as a job, watch its progress.

The same services as `POST /api/imports/` (sla/imports.py): the check before the import
reads the file with leads/csvfile.py and dry-runs the delivery, as the job's first pass
does; the progress part of the page refreshes itself through htmx while the job runs.
"""

import csv
import itertools
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from accounts.access import is_admin, may_import
from core.htmx import login_required_htmx
from leads.csvfile import CsvFileError, csv_stream, iter_leads_csv, open_text
from sla.delivery import ERROR
from sla.imports import IMPORT_CHUNK, chunk_deliver, import_cancel, import_dir, import_start
from sla.models import Agreement, ImportJob
from sla.selectors import agreements_visible_to


def _jobs(user):
    jobs = ImportJob.objects.select_related("agreement__calendar", "created_by")
    return jobs if is_admin(user) else jobs.filter(created_by=user)


def _list_page(request, agreements, form: dict, errors: dict):
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
def import_list(request):
    """The upload form (it posts to `import_check`) and recent jobs. A POST here imports
    at once, without the preview, as `POST /api/imports/` does."""
    if not may_import(request.user):
        raise PermissionDenied
    agreements = agreements_visible_to(request.user).order_by("name")
    form = {"agreement": "", "partial": False}
    errors: dict = {}
    if request.method == "POST":
        form, agreement, errors = _choices(request, agreements)
        upload = request.FILES.get("file")
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
    return _list_page(request, agreements, form, errors)


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


# --- check a file before importing it ------------------------------------------------------
#
# The preview keeps no row in the database: the upload waits in SLAOPS_VAR_DIR/imports/
# as preview-<user>-<token>.csv, and the agreement and "keep the good rows" choices
# travel in the page's query string. Confirming hands the file to `import_start`.

PREVIEW_ROWS = 10  # rows shown as they are in the file
PREVIEW_CHECK_ROWS = 5000  # rows checked in the request; the job checks every one
PREVIEW_ERRORS_SHOWN = 500
PREVIEW_MAX_AGE = timedelta(days=1)
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _preview_path(user, token: str) -> Path:
    if not _TOKEN.match(token):
        raise Http404("No such file to check.")
    return import_dir() / f"preview-{user.pk}-{token}.csv"


def _discard_old_previews(now: datetime) -> None:
    """Files checked and never confirmed are dropped after a day."""
    oldest = (now - PREVIEW_MAX_AGE).timestamp()
    for path in import_dir().glob("preview-*.csv"):
        try:
            if path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)
        except OSError:
            continue


def _preview_save(user, upload, now: datetime) -> str:
    """Keep the upload for its preview (same size limit as an import); its token."""
    limit = settings.IMPORT_MAX_BYTES
    too_big = ValidationError({"file": f"The file is larger than {limit // 2**20} MB; split it."})
    if upload.size > limit:
        raise too_big
    _discard_old_previews(now)
    token = uuid.uuid4().hex
    path = _preview_path(user, token)
    written = 0
    with path.open("wb") as out:
        for chunk in upload.chunks():
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written == 0 or written > limit:
        path.unlink(missing_ok=True)
        raise too_big if written else ValidationError({"file": "The file is empty."})
    return token


def _delimiter(first_line: str) -> str:
    # The reading rule of leads.csvfile.iter_leads_csv, so rows line up with its numbers.
    return ";" if "," not in first_line and ";" in first_line else ","


def _raw_rows(path: Path):
    """(header, iterator of (row number, cells)) as the file holds them; numbers as
    iter_leads_csv counts them (the header is row 1, blank rows keep their number)."""
    raw = path.open("rb")
    text = open_text(raw)
    first_line = next(text, "")
    records = csv.reader(itertools.chain([first_line], text), delimiter=_delimiter(first_line))

    def rows():
        try:
            for number, cells in enumerate(records, start=2):
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except (csv.Error, UnicodeDecodeError):
            return  # the check reports it; the preview shows the rows before it
        finally:
            raw.close()

    try:
        header = next(records)
    except (StopIteration, csv.Error, UnicodeDecodeError):
        raw.close()
        return [], iter(())
    return header, rows()


def preview_check(path: Path, *, by, agreement, now: datetime) -> dict:
    """Every error of the file's first PREVIEW_CHECK_ROWS rows, as the import's first
    pass finds them: the CSV reading of leads.csvfile, then a dry run of the delivery."""
    errors: list[dict] = []
    checked = good = 0
    with path.open("rb") as raw:
        pairs = iter_leads_csv(open_text(raw), max_rows=settings.IMPORT_MAX_ROWS)
        for chunk in _batches(itertools.islice(pairs, PREVIEW_CHECK_ROWS), IMPORT_CHUNK):
            found, results = chunk_deliver(chunk, by=by, agreement=agreement, now=now, dry_run=True)
            errors.extend(found)
            good += sum(1 for result in results if result.status != ERROR)
            checked += sum(1 for row, _ in chunk if row is not None)
        more = checked >= PREVIEW_CHECK_ROWS and next(pairs, None) is not None
    errors.sort(key=lambda error: error["row"])
    return {"errors": errors, "checked": checked, "good": good, "more": more}


def _batches(iterable, size: int):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _choices(request, agreements) -> tuple[dict, Agreement | None, dict]:
    """The agreement and "keep the good rows" choices of a form or query string."""
    source = request.POST if request.method == "POST" else request.GET
    form = {
        "agreement": source.get("agreement", ""),
        "partial": source.get("partial") == "1",
        "name": source.get("name", "")[:255],
    }
    errors = {}
    agreement = None
    if form["agreement"]:
        if form["agreement"].isdigit():
            agreement = agreements.filter(pk=form["agreement"]).first()
        if agreement is None:
            errors["agreement"] = ["Choose one of your agreements."]
    return form, agreement, errors


@require_POST
@login_required_htmx
def import_check(request):
    """Keep the upload and show its preview; nothing is imported yet."""
    if not may_import(request.user):
        raise PermissionDenied
    agreements = agreements_visible_to(request.user).order_by("name")
    form, _, errors = _choices(request, agreements)
    upload = request.FILES.get("file")
    if upload is None:
        errors["file"] = ["Choose a CSV file to check."]
    if not errors:
        try:
            token = _preview_save(request.user, upload, timezone.now())
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            query = {"name": upload.name or "", "partial": "1" if form["partial"] else ""}
            query["agreement"] = form["agreement"]
            return redirect(f"{reverse('import-preview', args=[token])}?{urlencode(query)}")
    return _list_page(request, agreements, form, errors)


@login_required_htmx
def import_preview(request, token: str):
    """GET: the file's first rows and its row errors. POST: import it as a job."""
    if not may_import(request.user):
        raise PermissionDenied
    path = _preview_path(request.user, token)
    if not path.exists():
        messages.error(request, "That file is no longer kept: upload it again.")
        return redirect("import-list")
    agreements = agreements_visible_to(request.user).order_by("name")
    form, agreement, errors = _choices(request, agreements)
    if request.method == "POST" and not errors:
        with path.open("rb") as kept:
            try:
                job = import_start(
                    by=request.user,
                    upload=File(kept, name=form["name"] or "leads.csv"),
                    agreement=agreement,
                    partial=form["partial"],
                    now=timezone.now(),
                )
            except ValidationError as exc:
                errors = exc.message_dict
        if not errors:
            path.unlink(missing_ok=True)
            messages.success(request, f"Import {job.pk} queued: its progress shows below.")
            return redirect("import-detail", pk=job.pk)
    context = {"token": token, "form": form, "errors": errors, "agreement": agreement}
    context["query"] = urlencode({k: ("1" if v is True else v or "") for k, v in form.items()})
    try:
        context["check"] = preview_check(
            path, by=request.user, agreement=agreement, now=timezone.now()
        )
    except CsvFileError as exc:
        context["file_error"] = str(exc)
    else:
        context["header"], rows = _raw_rows(path)
        context["rows"] = list(itertools.islice(rows, PREVIEW_ROWS))
        context["refused"] = {e["row"] for e in context["check"]["errors"]} - {1}
        context["bad_rows"] = len(context["refused"])
        context["header_refused"] = any(e["row"] == 1 for e in context["check"]["errors"])
        context["shown_errors"] = context["check"]["errors"][:PREVIEW_ERRORS_SHOWN]
    return render(request, "sla/import_preview.html", context, status=400 if errors else 200)


@login_required_htmx
def import_rejected(request, token: str):
    """The rows the check refused, as the file has them, with an `error` column."""
    if not may_import(request.user):
        raise PermissionDenied
    path = _preview_path(request.user, token)
    if not path.exists():
        raise Http404("That file is no longer kept: upload it again.")
    _, agreement, errors = _choices(request, agreements_visible_to(request.user))
    if errors:
        raise Http404("No such agreement.")
    try:
        check = preview_check(path, by=request.user, agreement=agreement, now=timezone.now())
    except CsvFileError as exc:
        raise Http404(str(exc)) from exc
    why: dict[int, list[str]] = {}
    for error in check["errors"]:
        why.setdefault(error["row"], []).append(f"{error['field']}: {error['message']}")
    header, rows = _raw_rows(path)
    last = max(why, default=0)
    # Cells as the file has them (padded to the header), then what is wrong with the row.
    table = [
        [*cells, *[""] * (len(header) - len(cells)), "; ".join(why[number])]
        for number, cells in itertools.takewhile(lambda pair: pair[0] <= last, rows)
        if number in why
    ]
    response = StreamingHttpResponse(
        csv_stream([[*header, "error"], *table]), content_type="text/csv; charset=utf-8"
    )
    stem = slugify(Path(request.GET.get("name", "")).stem)[:100] or "leads"
    response["Content-Disposition"] = f'attachment; filename="{stem}-rejected.csv"'
    return response
