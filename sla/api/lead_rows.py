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
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from leads.models import Lead
from leads.scoring import LEAD_FIELDS
from sla.selectors import lead_sla

_instant = serializers.DateTimeField()


def answer_zone():
    """The zone DRF writes instants in (the current one), read once for a whole answer;
    None when DRF is set to write them some other way than ISO 8601."""
    if str(api_settings.DATETIME_FORMAT).lower() != ISO_8601:
        return None
    return timezone.get_current_timezone()


def instant(value: datetime | None, zone=None) -> str | None:
    """An instant as DRF writes it (ISO 8601, UTC as `Z`). Given `answer_zone()`, the
    same text without a DRF field call per value (a page of the list writes 500)."""
    if value is None:
        return None
    if zone is None or isinstance(value, str) or value.utcoffset() is None:
        return _instant.to_representation(value)
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _sla(block: dict, zone=None) -> dict:
    return {
        "status": block["status"],
        "first_touch_due_at": instant(block["first_touch_due_at"], zone),
        "first_touch_at_risk_at": instant(block["first_touch_at_risk_at"], zone),
        "first_touched_at": instant(block["first_touched_at"], zone),
        "next_touch_due_at": instant(block["next_touch_due_at"], zone),
        "attempts": block["attempts"],
        "attempts_required": block["attempts_required"],
        "tier": block["tier"],
    }


# The lead's own columns every answer shows as they are stored.
_ANSWERED = (
    "id",
    *LEAD_FIELDS,
    "received_at",
    "attributes",
    "score",
    "qualifies",
    "score_explanation",
    "disqualified_by",
    "team_id",
    "duplicate_of_id",
    "verdict",
    "verdict_note",
    "verdict_at",
    "assigned_at",
    "abandoned_at",
    "abandon_reason",
    "closed_at",
    "created_at",
)


def _answer(own: dict, *, related: dict, sla: dict, zone=None) -> dict:
    """LeadSerializer's JSON from the lead's own columns (`_ANSWERED`), what it names
    across relations (stage, owner, agreement, definition, definition_version,
    verdict_reason) and its `sla` block: the one place both answers are built."""
    zone = answer_zone() if zone is None else zone
    item = {"id": own["id"]}
    for name in LEAD_FIELDS:
        value = own[name]
        item[name] = value if name == "company_size" or value is None else str(value)
    item.update(
        {
            "received_at": instant(own["received_at"], zone),
            "attributes": own["attributes"],
            "score": own["score"],
            "qualifies": own["qualifies"],
            "score_explanation": [
                {"label": str(entry["label"]), "points": int(entry["points"])}
                for entry in own["score_explanation"] or []
            ],
            "disqualified_by": [str(rule) for rule in own["disqualified_by"] or []],
            "stage": related["stage"],
            "owner": related["owner"],
            "team": own["team_id"],
            "duplicate_of": own["duplicate_of_id"],
            "agreement": related["agreement"],
            "verdict": own["verdict"],
            "sla": _sla(sla, zone),
            "definition": related["definition"],
            "definition_version": related["definition_version"],
            "verdict_reason": related["verdict_reason"],
            "verdict_note": own["verdict_note"],
            "verdict_at": instant(own["verdict_at"], zone),
            "assigned_at": instant(own["assigned_at"], zone),
            "abandoned_at": instant(own["abandoned_at"], zone),
            "abandon_reason": own["abandon_reason"],
            "closed_at": instant(own["closed_at"], zone),
            "created_at": instant(own["created_at"], zone),
        }
    )
    return item


def lead_row(lead: Lead, *, now: datetime) -> dict:
    """One lead (an instance with its relations), exactly as LeadSerializer answers it."""
    terms = getattr(lead, "terms", None)
    version = lead.definition_version
    related = {
        "stage": lead.stage.slug,
        "owner": lead.owner.username if lead.owner_id else None,
        "agreement": terms.agreement_id if terms else None,
        "definition": version.definition_id,
        "definition_version": version.version,
        "verdict_reason": lead.verdict_reason.code if lead.verdict_reason_id else None,
    }
    own = {"id": lead.pk, **{name: getattr(lead, name) for name in _ANSWERED[1:]}}
    return _answer(own, related=related, sla=lead_sla(lead, now=now))


# --- the list from plain rows -------------------------------------------------------------

# The lead's own columns a list row shows, and what it reads across a join.
_OWN = (
    *_ANSWERED,
    "sla_first_due_at",
    "sla_first_at_risk_at",
    "sla_first_state",
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
    "j_tier": "terms__tier",
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
    # The summary names the state of the latest first-touch clock: one still running (or
    # none at all) was not stopped by a touch, so only the others' clocks are read (on
    # an inbox's first pages, the most urgent first, none).
    stopped = [row["id"] for row in rows if row["sla_first_state"] not in ("running", "")]
    touched = {}
    clocks = Clock.objects.filter(lead_id__in=stopped, kind=Clock.Kind.FIRST_TOUCH)
    clocks = clocks.order_by("started_at", "id").values_list("lead_id", "stopped_at", "stop_reason")
    for lead_id, stopped_at, reason in clocks if stopped else ():
        touched[lead_id] = stopped_at if reason == "touch" else None  # the last one wins
    answer, zone = [], answer_zone()
    for row in rows:
        definition, number = versions[row["definition_version_id"]]
        related = {
            "stage": row["j_stage"],
            "owner": row["j_owner"],
            "agreement": row["j_agreement"],
            "definition": definition,
            "definition_version": number,
            "verdict_reason": reasons.get(row["verdict_reason_id"]),
        }
        sla = {
            "status": row["sla_status"],
            "first_touch_due_at": row["sla_first_due_at"],
            "first_touch_at_risk_at": row["sla_first_at_risk_at"],
            "first_touched_at": touched.get(row["id"]),
            "next_touch_due_at": row["sla_next_touch_due_at"],
            "attempts": row["touch_count"],
            "attempts_required": row["j_attempts_required"],
            "tier": row["j_tier"] or None,
        }
        answer.append(_answer(row, related=related, sla=sla, zone=zone))
    return answer
