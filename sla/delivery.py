"""Delivering leads, N at a time, in a constant number of queries per batch.

One API lead, a batch of 1,000, a chunk of a million-row CSV and an inbound event all
come through `leads_deliver`:

1. look up every Idempotency-Key and external_id of the batch at once: a repeat is a
   duplicate of the first lead (a repeat inside the batch, of the earlier item);
2. check each item in Python: `received_at`, the agreement in effect (all agreements
   are read once), who may deliver to it, and the lead's own fields, scored under the
   agreement's definition version;
3. assign the qualifying leads round robin, per sales team, under one short lock on
   the team's cursor (fair exactly as one at a time);
4. compute each first-touch due time with the business-time engine, then insert leads,
   stage history, terms and clocks with one multi-row INSERT each.

Should a concurrent delivery of the same key commit first, the unique constraints
refuse the batch's INSERT; the batch is then delivered item by item, each in its own
savepoint, and the item that lost the race answers the lead that won it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.access import may_deliver_to
from core.bulk import bulk_insert
from funnel.models import StageChange
from leads.models import Lead
from leads.services import leads as records
from sla.clocks import clock_times
from sla.models import Agreement, Clock, LeadTerms

CREATED, DUPLICATE, ERROR = "created", "duplicate", "error"


@dataclass
class Delivered:
    """The outcome of one item: the lead (created, or the first one), or its errors."""

    index: int
    status: str
    lead: Lead | None = None
    errors: dict = field(default_factory=dict)


@dataclass
class _Item:
    index: int
    data: dict
    key: str | None
    external_id: str | None
    agreement: Agreement | None = None
    lead: Lead | None = None
    repeat_of: _Item | None = None  # an earlier item of the batch with the same key


class _Terms:
    """What a batch reads once per agreement: version, stage, calendar, current terms."""

    def __init__(self):
        self._cache: dict = {}

    def get(self, agreement: Agreement) -> dict:
        found = self._cache.get(agreement.pk)
        if found is None:
            found = self._cache[agreement.pk] = {
                "definition_version": agreement.definition.current_version,
                "agreement_version": agreement.current_version(),
                "calendar": agreement.calendar.as_work_calendar(),
            }
        return found


def errors_of(exc: ValidationError) -> dict:
    """A ValidationError as the API's `{field: [messages]}`."""
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def leads_deliver(
    *,
    by,
    items: Sequence[dict],
    agreement: Agreement | None = None,
    keys: Sequence[str | None] | None = None,
    now: datetime,
    dry_run: bool = False,
    import_job_id: int | None = None,
) -> list[Delivered]:
    """Deliver each item (a lead body; `agreement` may name one per item). Results come
    in item order; an item's error changes nothing of the others.

    `dry_run` checks every item exactly as a delivery would and writes nothing (an
    import's first pass); `import_job_id` marks the leads as that import's.
    """
    keys = list(keys) if keys is not None else [None] * len(items)
    batch = [
        _Item(
            index=i,
            data=data,
            key=(keys[i] or None),
            external_id=(str(data.get("external_id") or "").strip() or None),
        )
        for i, data in enumerate(items)
    ]
    try:
        with transaction.atomic():
            return _deliver(
                by=by,
                batch=batch,
                agreement=agreement,
                now=now,
                dry_run=dry_run,
                import_job_id=import_job_id,
            )
    except IntegrityError:
        if len(batch) == 1:
            found = _existing([batch[0]]).get(_identity(batch[0]))
            if found is None:
                raise
            return [Delivered(index=0, status=DUPLICATE, lead=found)]
    # A concurrent delivery of the same key won a race: one savepoint per item.
    results = []
    for item in batch:
        [result] = leads_deliver(
            by=by,
            items=[item.data],
            agreement=agreement,
            keys=[item.key],
            now=now,
            import_job_id=import_job_id,
        )
        result.index = item.index
        results.append(result)
    return results


def _identity(item: _Item) -> tuple:
    return (item.key, item.external_id)


