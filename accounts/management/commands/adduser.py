import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import user_create_or_update


class Command(BaseCommand):
    help = "Create a user (or update an existing one) with a role and, optionally, a team."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--team", help="team name; created if it does not exist")
        parser.add_argument("--password", help="prompted for when omitted on a terminal")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, team, password, email, **options):
        if password is None and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {username}: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            user, created = user_create_or_update(
                username=username, role=role, password=password, team_name=team, email=email
            )
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Updated"
        login = "" if user.has_usable_password() else " (no password: cannot log in yet)"
        self.stdout.write(self.style.SUCCESS(f"{verb} {user.username} as {role}{login}."))
