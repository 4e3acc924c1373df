"""Outbox rows and mail backends for the sender's tests: rows without a flag (the
sender's rules do not depend on what a message says) and backends that count."""

import threading
from datetime import UTC, datetime

from sla.models import Notification

AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)

DELIVERED: list[str] = []  # the X-Slaops-Key of every message a backend accepted
_lock = threading.Lock()


def queue(n: int, *, at: datetime = AT, prefix: str = "m") -> list[Notification]:
    rows = [
        Notification(
            key=f"{prefix}:{i}",
            channel=Notification.Channel.EMAIL,
            address=f"person{i}@example.com",
            subject=f"[slaops] message {i}",
            body=f"Message {i}",
            not_before=at,
            created_at=at,
        )
        for i in range(n)
    ]
    return Notification.objects.bulk_create(rows)


class CountingBackend:
    """Accepts every message and remembers its key, as a mail server would."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        with _lock:
            DELIVERED.extend(m.extra_headers["X-Slaops-Key"] for m in messages)
        return len(messages)


class CrashingBackend(CountingBackend):
    """Accepts `CRASH_AFTER` messages, then the process dies (SystemExit) before
    handing over the next: a worker killed between two sends."""

    CRASH_AFTER = 3

    def send_messages(self, messages):
        if len(DELIVERED) >= self.CRASH_AFTER:
            raise SystemExit("killed mid-pass")
        return super().send_messages(messages)


def states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in Notification.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts
