"""The Celery application: configured from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "slaops.settings")

app = Celery("slaops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _ensure_broker_folders(sender, **kwargs):
    # The filesystem transport needs its folders to exist before the first message.
    from django.conf import settings

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


@task_prerun.connect
@task_postrun.connect
def _close_stale_connections(**kwargs):
    # A worker outlives database restarts: drop connections that went bad between tasks.
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
def _first_heartbeat(**kwargs):
    # /healthz reports the worker missing until its first heartbeat: record one as soon as
    # the worker is up rather than a beat tick later.
    from django.utils import timezone

    from health.services import heartbeat_record

    try:
        heartbeat_record(name="worker", at=timezone.now())
    except Exception:  # the database may still be starting; beat's heartbeat follows
        import logging

        logging.getLogger(__name__).warning("first heartbeat not recorded", exc_info=True)
