"""Agreements and their versions, commitments, the clocks of each lead, flags, the outbox."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from core.timeparse import month_add


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
        "calendars.BusinessCalendar", on_delete=models.PROTECT, related_name="agreements"
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
    # Ordered tiers, each a condition on the lead (the definition's criteria language) with
    # its own windows; the first that matches applies, these terms are the default.
    # [{"name", "when": [{"field", "op", "value"}], "first_touch_minutes",
    #   "at_risk_percent", "next_touch_minutes", "attempts_before_abandon"}]
    tiers = models.JSONField(default=list, blank=True)
    # How far ahead a rep may set a callback, and how many a lead may have, before a
    # sales manager must approve.
    max_callback_business_days = models.PositiveSmallIntegerField(default=10)
    max_callbacks = models.PositiveSmallIntegerField(default=3)
    # marketing's promises
    monthly_quota = models.PositiveIntegerField(default=200)
    min_acceptance_percent = models.PositiveSmallIntegerField(default=80)
    pacing_tolerance_percent = models.PositiveSmallIntegerField(default=10)
    # A month's books close this many business days after its end (late CRM syncs land
    # meanwhile); then its commitment, terms and counts are final.
    close_grace_business_days = models.PositiveSmallIntegerField(default=3)
    # Marketing may dispute a sales rejection this many business days after its verdict.
    dispute_window_business_days = models.PositiveSmallIntegerField(default=5)
    # A delivered lead whose e-mail matches an open lead of the agreement this recent is a
    # duplicate of it.
    duplicate_window_days = models.PositiveSmallIntegerField(default=30)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SALES_TERMS = (
        "first_touch_minutes",
        "at_risk_percent",
        "next_touch_minutes",
        "attempts_before_abandon",
        "tiers",
        "max_callback_business_days",
        "max_callbacks",
    )
    MARKETING_TERMS = (
        "monthly_quota",
        "min_acceptance_percent",
        "pacing_tolerance_percent",
        "close_grace_business_days",
        "duplicate_window_days",
        "dispute_window_business_days",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def in_effect_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def in_effect_at(self, at: datetime) -> bool:
        """Whether the agreement covers the instant, by the date in its calendar's zone."""
        return self.in_effect_on(at.astimezone(ZoneInfo(self.calendar.timezone)).date())

    def in_effect_during(self, year: int, month: int) -> bool:
        """Whether the agreement covers any day of the month."""
        first = date(year, month, 1)
        following = date(*month_add(year, month, 1), 1)
        return self.effective_from < following and (
            self.effective_to is None or self.effective_to >= first
        )

    def current_version(self) -> "AgreementVersion":
        return self.versions.get(version=self.version)


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
    # The name of the agreement version's tier the lead matched; blank: the default terms.
    tier = models.CharField(max_length=100, blank=True, default="")
    # The CSV import that delivered the lead: a cancelled or failed import removes its own.
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="lead_terms"
    )

    class Meta:
        indexes = [
            models.Index(fields=["agreement", "lead"]),
        ]

    def __str__(self):
        return f"lead {self.lead_id} under {self.agreement_id} v{self.agreement_version_id}"


class ImportJob(models.Model):
    """A CSV import run in the background, with the progress the page and API report.

    All or nothing unless `partial`: a first pass checks every row and delivers nothing
    when one is refused; the second delivers chunk by chunk, each chunk committed with
    the job's progress, so a crashed worker's successor resumes where it stopped.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = ("done", "failed", "cancelled")

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    phase = models.CharField(max_length=10, blank=True, help_text="checking or delivering")
    path = models.CharField(max_length=500, help_text="The uploaded file, kept until done.")
    file_name = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    agreement = models.ForeignKey(
        Agreement, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    partial = models.BooleanField(default=False)
    rows = models.PositiveIntegerField(null=True, blank=True, help_text="Known once checked.")
    done = models.PositiveIntegerField(default=0, help_text="Rows delivered (or checked).")
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    detail = models.TextField(blank=True, help_text="Why the job failed, in words.")
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"import {self.pk} ({self.state})"


class PacingTally(models.Model):
    """The qualified leads of an agreement's month, as last counted by `quota_at_risk`.

    Qualified delivery only grows within a month, so while the last count is still at or
    above the pace the check needs, nothing can be behind: the pass skips counting and
    costs O(agreements). Removing delivered leads (a cancelled import) drops the tally.
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    month = models.CharField(max_length=7)
    qualified = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "month"], name="pacing_tally_once")
        ]

    def __str__(self):
        return f"{self.agreement_id} {self.month}: {self.qualified}"


