"""Celery tasks: thin, take ids or an instant, call a service."""

from celery import shared_task
from django.utils import timezone

from core.timeparse import parse_instant

# The checks, the outbox sender and the digest: each idempotent (claims and unique keys),
# so a redelivered or overlapping run changes nothing twice.


@shared_task(
    name="sla.tasks.run_checks",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=50,
    time_limit=58,
)
def run_checks(at_iso: str | None = None) -> dict:
    from sla.checks import run_all_checks

    at = parse_instant(at_iso) if at_iso else timezone.now()
    return run_all_checks(at=at)


@shared_task(
    name="sla.tasks.send_notifications",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=50,
    time_limit=58,
)
def send_notifications(limit: int = 100) -> dict:
    from sla.notify import notifications_send

    # A webhook may take its full 5 s timeout: stop starting sends well before the limit.
    return notifications_send(at=timezone.now(), limit=limit, budget_seconds=30)


@shared_task(
    name="sla.tasks.queue_digests",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=120,
    time_limit=150,
)
def queue_digests() -> int:
    from sla.notify import digest_queue

    # Abandoned send claims are reclaimed by every send pass (sla.notify.outbox).
    return digest_queue(at=timezone.now())


@shared_task(
    name="sla.tasks.run_import",
    ignore_result=True,
    acks_late=True,
    # A large file takes minutes; the job resumes where it stopped if the worker dies.
    soft_time_limit=3000,
    time_limit=3060,
)
def run_import(job_id: int) -> str | None:
    from sla.imports import import_run

    job = import_run(job_id=job_id, now_fn=timezone.now)
    return job.state if job else None


@shared_task(name="sla.tasks.resume_imports", ignore_result=True, soft_time_limit=20, time_limit=30)
def resume_imports() -> int:
    """Send again the imports whose message was lost or whose worker died."""
    from sla.imports import imports_stalled

    ids = imports_stalled(now=timezone.now())
    for job_id in ids:
        run_import.delay(job_id)
    return len(ids)
