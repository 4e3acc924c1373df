"""Celery tasks: the change feed and the webhook sender, each its own task (a slow
receiver never holds up the SLA checks), each idempotent."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from core.timeparse import parse_instant


@shared_task(
    name="integrations.tasks.collect_events",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=50,
    time_limit=58,
)
def collect_events(at_iso: str | None = None) -> int:
    from integrations.feed import events_collect

    return events_collect(at=parse_instant(at_iso) if at_iso else timezone.now())


@shared_task(
    name="integrations.tasks.send_webhooks",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=50,
    time_limit=58,
)
def send_webhooks(limit: int = 500) -> int:
    from integrations.sender import webhooks_send

    # Each post may take its full 5 s: stop starting new ones well before the time limit.
    return webhooks_send(at=timezone.now(), limit=limit, budget_seconds=40)


@shared_task(
    name="integrations.tasks.prune",
    ignore_result=True,
    acks_late=True,
    soft_time_limit=240,
    time_limit=280,
)
def prune() -> None:
    """Daily: finished deliveries after 30 days, inbound webhook-ids after a day (a request
    stamped that long ago is refused by its timestamp anyway)."""
    from integrations.inbound import messages_prune
    from integrations.sender import deliveries_prune

    now = timezone.now()
    deliveries_prune(before=now - timedelta(days=30))
    messages_prune(before=now - timedelta(days=1))