def _existing(batch: list[_Item]) -> dict[tuple, Lead]:
    """{(key, external_id): the lead they name}: one query for the whole batch."""
    keys = {item.key for item in batch if item.key}
    ids = {item.external_id for item in batch if item.external_id}
    if not keys and not ids:
        return {}
    query = Q(idempotency_key__in=keys) if keys else Q()
    if ids:
        query = query | Q(external_id__in=ids) if keys else Q(external_id__in=ids)
    leads = list(Lead.objects.filter(query))
    by_key = {lead.idempotency_key: lead for lead in leads if lead.idempotency_key}
    by_id = {lead.external_id: lead for lead in leads if lead.external_id}
    found = {}
    for item in batch:
        # The Idempotency-Key wins over the external_id, as for one lead.
        lead = by_key.get(item.key) if item.key else None
        lead = lead or (by_id.get(item.external_id) if item.external_id else None)
        if lead is not None:
            found[_identity(item)] = lead
    return found


def _agreements() -> list[Agreement]:
    return list(
        Agreement.objects.select_related("calendar", "definition", "sales_team", "marketing_team")
    )


def _resolve(item: _Item, *, named: Agreement | None, every, received_at) -> Agreement:
    """The item's agreement; `every()` reads all agreements, once, only when needed."""
    wanted = item.data.get("agreement", named)
    if isinstance(wanted, int):
        wanted = next((a for a in every() if a.pk == wanted), None)
        if wanted is None:
            raise ValidationError({"agreement": f"There is no agreement {item.data['agreement']}."})
    if wanted is None:
        candidates = [a for a in every() if a.in_effect_at(received_at)]
        if len(candidates) != 1:
            found = "none is" if not candidates else f"{len(candidates)} are"
            when = received_at.isoformat()
            raise ValidationError(
                {"agreement": f"Name the agreement: {found} in effect at {when}."}
            )
        return candidates[0]
    if not wanted.in_effect_at(received_at):
        raise ValidationError(
            {"agreement": f"Agreement {wanted.pk} is not in effect when the lead was received."}
        )
    return wanted


def _deliver(
    *, by, batch: list[_Item], agreement, now, dry_run: bool, import_job_id: int | None
) -> list[Delivered]:
    """Steps 1 to 4 of the module docstring, inside the caller's transaction."""
    results: dict[int, Delivered] = {}
    existing = _existing(batch)
    first_of: dict[tuple, _Item] = {}  # in-batch repeats point at the first item
    todo: list[_Item] = []
    loaded: list[list[Agreement]] = []

    def every() -> list[Agreement]:
        if not loaded:
            loaded.append(_agreements())
        return loaded[0]

    allowed: dict[int, bool] = {}
    terms = _Terms()
    stage = None
    for item in batch:
        lead = existing.get(_identity(item))
        if lead is not None:
            results[item.index] = Delivered(index=item.index, status=DUPLICATE, lead=lead)
            continue
        repeat = (item.key and first_of.get(("k", item.key))) or (
            item.external_id and first_of.get(("x", item.external_id))
        )
        if repeat:
            results[item.index] = Delivered(index=item.index, status=DUPLICATE)
            item.repeat_of = repeat  # answered with the first item's lead once inserted
            continue
        try:
            received_at = item.data.get("received_at") or now
            if received_at > now:
                raise ValidationError({"received_at": "may not be in the future."})
            chosen = _resolve(item, named=agreement, every=every, received_at=received_at)
            if chosen.marketing_team_id not in allowed:
                allowed[chosen.marketing_team_id] = may_deliver_to(
                    by, marketing_team_id=chosen.marketing_team_id
                )
            if not allowed[chosen.marketing_team_id]:
                raise ValidationError(
                    {"agreement": "You deliver only to your marketing team's agreements."}
                )
            if stage is None:
                stage = records.entry_stage()
            item.agreement = chosen
            item.lead = records.lead_build(
                data={**item.data, "received_at": received_at},
                version=terms.get(chosen)["definition_version"],
                received_at=received_at,
                stage=stage,
                team=chosen.sales_team,
                by=by,
                external_id=item.external_id,
                idempotency_key=item.key,
            )
        except ValidationError as exc:
            results[item.index] = Delivered(index=item.index, status=ERROR, errors=errors_of(exc))
            continue
        if item.key:
            first_of[("k", item.key)] = item
        if item.external_id:
            first_of[("x", item.external_id)] = item
        todo.append(item)
    if dry_run:
        return [results.get(i) or Delivered(index=i, status=CREATED) for i in range(len(batch))]
    _assign(todo)
    _insert(todo, by=by, terms=terms, now=now, import_job_id=import_job_id)
    for item in todo:
        results[item.index] = Delivered(index=item.index, status=CREATED, lead=item.lead)
    for result in results.values():
        if result.status == DUPLICATE and result.lead is None:
            result.lead = batch[result.index].repeat_of.lead
    return [results[i] for i in range(len(batch))]


