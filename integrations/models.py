"""Webhook endpoints and their deliveries (outbound); event sources and the events and
messages they sent (inbound). Secrets are stored encrypted (integrations/secrets.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

EVENT_TYPES = [
    ("lead.delivered", "A lead was delivered"),
    ("lead.assigned", "A lead was given to a rep"),
    ("flag.raised", "A flag was raised"),
    ("flag.resolved", "A flag was resolved"),
    ("lead.verdict", "Sales accepted or rejected a lead"),
    ("commitment.logged", "Marketing logged a monthly commitment"),
    ("agreement.signed", "A new agreement version took effect"),
]
EVENT_NAMES = [name for name, _ in EVENT_TYPES]
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """Where events go: an https URL, the event types it wants, its signing secret."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="Event types it is sent.")
    active = models.BooleanField(default=True)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Disabling: consecutive events that exhausted their retries, and since when failing.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.url


class Event(models.Model):
    """One thing that happened, as sent: a stable id (receivers drop repeats by it)."""

    id = models.CharField(max_length=120, primary_key=True)
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    payload = models.JSONField(help_text="The `data` object of the envelope.")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["type", "occurred_at"])]

    def __str__(self):
        return self.id


class EventCursor(models.Model):
    """How far the change feed has read one event type."""

    type = models.CharField(max_length=40, primary_key=True)
    position = models.DateTimeField()

    def __str__(self):
        return f"{self.type} @ {self.position}"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the same webhook-id on every attempt."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When the last attempt ran.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.event_id} → {self.endpoint_id} ({self.state})"


class EventSource(models.Model):
    """Another system that posts events: its secret, the agreement its new leads go to
    and the user its stage moves and leads are recorded as (touches: the lead's owner)."""

    name = models.CharField(max_length=100, unique=True)
    agreement = models.ForeignKey(
        "sla.Agreement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class InboundMessage(models.Model):
    """A signed request seen (its webhook-id), so a replay of it is refused."""

    source = models.ForeignKey(EventSource, on_delete=models.CASCADE, related_name="messages")
    message_id = models.CharField(max_length=200)
    received_at = models.DateTimeField()
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id"], name="inbound_message_once")
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self):
        return f"{self.source_id}:{self.message_id}"


class InboundEvent(models.Model):
    """An event applied from a source, by its own id: a repeat is a duplicate."""

    source = models.ForeignKey(EventSource, on_delete=models.CASCADE, related_name="events")
    external_id = models.CharField(max_length=200)
    type = models.CharField(max_length=10)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="inbound_event_once")
        ]

    def __str__(self):
        return f"{self.source_id}:{self.external_id}"
