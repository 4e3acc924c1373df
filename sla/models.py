"""Business calendars, agreements, clocks, flags and the worker heartbeat."""

import functools
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords


def _default_working_hours():
    return {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class BusinessCalendar(models.Model):
    """Working hours in local wall time of an IANA zone, and holidays as local dates.

    Clocks store the due times computed from the calendar when they start, so editing a
    calendar moves no deadline already running; new clocks use the new hours.
    """

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    working_hours = models.JSONField(default=_default_working_hours)
    holidays = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.timezone})"

    def clean(self):
        from sla.business_time import CalendarSpecError, WorkCalendar

        try:
            spec = WorkCalendar.from_spec(self.timezone, self.working_hours, self.holidays or [])
        except CalendarSpecError as exc:
            raise ValidationError({exc.field: exc.message}) from exc
        if not any(spec.windows):
            raise ValidationError(
                {"working_hours": "Give at least one working window, or no clock can ever run."}
            )
        # Store the normalised form (sorted windows, sorted unique holidays).
        normal = spec.to_spec()
        self.working_hours = normal["working_hours"]
        self.holidays = normal["holidays"]

    def as_work_calendar(self):
        """The engine's immutable calendar; shared between calls so its day cache is reused."""
        key = (
            self.timezone,
            json.dumps(self.working_hours, sort_keys=True),
            tuple(self.holidays or ()),
        )
        return _work_calendar(key)


@functools.lru_cache(maxsize=256)
def _work_calendar(key):
    from sla.business_time import WorkCalendar

    timezone, hours, holidays = key
    return WorkCalendar.from_spec(timezone, json.loads(hours), holidays)


class WorkerHeartbeat(models.Model):
    """The last time a worker ran the heartbeat task; /healthz reads it."""

    name = models.CharField(max_length=50, unique=True)
    last_seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class Agreement(models.Model):
    """The two-way agreement between a marketing team and a sales team.

    The row holds the current terms; every edit adds an AgreementVersion, and each lead
    keeps the version it was delivered under (its clocks were computed from it).
    """

    name = models.CharField(max_length=200, unique=True)
    marketing_team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="marketing_agreements"
    )
    sales_team = models.ForeignKey(
        "accounts.Team", on_delete=models.PROTECT, related_name="sales_agreements"
    )
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="agreements"
    )
    definition = models.ForeignKey(
        "leads.LeadDefinition", on_delete=models.PROTECT, related_name="agreements"
    )
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    # sales' promises
    first_touch_minutes = models.PositiveIntegerField(default=240)
    at_risk_percent = models.PositiveSmallIntegerField(default=75)
    next_touch_minutes = models.PositiveIntegerField(default=1440)
    attempts_before_abandon = models.PositiveSmallIntegerField(default=6)
    # marketing's promises
    monthly_quota = models.PositiveIntegerField(default=200)
    min_acceptance_percent = models.PositiveSmallIntegerField(default=80)
    pacing_tolerance_percent = models.PositiveSmallIntegerField(default=10)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SALES_TERMS = (
        "first_touch_minutes",
        "at_risk_percent",
        "next_touch_minutes",
        "attempts_before_abandon",
    )
    MARKETING_TERMS = ("monthly_quota", "min_acceptance_percent", "pacing_tolerance_percent")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AgreementVersion(models.Model):
    """A frozen copy of an agreement's terms, as they were from `created_at` on."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    terms = models.JSONField(help_text="Every field of the agreement as it was.")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["agreement", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "version"], name="agreement_version_once")
        ]

    def __str__(self):
        return f"{self.agreement_id} v{self.version}"


class LeadTerms(models.Model):
    """Which agreement (and which version of it) a lead was delivered under."""

    lead = models.OneToOneField(
        "leads.Lead", primary_key=True, on_delete=models.CASCADE, related_name="terms"
    )
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="lead_terms")
    agreement_version = models.ForeignKey(
        AgreementVersion, on_delete=models.PROTECT, related_name="lead_terms"
    )
    attempts_required = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["agreement", "lead"])]

    def __str__(self):
        return f"lead {self.lead_id} under {self.agreement_id} v{self.agreement_version_id}"


class MonthlyCommitment(models.Model):
    """Marketing's logged quota for one month of one agreement; who and when are kept."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="commitments")
    month = models.CharField(
        max_length=7,
        help_text="YYYY-MM",
        validators=[RegexValidator(r"^\d{4}-(0[1-9]|1[0-2])$", "Give the month as YYYY-MM.")],
    )
    quota = models.PositiveIntegerField()
    note = models.TextField(blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "month"], name="commitment_once_a_month")
        ]

    def __str__(self):
        return f"{self.agreement} {self.month}: {self.quota}"