def _assign(todo: list[_Item]) -> None:
    """Round robin per sales team, in delivery order, one lock per team."""
    by_team: dict[int, list[_Item]] = defaultdict(list)
    for item in todo:
        if item.lead.qualifies:
            by_team[item.agreement.sales_team_id].append(item)
    for items in by_team.values():
        team = items[0].agreement.sales_team
        for item, rep in zip(items, records.reps_take(team=team, count=len(items)), strict=True):
            item.lead.owner = rep
            item.lead.assigned_at = item.lead.received_at if rep else None


LEAD_COLUMNS = [f.attname for f in Lead._meta.concrete_fields if not f.primary_key]


def _insert(todo: list[_Item], *, by, terms: _Terms, now, import_job_id: int | None) -> None:
    """Leads, their first stage-history row, terms and first-touch clocks: four INSERTs."""
    if not todo:
        return
    first_clocks = []
    for item in todo:
        item.lead.created_at = item.lead.updated_at = now
        clock = None
        if item.lead.qualifies:
            clock = _first_clock(item, calendar=terms.get(item.agreement)["calendar"])
            first_clocks.append((item, clock))
        for name, value in _summary(clock).items():
            setattr(item.lead, name, value)
    rows = [{name: getattr(item.lead, name) for name in LEAD_COLUMNS} for item in todo]
    ids = bulk_insert(Lead, rows, returning_ids=True)
    for item, lead_id in zip(todo, ids, strict=True):
        item.lead.pk = lead_id
        item.lead._state.adding, item.lead._state.db = False, "default"
    bulk_insert(
        StageChange,
        [
            {
                "lead_id": item.lead.pk,
                "from_stage_id": None,
                "to_stage_id": item.lead.stage_id,
                "at": item.lead.received_at,
                "by_id": by.pk if by else None,
                "note": "Delivered",
            }
            for item in todo
        ],
    )
    for item, clock in first_clocks:
        clock["lead_id"] = item.lead.pk
    bulk_insert(
        LeadTerms,
        [
            {
                "lead_id": item.lead.pk,
                "agreement_id": item.agreement.pk,
                "agreement_version_id": terms.get(item.agreement)["agreement_version"].pk,
                "attempts_required": item.agreement.attempts_before_abandon,
                "import_job_id": import_job_id,
            }
            for item in todo
        ],
    )
    bulk_insert(Clock, [clock for _, clock in first_clocks])


def _summary(clock: dict | None) -> dict:
    """The clock summary of a lead just delivered, as sla.clocks.clocks_summarise writes it."""
    if clock is None:
        return {
            "sla_first_due_at": None,
            "sla_first_at_risk_at": None,
            "sla_first_state": "",
            "sla_next_touch_due_at": None,
            "sla_due_at": None,
        }
    return {
        "sla_first_due_at": clock["due_at"],
        "sla_first_at_risk_at": clock["at_risk_at"],
        "sla_first_state": "running",
        "sla_next_touch_due_at": None,
        "sla_due_at": clock["due_at"],
    }


def _first_clock(item: _Item, *, calendar) -> dict:
    """The first-touch clock of a delivered lead, its due and at-risk times computed once."""
    agreement, start = item.agreement, item.lead.received_at
    minutes = agreement.first_touch_minutes
    due_at, at_risk_at = clock_times(
        calendar=calendar, at=start, minutes=minutes, at_risk_percent=agreement.at_risk_percent
    )
    return {
        "lead_id": item.lead.pk,  # set once the lead is inserted
        "kind": Clock.Kind.FIRST_TOUCH,
        "state": Clock.State.RUNNING,
        "started_at": start,
        "due_at": due_at,
        "at_risk_at": at_risk_at,
        "business_minutes": minutes,
        "stopped_at": None,
        "stop_reason": "",
        "breached_at": None,
        "at_risk_flagged_at": None,
    }


__all__ = ["CREATED", "DUPLICATE", "ERROR", "Delivered", "errors_of", "leads_deliver"]
