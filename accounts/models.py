"""People, their role, and the teams they work in.

Roles are a single field on the user: each person acts in exactly one capacity, and
every permission check in slaops reads it (see `accounts.roles`).
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

# The kinds of flag a person may hear of. They mirror `sla.models.Flag.Kind` (accounts may
# not import sla; tests/accounts/test_settings.py holds the two lists equal).
FLAG_KINDS = [
    ("first_touch_at_risk", "First touch at risk"),
    ("first_touch_breached", "First touch breached"),
    ("next_touch_breached", "Next touch breached"),
    ("premature_abandon", "Premature abandon"),
    ("quota_at_risk", "Quota at risk"),
    ("quota_shortfall", "Quota shortfall"),
    ("quality_shortfall", "Quality shortfall"),
    ("unassigned", "Unassigned"),
]


def validate_time_zone(value: str) -> None:
    """An IANA zone name that this machine's zone database knows ("Europe/Paris")."""
    if not value:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            "%(value)s is not a time zone: use an IANA name such as Europe/Paris.",
            code="invalid_time_zone",
            params={"value": value},
        ) from exc


class Role(models.TextChoices):
    MARKETING = "marketing", "Marketing manager"
    SALES = "sales", "Sales rep"
    SALES_MANAGER = "sales_manager", "Sales manager"
    EXECUTIVE = "executive", "Executive"
    ADMIN = "admin", "Admin"


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.SALES)
    # Where the person reads times; blank shows each calendar's own zone.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="IANA name (Europe/Paris); blank shows times in each calendar's zone.",
    )
    # A rep's capacity: round robin passes them by while they own this many open leads.
    max_open_leads = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open leads round robin gives them; blank: no cap."
    )

    # Who changed a person's role, name, teams' access or active status, and when (the
    # audit page); the password hash and the last login are not copied into history.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        ordering = ["username"]

    def __str__(self):
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # A new password (set_password since the last save) ends every API token issued
        # under the old one: whoever held the old password may also hold a token.
        password_changed = self._password is not None and self.pk is not None
        if password_changed:
            self._change_reason = "password changed"  # the history row says so, not the hash
        super().save(*args, **kwargs)
        if password_changed:
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()

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
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Absence(models.Model):
    """A person away from `starts_at` to `ends_at`: round robin passes them by meanwhile.

    A person's absences never overlap (`accounts.absences` refuses it).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="absences")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["user", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="absence_ends_after_start",
            )
        ]
        indexes = [models.Index(fields=["user", "starts_at", "ends_at"])]

    def __str__(self):
        return f"{self.user_id} away {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"


class NotificationPreference(models.Model):
    """How one person hears of one kind of flag, when they changed it from the default.

    A row per (person, kind) they chose for; no row means the default: e-mail at once and
    the team's chat. Rows rather than a JSON field on User so that the notification pass
    reads the preferences of a whole batch of flags in one indexed query.
    """

    class Email(models.TextChoices):
        AT_ONCE = "at_once", "At once"
        DIGEST = "digest", "In the daily digest"
        OFF = "off", "Off"

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=FLAG_KINDS)
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.AT_ONCE)
    chat = models.BooleanField(default=True, help_text="Post it to the team's chat channel.")

    class Meta:
        ordering = ["user", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind}: e-mail {self.email}, chat {self.chat}"
