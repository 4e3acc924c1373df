"""Funnel stages (ordered, each with entry and exit definitions) and each lead's stage history.

funnel imports neither leads nor sla; the history's `lead` is a string reference so the
table lives here beside the stages it records, as DESIGN.md places it.
"""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(help_text="Order in the funnel, lowest first.")
    entry_definition = models.TextField(blank=True, help_text="What must be true to enter.")
    exit_definition = models.TextField(blank=True, help_text="What must be true to leave.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OPEN)
    is_active = models.BooleanField(default=True)
    reopenable = models.BooleanField(
        default=False, help_text="A lead further on may move back to it (forward moves always may)."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind in (self.Kind.WON, self.Kind.LOST)


class StageChange(models.Model):
    """One move of a lead from a stage to another: from, to, when, who, note."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["lead", "at"])]

    def __str__(self):
        return (
            f"{self.lead_id}: {self.from_stage_id} → {self.to_stage_id} at {self.at:%Y-%m-%d %H:%M}"
        )
