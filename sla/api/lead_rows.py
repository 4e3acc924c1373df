"""The leads list's answer, built by hand: the same JSON as `LeadSerializer`, without a
serializer and its fields per row (DRF spent more on 50 rows than the database did).

`LeadSerializer` stays the documented shape (the OpenAPI schema) and the answer of a
single lead; tests/sla/test_lead_rows.py holds the two equal on leads in every state.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from rest_framework import serializers

from leads.models import Lead
from leads.scoring import LEAD_FIELDS
from sla.selectors import lead_sla

_instant = serializers.DateTimeField()


def instant(value: datetime | None) -> str | None:
    """An instant as DRF writes it (ISO 8601, UTC as `Z`)."""
    return None if value is None else _instant.to_representation(value)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _sla(block: dict) -> dict:
    return {
        "status": block["status"],
        "first_touch_due_at": instant(block["first_touch_due_at"]),
        "first_touch_at_risk_at": instant(block["first_touch_at_risk_at"]),
        "first_touched_at": instant(block["first_touched_at"]),
        "next_touch_due_at": instant(block["next_touch_due_at"]),
        "attempts": block["attempts"],
        "attempts_required": block["attempts_required"],
    }


def lead_row(lead: Lead, *, now: datetime) -> dict:
    """One lead of a list, exactly as LeadSerializer answers it."""
    terms = getattr(lead, "terms", None)
    version = lead.definition_version
    row = {"id": lead.pk}
    for name in LEAD_FIELDS:
        value = getattr(lead, name)
        row[name] = value if name == "company_size" or value is None else str(value)
    row.update(
        {
            "received_at": instant(lead.received_at),
            "attributes": lead.attributes,
            "score": lead.score,
            "qualifies": lead.qualifies,
            "score_explanation": [
                {"label": str(item["label"]), "points": int(item["points"])}
                for item in lead.score_explanation or []
            ],
            "disqualified_by": [str(rule) for rule in lead.disqualified_by or []],
            "stage": lead.stage.slug,
            "owner": lead.owner.username if lead.owner_id else None,
            "team": lead.team_id,
            "agreement": terms.agreement_id if terms else None,
            "verdict": lead.verdict,
            "sla": _sla(lead_sla(lead, now=now)),
            "definition": version.definition_id,
            "definition_version": version.version,
            "verdict_reason": lead.verdict_reason.code if lead.verdict_reason_id else None,
            "verdict_note": lead.verdict_note,
            "verdict_at": instant(lead.verdict_at),
            "assigned_at": instant(lead.assigned_at),
            "abandoned_at": instant(lead.abandoned_at),
            "abandon_reason": lead.abandon_reason,
            "closed_at": instant(lead.closed_at),
            "created_at": instant(lead.created_at),
        }
    )
    return row


class LeadRowSerializer(serializers.BaseSerializer):
    """Read-only: `lead_row` for each lead of a page (context `now`, as LeadSerializer)."""

    def to_representation(self, instance):
        return lead_row(instance, now=self.context.get("now") or timezone.now())
