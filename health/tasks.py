"""The heartbeat task: beat sends it through the broker, a worker records it."""

from celery import shared_task
from django.utils import timezone

from health.services import heartbeat_record


@shared_task(name="health.tasks.heartbeat", ignore_result=True)
def heartbeat(name: str = "worker") -> None:
    heartbeat_record(name=name, at=timezone.now())
