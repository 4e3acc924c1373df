"""CSV imports as background jobs: accept an upload, run it in a worker, report progress.

`import_start` streams the upload to a file under SLAOPS_VAR_DIR/imports/ (memory flat
however big) and queues the job after commit; `import_run` (the Celery task calls it)
reads the file row by row, IMPORT_CHUNK rows at a time:

1. all or nothing (the default): a first pass, `checking`, runs every chunk through the
   delivery service with `dry_run`, collecting every row error; any error and the job
   ends `done` with nothing created, as the synchronous import answers;
2. `delivering`: each chunk is delivered and committed together with the job's progress,
   so a worker that dies mid-way leaves a job whose successor resumes at `done` (a
   worker takes over a running job once its heartbeat is older than LEASE);
3. a cancel, or an unexpected error, removes the leads the job had delivered: a
   cancelled or failed import leaves no rows behind, and may be run again.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from leads.csvfile import CsvFileError, iter_leads_csv, open_text
from leads.models import Lead
from sla.actions import row_errors
from sla.checks.months import month_evaluations_reopen_all
from sla.delivery import CREATED, DUPLICATE, ERROR, leads_deliver
from sla.models import Agreement, ImportJob, PacingTally

logger = logging.getLogger(__name__)

IMPORT_CHUNK = 1000
STORED_ERRORS = 1000  # the job keeps the first errors; error_count counts them all
LEASE = timedelta(minutes=2)


def import_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def import_start(
    *, by, upload, agreement: Agreement | None, partial: bool, now: datetime
) -> ImportJob:
    """Keep the upload and queue its import; refuses a file over IMPORT_MAX_BYTES."""
    limit = settings.IMPORT_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError({"file": f"The file is larger than {limit // 2**20} MB; split it."})
    path = import_dir() / f"{uuid.uuid4().hex}.csv"
    written = 0
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for chunk in upload.chunks() if hasattr(upload, "chunks") else [upload.read()]:
            written += len(chunk)
            if written > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise ValidationError(
                    {"file": f"The file is larger than {limit // 2**20} MB; split it."}
                )
            digest.update(chunk)
            out.write(chunk)
    if written == 0:
        path.unlink(missing_ok=True)
        raise ValidationError({"file": "The file is empty."})
    job = ImportJob.objects.create(
        path=str(path),
        file_name=(getattr(upload, "name", "") or "")[:255],
        size=written,
        agreement=agreement,
        partial=partial,
        created_by=by,
        created_at=now,
    )
    # By name: the task module imports this one.
    transaction.on_commit(lambda: current_app.send_task("sla.tasks.run_import", args=[job.pk]))
    return job


def import_cancel(*, job: ImportJob, now: datetime) -> ImportJob:
    """Cancel a queued job at once; a running one stops at its next chunk and removes
    what it delivered. A finished job is left as it is."""
    if job.state == ImportJob.State.QUEUED:
        changed = ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.QUEUED).update(
            state=ImportJob.State.CANCELLED, finished_at=now, cancel_requested=True
        )
        if changed:
            job.refresh_from_db()
            _discard_file(job)
            return job
    ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def imports_stalled(*, now: datetime) -> list[int]:
    """Jobs queued for longer than LEASE (their message lost), or running with a heartbeat
    older than LEASE (their worker died): the beat sends them again."""
    stale = now - LEASE
    return list(
        ImportJob.objects.filter(
            Q(state=ImportJob.State.QUEUED, created_at__lt=stale)
            | Q(state=ImportJob.State.RUNNING, heartbeat_at__lt=stale)
        ).values_list("id", flat=True)[:20]
    )


def _claim(job_id: int, now: datetime) -> ImportJob | None:
    """Take the job: queued, or running with a stale heartbeat (its worker died)."""
    stale = now - LEASE
    changed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(state=ImportJob.State.QUEUED)
            | Q(state=ImportJob.State.RUNNING, heartbeat_at__lt=stale)
        )
        .update(state=ImportJob.State.RUNNING, heartbeat_at=now)
    )
    return ImportJob.objects.get(pk=job_id) if changed else None


def _chunks(job: ImportJob):
    """(rows of one chunk, header errors) read from the kept file, IMPORT_CHUNK at a time."""
    with Path(job.path).open("rb") as raw:
        pairs = iter_leads_csv(open_text(raw), max_rows=settings.IMPORT_MAX_ROWS)
        while True:
            chunk = list(itertools.islice(pairs, IMPORT_CHUNK))
            if not chunk:
                return
            yield chunk


def _record_errors(job: ImportJob, errors: list[dict]) -> None:
    job.error_count += len(errors)
    room = STORED_ERRORS - len(job.errors)
    if room > 0:
        job.errors = [*job.errors, *errors[:room]]


def chunk_deliver(chunk, *, by, agreement, now, dry_run: bool, import_job_id=None):
    """Deliver (or, with `dry_run`, check) one chunk of `(row, row errors)` pairs as
    leads.csvfile reads them: (every error of the chunk with its row and field, sorted;
    the delivery results of the rows that read well, in their order)."""
    errors = [error for _, row_errs in chunk for error in row_errs]
    rows = [row for row, row_errs in chunk if row is not None and not row_errs]
    items = [{**r.data, "agreement": r.agreement} if r.agreement else r.data for r in rows]
    results = leads_deliver(
        by=by,
        items=items,
        agreement=agreement,
        now=now,
        dry_run=dry_run,
        import_job_id=import_job_id,
    )
    for row, result in zip(rows, results, strict=True):
        if result.status == ERROR:
            errors.extend(row_errors(row.row, result.errors))
    errors.sort(key=lambda error: error["row"])
    return errors, results


def _deliver_chunk(job: ImportJob, chunk, *, by, now, dry_run: bool) -> None:
    """Deliver (or check) one chunk's rows and add its outcome to the job."""
    errors, results = chunk_deliver(
        chunk,
        by=by,
        agreement=job.agreement,
        now=now,
        dry_run=dry_run,
        import_job_id=None if dry_run else job.pk,
    )
    if not dry_run:
        job.created += sum(1 for result in results if result.status == CREATED)
        job.duplicates += sum(1 for result in results if result.status == DUPLICATE)
    _record_errors(job, errors)
    job.done += len(chunk)


