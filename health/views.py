"""`GET /healthz`: the database, the broker and the worker, 503 naming what is down."""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from health.services import health_report


@require_GET
@never_cache
def healthz(request):
    report = health_report(now=timezone.now())
    body = {
        "database": report.database,
        "broker": report.broker,
        "worker": report.worker,
        "worker_last_seen_at": (
            report.worker_last_seen_at.isoformat() if report.worker_last_seen_at else None
        ),
    }
    return JsonResponse(body, status=200 if report.healthy else 503)
