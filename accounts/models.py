"""People, their role, and the teams they work in.

Roles are a single field on the user: each person acts in exactly one capacity, and
every permission check in slaops reads it (see `accounts.roles`).
"""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    MARKETING = "marketing", "Marketing manager"
    SALES = "sales", "Sales rep"
    SALES_MANAGER = "sales_manager", "Sales manager"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Admin"


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SALES)

    class Meta:
        ordering = ["username"]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser


class Team(models.Model):
    class Kind(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    # The team's working hours: notifications respect them (no 3 a.m. reminders).
    calendar = models.ForeignKey(
        "calendars.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="teams",
    )
    chat_webhook_url = models.URLField(
        blank=True, help_text="Slack-compatible incoming webhook for this team's flags."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
