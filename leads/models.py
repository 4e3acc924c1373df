"""Lead definitions (versioned), leads with their score and verdict, touches, reason codes."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from leads.scoring import score as score_lead


class ReasonCode(models.Model):
    """Why sales rejects a lead: configurable data, seeded with the contract's defaults."""

    code = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "code"]

    def __str__(self):
        return self.label


class LeadDefinition(models.Model):
    """What a good lead is, what it is not, how to handle it, and how to score it.

    The row holds the current terms; every edit adds a LeadDefinitionVersion, and each
    lead points at the version it was judged against, so history is never rewritten.
    """

    name = models.CharField(max_length=200, unique=True)
    # The marketing team that owns it: its managers and the admins edit it
    # (`accounts.access.may_edit_definition`).
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="definitions",
        help_text="The marketing team that owns it; blank: the teams whose agreements use it.",
    )
    good_lead = models.TextField(blank=True)
    not_a_lead = models.TextField(blank=True)
    handling = models.TextField(blank=True)
    qualify_at = models.PositiveIntegerField(default=50)
    criteria = models.JSONField(default=list, blank=True)
    disqualifiers = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} (v{self.version})"

    @property
    def current_version(self) -> "LeadDefinitionVersion":
        return self.versions.get(version=self.version)


class LeadDefinitionVersion(models.Model):
    """A frozen copy of a definition's terms, as they were from `created_at` on."""

    definition = models.ForeignKey(
        LeadDefinition, on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    good_lead = models.TextField(blank=True)
    not_a_lead = models.TextField(blank=True)
    handling = models.TextField(blank=True)
    qualify_at = models.PositiveIntegerField()
    criteria = models.JSONField(default=list)
    disqualifiers = models.JSONField(default=list)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["definition", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "version"], name="definition_version_once"
            )
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def score(self, data: dict):
        """Score a lead-shaped dict under this version: the one place scoring is applied."""
        return score_lead(
            criteria=self.criteria,
            disqualifiers=self.disqualifiers,
            qualify_at=self.qualify_at,
            data=data,
        )


# What sla.clocks.with_sla_status reads of a lead (the inbox indexes carry them).
INBOX_STATUS = [
    "qualifies",
    "closed_at",
    "sla_first_state",
    "sla_first_due_at",
    "sla_first_at_risk_at",
    "sla_next_touch_due_at",
]


