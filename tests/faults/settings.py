"""Settings for the processes the fault tests start (worker, beat, gunicorn).

The project's own settings, with the beat ticking every FAULTS_TICK_SECONDS instead of
every minute or quarter hour, so a scenario runs in seconds. Everything else (database,
broker, mail server) comes from the environment the test gives the process.
"""

import os

from slaops.settings import *  # noqa: F403
from slaops.settings import CELERY_BEAT_SCHEDULE

_TICK = float(os.environ.get("FAULTS_TICK_SECONDS", "1"))
CELERY_BEAT_SCHEDULE = {
    name: {**entry, "schedule": _TICK, "options": {"expires": max(1.0, 5 * _TICK)}}
    for name, entry in CELERY_BEAT_SCHEDULE.items()
}
# How long a claimed notification is its sender's before a reclaim takes it back
# (sla/notify/outbox.py), in seconds rather than minutes.
_LEASE = os.environ.get("FAULTS_SENDING_LEASE_SECONDS")
if _LEASE:
    NOTIFICATION_LEASE_SECONDS = int(float(_LEASE))
# The web app answers API calls with DEBUG off (the clean 503 page, not Django's debug
# page) without a collectstatic run.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
