"""Notifications: `recipients` (who hears of a flag, queued with it), `outbox` (the
sender, exactly once per message but the one in flight at a crash), `render` (HTML
e-mail, Slack blocks and Teams cards, built at send time), `digest` (the daily summary
and its one-click unsubscribe). The outbox table is sla.models.Notification."""

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