class MonthEvaluation(models.Model):
    """The lead counts of a closed month of an agreement, as the month checks judged them.

    A closed month's figures change only when a lead lands in it late (a backdated
    delivery), a verdict is given on one of its leads, or delivered leads are removed;
    each of those marks the row `stale` (`month_evaluations_reopen`), and the next pass
    counts again. Otherwise quota_shortfall and quality_shortfall judge the stored counts
    against the commitment and the bar as they are now, without reading a lead.
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    month = models.CharField(max_length=7)
    stale = models.BooleanField(default=True)
    delivered = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField(null=True, blank=True)
    # When quota_shortfall / quality_shortfall last judged the month on fresh counts: a
    # closed month neither has judged (the checks were down when it closed) is caught up.
    quota_judged_at = models.DateTimeField(null=True, blank=True)
    quality_judged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "month"], name="month_evaluation_once")
        ]

    def __str__(self):
        return f"{self.agreement_id} {self.month}{' (stale)' if self.stale else ''}"


class MonthReopening(models.Model):
    """An admin reopened a closed month of an agreement, saying why: until `closes_at` the
    month takes late leads and a new commitment again, and its flags are judged again."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="reopenings")
    month = models.CharField(max_length=7)
    reason = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    closes_at = models.DateTimeField(help_text="When the month closes again.")

    class Meta:
        ordering = ["agreement", "month", "-at"]
        indexes = [models.Index(fields=["agreement", "month", "closes_at"])]

    def __str__(self):
        return f"{self.agreement_id} {self.month} reopened {self.at:%Y-%m-%d}"


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


# --- lateness: the one statement of when a clock's promise is broken ------------------------
# The status (Python and SQL), the checks, the compliance figures, the digest and the
# partial indexes below all build on these.

RUNNING = Q(state="running")
# Stopped after its due time: late, whenever anyone looks.
STOPPED_LATE = Q(state="stopped", stopped_at__gt=F("due_at"))
# Not yet claimed by the breach check / by the at-risk check.
BREACH_UNCLAIMED = Q(breached_at__isnull=True)
AT_RISK_UNCLAIMED = Q(at_risk_flagged_at__isnull=True, kind="first_touch")
# Stopped once its at-risk time had passed (touched or closed after it).
STOPPED_PAST_RISK = Q(state="stopped", stopped_at__gte=F("at_risk_at"))


def overdue_q(at) -> Q:
    """Running past its due time as of `at`."""
    return RUNNING & Q(due_at__lte=at)


def late_q(at) -> Q:
    """The promise is broken as of `at`: running past due, or stopped after the due time."""
    return overdue_q(at) | STOPPED_LATE


def kept_q(at) -> Q:
    """The promise was kept by `at`: stopped by then, at or before its due time."""
    return Q(state="stopped", stopped_at__lte=F("due_at")) & Q(stopped_at__lte=at)


def at_risk_q(at) -> Q:
    """An untouched first touch past its at-risk share of the window, as of `at`."""
    return RUNNING & Q(kind="first_touch", at_risk_at__lte=at)


