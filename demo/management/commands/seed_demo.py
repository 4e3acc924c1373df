from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.seed import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load demo data (idempotent): one login per role and a month of leads."

    def handle(self, *args, **options):
        logins = demo_seed(now=timezone.now())
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with any of these:"))
        for login in logins:
            team = f" ({login.team})" if login.team else ""
            self.stdout.write(f"  {login.username:<8} {DEMO_PASSWORD}   {login.role}{team}")
