"""`manage.py run_sla_checks [--at ISO-8601] [--no-send]`: every check once, as of an instant."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.timeparse import parse_instant
from sla.checks import ChecksFailed, run_all_checks
from sla.notify import notifications_send


def _instant(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise CommandError(f"--at {text!r}: {exc}") from None


class Command(BaseCommand):
    help = "Run every SLA check once, synchronously, as of an instant (default now)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO-8601 instant with an offset; default now.")
        parser.add_argument(
            "--no-send", action="store_true", help="Flag only; leave notifications queued."
        )

    def handle(self, *args, at=None, no_send=False, **options):
        instant = _instant(at) if at else timezone.now()
        failed = []
        try:
            counts = run_all_checks(at=instant)
        except ChecksFailed as exc:
            counts, failed = exc.counts, exc.failed
        self.stdout.write(f"Checks as of {instant.isoformat()}:")
        for kind, count in counts.items():
            self.stdout.write(f"  {kind}: {count} flagged")
        for kind in failed:
            self.stdout.write(f"  {kind}: FAILED (see the log)")
        if not no_send:
            sent = notifications_send(at=instant, limit=10_000)
            summary = ", ".join(f"{count} {what}" for what, count in sent.items())
            self.stdout.write(f"Notifications: {summary}")
        if failed:
            raise CommandError(f"checks failed: {', '.join(failed)}")
