from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.seed import demo_seed, logins_table


class Command(BaseCommand):
    help = "Load demo data (idempotent): one login per role and a month of leads."

    def handle(self, *args, **options):
        logins = demo_seed(now=timezone.now())
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with any of these:"))
        self.stdout.write(logins_table(logins))