class Lead(models.Model):
    class Verdict(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    # --- who the lead is (delivered by marketing) ---
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=100, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True)
    # Unique per marketing team: another team's id is simply not a duplicate.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (unique when set)
    marketing_team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The marketing team that delivered it (its agreement's).",
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    attributes = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    # --- how it was judged ---
    definition_version = models.ForeignKey(
        LeadDefinitionVersion, on_delete=models.PROTECT, related_name="leads"
    )
    score = models.IntegerField(default=0)
    qualifies = models.BooleanField(default=False)
    score_explanation = models.JSONField(default=list, blank=True)
    disqualified_by = models.JSONField(default=list, blank=True)

    # --- where it is and who answers for it ---
    stage = models.ForeignKey("funnel.Stage", on_delete=models.PROTECT, related_name="leads")
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The open lead of the same agreement with this e-mail, delivered within the
    # agreement's duplicate window: this one starts no clock and counts as a duplicate.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )

    # --- sales' verdict and the end of the lead's clocks ---
    verdict = models.CharField(max_length=10, choices=Verdict.choices, default=Verdict.PENDING)
    verdict_reason = models.ForeignKey(
        ReasonCode, null=True, blank=True, on_delete=models.PROTECT, related_name="leads"
    )
    verdict_note = models.TextField(blank=True)
    verdict_at = models.DateTimeField(null=True, blank=True)
    verdict_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    abandoned_at = models.DateTimeField(null=True, blank=True)
    abandon_reason = models.CharField(max_length=200, blank=True)
    abandon_note = models.TextField(blank=True)
    abandoned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="Rejected, abandoned, or moved to a won or lost stage."
    )

    # --- its SLA clocks, summed up (written only by sla.clocks.clocks_summarise and by
    # delivery) so that lists read the status and the next due time from the lead's own
    # row, and the inbox's order is an index ---
    sla_first_due_at = models.DateTimeField(null=True, blank=True)
    sla_first_at_risk_at = models.DateTimeField(null=True, blank=True)
    sla_first_state = models.CharField(
        max_length=10, blank=True, help_text="The first-touch clock: running, kept or late."
    )
    sla_next_touch_due_at = models.DateTimeField(
        null=True, blank=True, help_text="The running next-touch clock's due time."
    )
    sla_due_at = models.DateTimeField(
        null=True, blank=True, help_text="The earliest due time of a running clock."
    )
    # The instant the prospect asked to be contacted (a pending callback), for the inbox.
    sla_callback_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["marketing_team", "external_id"],
                condition=Q(external_id__isnull=False) & ~Q(external_id=""),
                name="lead_external_id_once_per_team",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="lead_idempotency_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "received_at"]),
            models.Index(fields=["team", "received_at"]),
            # The sales lists' order (sla.selectors.lead_list): the earliest running clock
            # first (ascending puts nulls last), then the newest, for a rep and a team; and
            # the same over the open leads an inbox shows, carrying what the status reads,
            # so an inbox's status counts are an index-only scan.
            models.Index(
                fields=["owner", "sla_due_at", "-received_at", "-id"], name="lead_owner_urgency"
            ),
            models.Index(
                fields=["team", "sla_due_at", "-received_at", "-id"], name="lead_team_urgency"
            ),
            models.Index(
                fields=["owner", "sla_due_at", "-received_at", "-id", *INBOX_STATUS],
                condition=Q(closed_at__isnull=True, qualifies=True),
                name="lead_inbox_owner",
            ),
            models.Index(
                fields=["team", "sla_due_at", "-received_at", "-id", *INBOX_STATUS],
                condition=Q(closed_at__isnull=True, qualifies=True),
                name="lead_inbox_team",
            ),
            models.Index(fields=["received_at"]),
            # Duplicates by e-mail: the open leads with an address, newest first.
            models.Index(
                Lower("email"),
                F("received_at").desc(),
                condition=Q(closed_at__isnull=True, duplicate_of__isnull=True),
                name="lead_open_email",
            ),
            # The premature-abandon check looks only at abandoned leads.
            models.Index(
                fields=["abandoned_at"],
                condition=Q(abandoned_at__isnull=False),
                name="lead_abandoned",
            ),
        ]

    def __str__(self):
        name = f"{self.first_name} {self.last_name}".strip() or self.email
        return f"{name} ({self.company})" if self.company else name

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class OwnerChange(models.Model):
    """The lead changed hands: who had it before, who has it now, when, by whom, and why.

    The owner at any past instant is the `from_owner` of the first change after it (or
    the current owner when there is none), so flags name whoever owned the lead when the
    promise was broken, and the lead shows its assignment history. The first assignment
    at delivery is the lead's own `owner`/`assigned_at` and writes no row.
    """

    class Reason(models.TextChoices):
        MANUAL = "manual", "Assigned by a manager"
        ABSENCE = "absence", "Moved while the owner was away"
        ROUND_ROBIN = "round_robin", "Round robin"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="owner_changes")
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.MANUAL)

    class Meta:
        ordering = ["lead", "at", "id"]
        indexes = [models.Index(fields=["lead", "at"])]

    def __str__(self):
        return f"lead {self.lead_id}: {self.from_owner_id} → {self.to_owner_id} at {self.at}"


class Touch(models.Model):
    """A contact attempt by sales."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        SOCIAL = "social", "Social"

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left message"
        CONNECTED = "connected", "Connected"
        BOUNCED = "bounced", "Bounced"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="touches")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"])]

    def __str__(self):
        return (
            f"{self.get_kind_display()} ({self.get_outcome_display()}) at {self.at:%Y-%m-%d %H:%M}"
        )


class AssignmentCursor(models.Model):
    """Where round robin stopped in a team: the last rep who was given a lead.

    Delivery locks this row, so concurrent deliveries to one team take turns and the
    reps' counts stay within one lead of each other.
    """

    team = models.OneToOneField(
        "accounts.Team", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"{self.team_id} → {self.last_user_id}"
