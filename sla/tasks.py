"""Celery tasks: thin, take ids or an instant, call a service."""

from celery import shared_task
from django.utils import timezone

from sla.services.health import heartbeat_record


@shared_task(name="sla.tasks.heartbeat", ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    heartbeat_record(name=name, at=timezone.now())
