"""Notifications: `recipients` (who hears of a flag, queued with it), `outbox` (the
sender), `digest` (the daily summary). The outbox table is sla.models.Notification."""

from sla.notify.digest import DIGEST_MAX_LINES, digest_queue
from sla.notify.outbox import MAX_ATTEMPTS, backoff, notifications_reclaim, notifications_send
from sla.notify.recipients import notifications_queue

__all__ = [
    "DIGEST_MAX_LINES",
    "MAX_ATTEMPTS",
    "backoff",
    "digest_queue",
    "notifications_queue",
    "notifications_reclaim",
    "notifications_send",
]