def _cancelled(job: ImportJob) -> bool:
    return ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists()


PROGRESS = ("done", "created", "duplicates", "errors", "error_count", "heartbeat_at")


def _save(job: ImportJob, now: datetime, **fields) -> None:
    """Write the job's progress (never `cancel_requested`: the API sets that one)."""
    for name, value in fields.items():
        setattr(job, name, value)
    job.heartbeat_at = now
    job.save(update_fields=sorted({*PROGRESS, *fields}))


def import_run(*, job_id: int, now_fn) -> ImportJob | None:
    """Run (or resume) the job; `now_fn` gives the present at each chunk. Returns the
    job as it ended, or None when another worker holds it."""
    job = _claim(job_id, now_fn())
    if job is None:
        return None
    by = job.created_by
    try:
        if job.started_at is None:
            _save(job, now_fn(), started_at=now_fn())
        if not job.partial and job.phase in ("", "checking"):
            _save(job, now_fn(), phase="checking", done=0, errors=[], error_count=0)
            for chunk in _chunks(job):
                if _cancelled(job):
                    return _finish_cancelled(job, now_fn())
                _deliver_chunk(job, chunk, by=by, now=now_fn(), dry_run=True)
                _save(job, now_fn())
            _save(job, now_fn(), rows=job.done)
            if job.error_count:
                return _finish(job, now_fn(), ImportJob.State.DONE)
            _save(job, now_fn(), phase="delivering", done=0)
        elif job.phase == "":
            _save(job, now_fn(), phase="delivering")
        skip = job.done  # resumed: these rows were committed by the worker before
        seen = 0
        for chunk in _chunks(job):
            if seen + len(chunk) <= skip:
                seen += len(chunk)
                continue
            if _cancelled(job):
                return _finish_cancelled(job, now_fn())
            with transaction.atomic():
                _deliver_chunk(job, chunk, by=by, now=now_fn(), dry_run=False)
                _save(job, now_fn())
            seen += len(chunk)
        return _finish(job, now_fn(), ImportJob.State.DONE, rows=job.done)
    except CsvFileError as exc:
        _remove_delivered(job)
        return _finish(job, now_fn(), ImportJob.State.FAILED, detail=str(exc), created=0)
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        _remove_delivered(job)
        detail = f"The import stopped on an unexpected error ({exc.__class__.__name__})."
        return _finish(job, now_fn(), ImportJob.State.FAILED, detail=detail, created=0)


def _remove_delivered(job: ImportJob) -> int:
    """Delete the leads the job delivered (with their clocks, terms and history)."""
    deleted, _ = Lead.objects.filter(terms__import_job=job).delete()
    if deleted:
        # Fewer qualified leads than last counted: the pacing check must count again.
        PacingTally.objects.all().delete()
        month_evaluations_reopen_all()
    return deleted


def _finish_cancelled(job: ImportJob, now: datetime) -> ImportJob:
    _remove_delivered(job)
    return _finish(job, now, ImportJob.State.CANCELLED, created=0, duplicates=0)


def _finish(job: ImportJob, now: datetime, state: str, **fields) -> ImportJob:
    _save(job, now, state=state, finished_at=now, **fields)
    _discard_file(job)
    return job


def _discard_file(job: ImportJob) -> None:
    try:
        Path(job.path).unlink(missing_ok=True)
    except OSError:
        logger.warning("could not remove %s", job.path)
