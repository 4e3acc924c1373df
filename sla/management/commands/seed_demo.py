from django.core.management.base import BaseCommand

from sla.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Load demo data (idempotent) with one login per role, and print the logins."

    def handle(self, *args, **options):
        logins = demo_seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with any of these:"))
        for login in logins:
            team = f" ({login.team})" if login.team else ""
            self.stdout.write(f"  {login.username:<8} {DEMO_PASSWORD}   {login.role}{team}")
