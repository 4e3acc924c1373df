"""The leads API's answers built by hand: the same JSON as `LeadSerializer`, without a
serializer and its fields per row (DRF spent more on 50 rows than the database did).

`lead_row` answers a lead just delivered; `lead_values` + `lead_rows` a page of the list
from plain rows. `LeadSerializer` stays the documented shape (the OpenAPI schema) and
the answer of a lead read back; tests/sla/test_lead_rows.py holds them equal on leads
in every state.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
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


# --- the list from plain rows -------------------------------------------------------------

# The lead's own columns a list row shows, and what it reads across a join.
_OWN = (
    "id",
    *LEAD_FIELDS,
    "received_at",
    "attributes",
    "score",
    "qualifies",
    "score_explanation",
    "disqualified_by",
    "team_id",
    "verdict",
    "verdict_note",
    "verdict_at",
    "assigned_at",
    "abandoned_at",
    "abandon_reason",
    "closed_at",
    "created_at",
    "sla_first_due_at",
    "sla_first_at_risk_at",
    "sla_next_touch_due_at",
    "sla_status",
    "touch_count",
    "definition_version_id",
    "verdict_reason_id",
)
_JOINED = {
    "j_stage": "stage__slug",
    "j_owner": "owner__username",
    "j_agreement": "terms__agreement_id",
    "j_attempts_required": "terms__attempts_required",
}


_JOINED_F = {name: F(path) for name, path in _JOINED.items()}


def lead_values(queryset):
    """A `lead_list` queryset as plain rows for `lead_rows` (no model instance per lead).

    Joined: the stage, the owner and the terms; the definition version and the reason
    code are read once per page (each join more costs PostgreSQL about a millisecond of
    planning). Counting the rows counts the leads, without the row's joins and subquery.
    """
    rows = queryset.select_related(None).prefetch_related(None).values(*_OWN, **_JOINED_F)
    rows.count = queryset.count
    return rows


def lead_rows(rows: list[dict]) -> list[dict]:
    """The list's answer for a page of `lead_values` rows, exactly as LeadSerializer (the
    status from the stored clock summary, as `sla.clocks.with_sla_status` reads it; when
    the latest first-touch clock was stopped by a touch, from one query for the page)."""
    from leads.models import LeadDefinitionVersion, ReasonCode
    from sla.models import Clock

    versions = {
        pk: (definition, number)
        for pk, definition, number in LeadDefinitionVersion.objects.filter(
            pk__in={row["definition_version_id"] for row in rows}
        ).values_list("pk", "definition_id", "version")
    }
    reason_ids = {row["verdict_reason_id"] for row in rows} - {None}
    reasons = (
        dict(ReasonCode.objects.filter(pk__in=reason_ids).values_list("pk", "code"))
        if reason_ids
        else {}
    )
    touched = {}
    clocks = Clock.objects.filter(
        lead_id__in=[row["id"] for row in rows], kind=Clock.Kind.FIRST_TOUCH
    ).order_by("started_at", "id")
    for lead_id, stopped_at, reason in clocks.values_list("lead_id", "stopped_at", "stop_reason"):
        touched[lead_id] = stopped_at if reason == "touch" else None  # the last one wins
    answer = []
    for row in rows:
        item = {"id": row["id"]}
        for name in LEAD_FIELDS:
            value = row[name]
            item[name] = value if name == "company_size" or value is None else str(value)
        item.update(
            {
                "received_at": instant(row["received_at"]),
                "attributes": row["attributes"],
                "score": row["score"],
                "qualifies": row["qualifies"],
                "score_explanation": [
                    {"label": str(entry["label"]), "points": int(entry["points"])}
                    for entry in row["score_explanation"] or []
                ],
                "disqualified_by": [str(rule) for rule in row["disqualified_by"] or []],
                "stage": row["j_stage"],
                "owner": row["j_owner"],
                "team": row["team_id"],
                "agreement": row["j_agreement"],
                "verdict": row["verdict"],
                "sla": {
                    "status": row["sla_status"],
                    "first_touch_due_at": instant(row["sla_first_due_at"]),
                    "first_touch_at_risk_at": instant(row["sla_first_at_risk_at"]),
                    "first_touched_at": instant(touched.get(row["id"])),
                    "next_touch_due_at": instant(row["sla_next_touch_due_at"]),
                    "attempts": row["touch_count"],
                    "attempts_required": row["j_attempts_required"],
                },
                "definition": versions[row["definition_version_id"]][0],
                "definition_version": versions[row["definition_version_id"]][1],
                "verdict_reason": reasons.get(row["verdict_reason_id"]),
                "verdict_note": row["verdict_note"],
                "verdict_at": instant(row["verdict_at"]),
                "assigned_at": instant(row["assigned_at"]),
                "abandoned_at": instant(row["abandoned_at"]),
                "abandon_reason": row["abandon_reason"],
                "closed_at": instant(row["closed_at"]),
                "created_at": instant(row["created_at"]),
            }
        )
        answer.append(item)
    return answer