class Clock(models.Model):
    """One running promise of sales on one lead, with its due time stored when it starts.

    The checks only ask "which running clocks are past due and not yet flagged?", served
    by partial indexes; they never recompute a due time.
    """

    class Kind(models.TextChoices):
        FIRST_TOUCH = "first_touch", "First touch"
        NEXT_TOUCH = "next_touch", "Next touch"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    at_risk_at = models.DateTimeField(null=True, blank=True)
    business_minutes = models.PositiveIntegerField(help_text="The window it was started with.")
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=30, blank=True)
    # Set by the checks when they claim the miss; dated when the promise was broken.
    breached_at = models.DateTimeField(null=True, blank=True)
    at_risk_flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind"],
                condition=Q(state="running"),
                name="one_running_clock_per_kind",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(state="running", breached_at__isnull=True),
                name="clock_due_unflagged",
            ),
            models.Index(
                fields=["at_risk_at"],
                condition=Q(state="running", at_risk_flagged_at__isnull=True, kind="first_touch"),
                name="clock_at_risk_unflagged",
            ),
            # Clocks stopped late before any check saw them (touched late during an
            # outage): still a breach to flag, found without scanning every clock.
            models.Index(
                fields=["due_at"],
                condition=Q(state="stopped", breached_at__isnull=True, stopped_at__gt=F("due_at")),
                name="clock_late_stop_unflagged",
            ),
            models.Index(fields=["lead", "kind"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of lead {self.lead_id} due {self.due_at:%Y-%m-%d %H:%M}"

    def is_late(self, at) -> bool:
        """Whether the promise was broken as of `at` (stopped late, or running past due)."""
        if self.state == self.State.STOPPED:
            return self.stopped_at > self.due_at
        return at >= self.due_at


class Flag(models.Model):
    """A missed or threatened promise, dated when it was broken; never deleted."""

    class Kind(models.TextChoices):
        FIRST_TOUCH_AT_RISK = "first_touch_at_risk", "First touch at risk"
        FIRST_TOUCH_BREACHED = "first_touch_breached", "First touch breached"
        NEXT_TOUCH_BREACHED = "next_touch_breached", "Next touch breached"
        PREMATURE_ABANDON = "premature_abandon", "Premature abandon"
        QUOTA_AT_RISK = "quota_at_risk", "Quota at risk"
        QUOTA_SHORTFALL = "quota_shortfall", "Quota shortfall"
        QUALITY_SHORTFALL = "quality_shortfall", "Quality shortfall"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    raised_at = models.DateTimeField(help_text="When the promise was broken (the due time).")
    due_at = models.DateTimeField(null=True, blank=True)
    noticed_at = models.DateTimeField(help_text="When a check recorded it.")
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    clock = models.ForeignKey(
        Clock, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="flags")
    month = models.CharField(max_length=7, help_text="YYYY-MM in the agreement calendar's zone")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flags",
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="flags"
    )
    detail = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            # A miss is flagged once, however often or however concurrently checks run.
            models.UniqueConstraint(
                fields=["clock", "kind"],
                condition=Q(clock__isnull=False),
                name="flag_once_per_clock",
            ),
            models.UniqueConstraint(
                fields=["lead", "kind"],
                condition=Q(kind="premature_abandon"),
                name="flag_premature_abandon_once",
            ),
            models.UniqueConstraint(
                fields=["agreement", "month", "kind"],
                condition=Q(kind__in=["quota_at_risk", "quota_shortfall", "quality_shortfall"]),
                name="flag_month_once",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "kind"]),
            models.Index(fields=["agreement", "month"]),
            models.Index(fields=["owner", "state"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.month})"


class Notification(models.Model):
    """The outbox: a message to send, written in the same transaction as its flag.

    A sender claims rows, sends with the row's key as idempotency key, and marks them
    sent; a crash between flagging and sending loses nothing and sends nothing twice.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        CHAT = "chat", "Chat webhook"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key.")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    flag = models.ForeignKey(
        Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    address = models.CharField(max_length=500, help_text="Email address or webhook URL.")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    not_before = models.DateTimeField(help_text="Held until the recipient's working hours.")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["not_before"], condition=Q(state="pending"), name="notification_due"
            )
        ]

    def __str__(self):
        return f"{self.channel} to {self.address}: {self.subject}"