class ClockQuerySet(models.QuerySet):
    def running(self):
        return self.filter(RUNNING)

    def overdue(self, at):
        return self.filter(overdue_q(at))

    def late(self, at):
        return self.filter(late_q(at))

    def at_risk(self, at):
        return self.filter(at_risk_q(at))


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
    # Business minutes from start to the touch that stopped it, stored when it stops, so
    # the figures (median, p90 time to first touch) are one aggregate.
    touch_minutes = models.PositiveIntegerField(null=True, blank=True)

    # The stop reasons that are a touch (the others close the lead without one).
    TOUCH_STOPS = ("touch", "connected")

    objects = ClockQuerySet.as_manager()

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
                condition=BREACH_UNCLAIMED & RUNNING,
                name="clock_due_unflagged",
            ),
            models.Index(
                fields=["at_risk_at"],
                condition=AT_RISK_UNCLAIMED & RUNNING,
                name="clock_at_risk_unflagged",
            ),
            # Clocks stopped late before any check saw them (touched late during an
            # outage): still a breach to flag, found without scanning every clock.
            models.Index(
                fields=["due_at"],
                condition=BREACH_UNCLAIMED & STOPPED_LATE,
                name="clock_late_stop_unflagged",
            ),
            # Likewise clocks stopped past their at-risk time unwarned: the warning is
            # raised all the same, resolved already (clock_stop settles them; a backstop).
            models.Index(
                fields=["at_risk_at"],
                condition=AT_RISK_UNCLAIMED & STOPPED_PAST_RISK,
                name="clock_late_warning_unflagged",
            ),
            models.Index(fields=["lead", "kind"]),
            # The compliance figures look up each lead's first touch: everything they read
            # is in the index (PostgreSQL's INCLUDE), so the table is not visited.
            models.Index(
                fields=["lead"],
                include=[
                    "state",
                    "started_at",
                    "due_at",
                    "stopped_at",
                    "stop_reason",
                    "touch_minutes",
                ],
                condition=Q(kind="first_touch"),
                name="clock_first_touch_figures",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of lead {self.lead_id} due {self.due_at:%Y-%m-%d %H:%M}"

    def is_late(self, at) -> bool:
        """`late_q(at)` for one clock in memory: stopped late, or running past due."""
        if self.state == self.State.STOPPED:
            return self.stopped_at > self.due_at
        return at >= self.due_at


class Callback(models.Model):
    """The prospect asked to be contacted at a later instant: the running clock restarts then.

    The paused clock keeps its row: its window starts again at `at` (`started_at` and
    `due_at` move), and this row keeps what it was (`previous_started_at`,
    `previous_due_at`), who set it and why. Beyond the agreement's limits a sales manager
    must approve (`approved_by`).
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="callbacks")
    clock = models.ForeignKey(
        Clock, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks"
    )
    kind = models.CharField(max_length=20, choices=Clock.Kind.choices)
    at = models.DateTimeField(help_text="When the prospect asked to be contacted.")
    due_at = models.DateTimeField(help_text="The restarted clock's due time.")
    previous_started_at = models.DateTimeField(null=True, blank=True)
    previous_due_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The sales manager who allowed it beyond the agreement's limits.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["lead", "set_at", "id"]
        indexes = [models.Index(fields=["lead", "set_at"])]

    def __str__(self):
        return f"callback on lead {self.lead_id} at {self.at:%Y-%m-%d %H:%M}"


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
        UNASSIGNED = "unassigned", "Unassigned"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    # Breaches of sales' promises: the sales team's managers hear of them at once.
    BREACH_KINDS = frozenset({"first_touch_breached", "next_touch_breached", "premature_abandon"})
    # Marketing's month: raised on the agreement, once a month.
    MONTH_KINDS = frozenset({"quota_at_risk", "quota_shortfall", "quality_shortfall"})

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
    # An at-risk warning is resolved by the breach that followed it: that breach.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )

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
            # A lead no rep was free to take: flagged once, resolved when it is assigned.
            models.UniqueConstraint(
                fields=["lead", "kind"],
                condition=Q(kind="unassigned"),
                name="flag_unassigned_once",
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


# --- the negotiated agreement: proposals, their sign-off, disputed verdicts ---------------


class Proposal(models.Model):
    """A change to an agreement's terms, proposed by one side, that measures nothing until
    a manager of each side has accepted it (sla/proposals.py); then, from `effective_from`,
    it is the agreement's next version (`version_made`)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    class Side(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="proposals")
    side = models.CharField(max_length=10, choices=Side.choices, help_text="The proposer's.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    note = models.TextField()
    effective_from = models.DateField(help_text="The 1st of a month, in the calendar's zone.")
    # The agreement's flat fields this proposal changes ({"first_touch_minutes": 120, ...},
    # `definition` as an id): applied through sla.agreements.agreement_update.
    changes = models.JSONField(default=dict)
    base_version = models.PositiveIntegerField(help_text="The agreement version it changes.")
    counters = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="countered_by"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField()
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    marketing_signed_as_admin = models.BooleanField(default=False)
    sales_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sales_signed_at = models.DateTimeField(null=True, blank=True)
    sales_signed_as_admin = models.BooleanField(default=False)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.TextField(blank=True)
    version_made = models.PositiveIntegerField(
        null=True, blank=True, help_text="The agreement version it became, once in effect."
    )
    applied_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "side"],
                condition=Q(state="open"),
                name="one_open_proposal_per_side",
            )
        ]
        indexes = [
            # The accepted proposals waiting for their first day (proposals_apply_due).
            models.Index(
                fields=["effective_from"],
                condition=Q(state="accepted", version_made__isnull=True),
                name="proposal_awaiting_effect",
            )
        ]

    def __str__(self):
        return f"proposal {self.pk} on {self.agreement_id} ({self.state})"


class ProposalEvent(models.Model):
    """One step of a proposal, in the agreement's history: proposed, accepted, rejected,
    countered, superseded, in effect. `acting_for` names the side an admin acted for."""

    class Kind(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded by a counter"
        IN_EFFECT = "in_effect", "In effect"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    side = models.CharField(max_length=10, blank=True, help_text="The side that acted.")
    acting_for = models.CharField(max_length=10, blank=True, help_text="An admin's side.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["proposal", "at", "id"]

    def __str__(self):
        return f"{self.kind} of proposal {self.proposal_id}"


class Dispute(models.Model):
    """Marketing disputes a sales rejection; a sales manager (or an admin) rules on it.

    One per lead. `overturned`: the lead counts as accepted (its verdict row is left as
    sales gave it); `upheld`: the rejection is final (sla/disputes.py)."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        UPHELD = "upheld", "Upheld"
        OVERTURNED = "overturned", "Overturned"

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="dispute")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    note = models.TextField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    ruled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ruled_at = models.DateTimeField(null=True, blank=True)
    ruling_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["state"], condition=Q(state="open"), name="dispute_open")]

    def __str__(self):
        return f"dispute of lead {self.lead_id} ({self.state})"
