"""The worker heartbeat and the health report behind /healthz."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from kombu import Connection

from health.models import WorkerHeartbeat

# Beat ticks every HEARTBEAT_SECONDS; a worker silent for this many ticks is stale.
STALE_AFTER_TICKS = 5


def heartbeat_record(*, name: str, at: datetime) -> WorkerHeartbeat:
    beat, _ = WorkerHeartbeat.objects.update_or_create(name=name, defaults={"last_seen_at": at})
    return beat


@dataclass(frozen=True)
class HealthReport:
    database: str
    broker: str
    worker: str
    worker_last_seen_at: datetime | None

    @property
    def healthy(self) -> bool:
        # No worker has ever started, or none for five ticks: nothing runs the checks.
        return self.database == "ok" and self.broker == "ok" and self.worker == "ok"


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "down"; say which
        return f"down: {exc.__class__.__name__}"


def _check_broker() -> str:
    # A fresh connection each time: a pooled one could hide a broker that went away.
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    try:
        with Connection(settings.CELERY_BROKER_URL, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # kombu raises transport-specific errors
        return f"down: {exc.__class__.__name__}"


def health_report(*, now: datetime) -> HealthReport:
    database = _check_database()
    broker = _check_broker()
    last_seen = None
    worker = "unknown"
    if database == "ok":
        beat = WorkerHeartbeat.objects.filter(name="worker").first()
        if beat is None:
            worker = "missing"
        else:
            last_seen = beat.last_seen_at
            tick = settings.CELERY_BEAT_SCHEDULE["heartbeat"]["schedule"]
            stale_after = timedelta(seconds=STALE_AFTER_TICKS * tick)
            worker = "ok" if now - last_seen <= stale_after else "stale"
    return HealthReport(
        database=database, broker=broker, worker=worker, worker_last_seen_at=last_seen
    )
