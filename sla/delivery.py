"""Delivering leads, N at a time, in a constant number of queries per batch.

One API lead, a batch of 1,000, a chunk of a million-row CSV and an inbound event all
come through `leads_deliver`:

1. look up every Idempotency-Key and external_id of the batch at once: a repeat is a
   duplicate of the first lead (a repeat inside the batch, of the earlier item);
2. check each item in Python: `received_at`, the agreement in effect (all agreements
   are read once), who may deliver to it, and the lead's own fields, scored under the
   agreement's definition version, then given the first tier it matches (sla.terms);
3. assign the qualifying leads round robin, per sales team, under one short lock on
   the team's cursor (fair exactly as one at a time);
4. compute each first-touch due time (its tier's window) with the business-time engine,
   then insert leads, stage history, terms and clocks with one multi-row INSERT each.

Should a concurrent delivery of the same key commit first, the unique constraints
refuse the batch's INSERT; the batch is then delivered item by item, each in its own
savepoint, and the item that lost the race answers the lead that won it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Q, Value, When

from accounts.access import may_deliver_to
from accounts.models import Team
from calendars.models import BusinessCalendar
from core.bulk import copy_insert, insert_together, instance_of, select_columns, sequence_current
from core.errors import RuleRefused
from funnel.models import Stage, StageChange
from leads.csvfile import CheckedEmail
from leads.models import Lead, LeadDefinition, LeadDefinitionVersion
from leads.scoring import scorer
from leads.services import leads as records
from sla.books import ClosedMonths
from sla.checks.months import month_evaluations_reopen
from sla.clocks import clock_times
from sla.duplicates import DUPLICATE_REASON, Candidate, duplicates_find, duplicates_notify
from sla.flags import flags_insert, unassigned_flag
from sla.models import Agreement, AgreementVersion, Clock, LeadTerms
from sla.terms import SalesTerms, sales_terms_for

CREATED, DUPLICATE, ERROR = "created", "duplicate", "error"


class Delivered:
    """The outcome of one item: the lead (created, or the first one), or its errors.

    A created lead is a row, not a model instance: `lead` builds the instance the first
    time it is read (the API answers one lead; an import of a million reads none).
    """

    __slots__ = ("index", "status", "errors", "rule", "lead_id", "_lead", "_row", "_related")

    def __init__(
        self,
        *,
        index,
        status,
        lead=None,
        errors=None,
        lead_id=None,
        row=None,
        related=None,
        rule=None,
    ):
        self.index, self.status, self.errors = index, status, errors or {}
        # An error that is a rule of state (a closed month), not bad input: its name.
        self.rule = rule
        self._lead, self._row, self._related = lead, row, related
        self.lead_id = lead.pk if lead is not None else lead_id

    @property
    def lead(self) -> Lead | None:
        if self._lead is None and self._row is not None:
            self._lead = _lead_of(self._row, self.lead_id, self._related)
        return self._lead

    @lead.setter
    def lead(self, value: Lead | None) -> None:
        self._lead, self._row = value, None
        self.lead_id = value.pk if value is not None else None

    def as_delivered(self) -> Lead | None:
        """A created lead as it stands the instant it was delivered, with its first
        clock and no touch: what its answer shows, without reading it back. None when
        the clock's id is not known (a COPY of a large batch)."""
        if self.status != CREATED or self._row is None:
            return None
        clock = self._related[0].clock
        if clock is not None and "id" not in clock:
            return None
        lead = _lead_of(self._row, self.lead_id, self._related)
        clocks = []
        if clock is not None:
            clocks.append(Clock(**clock))
            clocks[0]._state.adding, clocks[0]._state.db = False, "default"
        prefetched = Clock.objects.filter(lead_id=lead.pk)
        prefetched._result_cache, prefetched._prefetch_done = clocks, True
        lead._prefetched_objects_cache = {"clocks": prefetched}
        lead.touch_count = 0
        return lead

    def __repr__(self):
        return f"Delivered(index={self.index}, status={self.status!r}, lead_id={self.lead_id})"


def _lead_of(row: dict, lead_id: int, related: tuple | None) -> Lead:
    """The saved lead a delivered row became, with the objects the batch already holds
    (stage, owner, team, definition version, terms) in place of lookups."""
    lead = Lead(**row, id=lead_id)
    lead._state.adding, lead._state.db = False, "default"
    if related:
        related = _related(*related)
        for name in ("stage", "owner", "team", "definition_version"):
            setattr(lead, name, related[name])
        terms = LeadTerms(lead_id=lead_id, **related["terms"])
        terms._state.adding, terms._state.db = False, "default"
        lead.terms = terms
    return lead


@dataclass
class _Item:
    index: int
    data: dict
    key: str | None
    external_id: str | None
    named: Agreement | None = None  # the agreement the item names, before any check
    agreement: Agreement | None = None
    row: dict | None = None  # the lead's columns, once checked and scored
    lead_id: int | None = None
    clock: dict | None = None  # its first-touch clock, when it qualifies
    owner: object = None  # the rep the round robin gave it
    sales: SalesTerms | None = None  # its windows (the tier it matched), when it qualifies
    repeat_of: _Item | None = None  # an earlier item of the batch with the same key
    candidate: Candidate | None = None  # as the duplicate rule reads it, when it qualified
    duplicate: Candidate | None = None  # set when it is a duplicate by e-mail


class _Terms:
    """What a batch reads once per agreement: definition version (with its scorer),
    agreement version, calendar, sales terms (with the tiers); due times computed once
    per tier and start instant."""

    def __init__(self):
        self._cache: dict = {}
        self._due: dict = {}

    def get(self, agreement: Agreement) -> dict:
        found = self._cache.get(agreement.pk)
        if found is None:
            version, agreement_version_id = _versions(agreement)
            found = self._cache[agreement.pk] = {
                "definition_version": version,
                "agreement_version_id": agreement_version_id,
                "calendar": agreement.calendar.as_work_calendar(),
                # The current version's sales terms are the agreement's own fields.
                "sales": {name: getattr(agreement, name) for name in Agreement.SALES_TERMS},
                "score": scorer(
                    criteria=version.criteria,
                    disqualifiers=version.disqualifiers,
                    qualify_at=version.qualify_at,
                ),
            }
        return found

    def sales(self, agreement: Agreement, row: dict) -> SalesTerms:
        """The windows of a scored lead's row: the first tier it matches, else the
        agreement's own (sla.terms), in Python over the row."""
        return sales_terms_for(self.get(agreement)["sales"], row)

    def due(self, agreement: Agreement, start: datetime, sales: SalesTerms) -> tuple:
        """(due, at risk) of the first-touch window of `sales` (the lead's tier) from `start`."""
        key = (agreement.pk, sales.tier, start)
        found = self._due.get(key)
        if found is None:
            found = self._due[key] = clock_times(
                calendar=self.get(agreement)["calendar"],
                at=start,
                minutes=sales.first_touch_minutes,
                at_risk_percent=sales.at_risk_percent,
            )
        return found


def agreements_for_delivery():
    """Agreements with what delivery reads of them: their calendar and sales team."""
    return Agreement.objects.select_related("calendar", "sales_team")


def agreement_for_delivery(pk: int, *, by=None) -> Agreement | None:
    """One agreement as `agreements_for_delivery` reads it, or None: on PostgreSQL one
    hand-written query (asked on every API delivery, where compiling the queryset cost
    more than running it), which also reads the current versions and whether `by` is of
    its marketing team. Read fresh each time, so every worker sees a change at once."""
    if connection.vendor != "postgresql":
        return agreements_for_delivery().filter(pk=pk).first()
    quote = connection.ops.quote_name
    models = ((Agreement, "a"), (BusinessCalendar, "c"), (Team, "t"))
    stage_sql, stage_params = records.entry_stage_query()
    sql = (
        f"SELECT {', '.join(c for m, alias in models for c in select_columns(m, alias))},"  # noqa: S608
        # and, in the same round trip, what `_versions` reads
        " v.id, v.version, v.criteria, v.disqualifiers, v.qualify_at,"
        f" (SELECT av.id FROM {quote(AgreementVersion._meta.db_table)} av"
        "  WHERE av.agreement_id = a.id AND av.version = a.version),"
        # whether `by` is of the agreement's marketing team (for may_deliver_to)
        f" EXISTS (SELECT 1 FROM {quote(Team.members.through._meta.db_table)} tm"
        "  WHERE tm.team_id = a.marketing_team_id AND tm.user_id = %s),"
        f" {', '.join(select_columns(Stage, 'entry'))}"  # and the entry stage
        f" FROM {quote(Agreement._meta.db_table)} a"
        f" LEFT JOIN LATERAL ({stage_sql}) entry ON true"
        f" JOIN {quote(BusinessCalendar._meta.db_table)} c ON c.id = a.calendar_id"
        f" JOIN {quote(Team._meta.db_table)} t ON t.id = a.sales_team_id"
        f" JOIN {quote(LeadDefinition._meta.db_table)} d ON d.id = a.definition_id"
        f" LEFT JOIN {quote(LeadDefinitionVersion._meta.db_table)} v"
        " ON v.definition_id = d.id AND v.version = d.version WHERE a.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [by.pk if by is not None else None, *stage_params, pk])
        found = cursor.fetchone()
    if found is None:
        return None
    width = len(Stage._meta.concrete_fields)
    found, stage = found[:-width], found[-width:]
    *found, member = found
    instances, start = [], 0
    for model, _ in models:
        width = len(model._meta.concrete_fields)
        instances.append(instance_of(model, found[start : start + width]))
        start += width
    agreement, agreement.calendar, agreement.sales_team = instances
    if found[start] is not None and found[-1] is not None:
        agreement._delivery_versions = _version_of(agreement, found[start:])
    if by is not None:
        agreement._delivery_member = (by.pk, member)
    if stage[0] is not None:  # else entry_stage() says there is none
        agreement._delivery_stage = instance_of(Stage, stage)
    return agreement


def _versions(agreement: Agreement) -> tuple[LeadDefinitionVersion, int]:
    """The agreement's current definition version (what scoring reads of it; the rest is
    loaded if asked) and the id of its own current version: one small query, unless
    `agreement_for_delivery` read them with the agreement."""
    read = agreement.__dict__.pop("_delivery_versions", None)
    if read is not None:
        return read
    quote = connection.ops.quote_name
    definitions = quote(LeadDefinition._meta.db_table)
    versions = quote(LeadDefinitionVersion._meta.db_table)
    agreement_versions = quote(AgreementVersion._meta.db_table)
    sql = (
        "SELECT v.id, v.version, v.criteria, v.disqualifiers, v.qualify_at,"  # noqa: S608
        f" (SELECT a.id FROM {agreement_versions} a WHERE a.agreement_id = %s AND a.version = %s)"
        f" FROM {definitions} d JOIN {versions} v"
        " ON v.definition_id = d.id AND v.version = d.version WHERE d.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [agreement.pk, agreement.version, agreement.definition_id])
        found = cursor.fetchone()
    if found is None or found[5] is None:  # no current version: say so as the models do
        return agreement.definition.current_version, agreement.current_version().pk
    return _version_of(agreement, found)


def _version_of(agreement: Agreement, found) -> tuple[LeadDefinitionVersion, int]:
    """`_versions`' answer from its row: (id, version, criteria, disqualifiers,
    qualify_at, the agreement version's id)."""
    pk, version, criteria, disqualifiers, qualify_at, agreement_version_id = found
    known = {
        "id": pk,
        "definition_id": agreement.definition_id,
        "version": version,
        "criteria": json.loads(criteria) if isinstance(criteria, str) else criteria,
        "disqualifiers": (
            json.loads(disqualifiers) if isinstance(disqualifiers, str) else disqualifiers
        ),
        "qualify_at": qualify_at,
    }
    names = [f.attname for f in LeadDefinitionVersion._meta.concrete_fields if f.attname in known]
    version = LeadDefinitionVersion.from_db("default", names, [known[name] for name in names])
    return version, agreement_version_id


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
            named=_named(data.get("agreement", agreement)),
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
            found = _Known(batch).match(batch[0], resolved=True)
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


class _Known:
    """The leads a batch's Idempotency-Keys and external_ids name, read in one query.

    A key is unique across slaops; an external_id only within a marketing team (another
    team's id is simply not a duplicate), so it is matched once the item's agreement,
    hence its marketing team, is known.
    """

    def __init__(self, batch: list[_Item], *, read: bool = True):
        self.by_key: dict[str, Lead] = {}
        self.by_id: dict[tuple[int, str], Lead] = {}
        keys = {item.key for item in batch if item.key}
        ids = {item.external_id for item in batch if item.external_id}
        if not read or (not keys and not ids):
            return
        query = Q(idempotency_key__in=keys) if keys else Q()
        if ids:
            # Said in full, the partial unique index's condition lets the lookup use it.
            named = Q(external_id__in=ids, external_id__isnull=False) & ~Q(external_id="")
            query = query | named if keys else named
        for lead in Lead.objects.filter(query):
            if lead.idempotency_key:
                self.by_key[lead.idempotency_key] = lead
            if lead.external_id:
                self.by_id[(lead.marketing_team_id, lead.external_id)] = lead

    def match(self, item: _Item, *, resolved: bool = False) -> Lead | None:
        """The lead the item repeats: by its key (which wins, as for one lead) and by its
        team's external_id, once its agreement is known (`resolved`, or named)."""
        lead = self.by_key.get(item.key) if item.key else None
        agreement = item.agreement if resolved else None
        agreement = agreement or item.named
        if lead is None and item.external_id and agreement is not None:
            lead = self.by_id.get((agreement.marketing_team_id, item.external_id))
        return lead


def _named(agreement) -> Agreement | None:
    """The agreement an item names as an instance (a number is looked up with the rest)."""
    return agreement if isinstance(agreement, Agreement) else None


def _agreements() -> list[Agreement]:
    return list(agreements_for_delivery())


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
    # One lead needs no lookup first: a repeat is refused by the unique keys, and
    # leads_deliver answers it with the first lead (a refused one is looked up below).
    alone = len(batch) == 1 and not dry_run
    existing = _Known(batch, read=not alone)
    first_of: dict[tuple, _Item] = {}  # in-batch repeats point at the first item
    todo: list[_Item] = []
    loaded: list[list[Agreement]] = []

    def every() -> list[Agreement]:
        if not loaded:
            loaded.append(_agreements())
        return loaded[0]

    allowed: dict[int, bool] = {}
    closed = ClosedMonths(now)
    terms = _Terms()
    constants = {"stage": None}
    for item in batch:
        lead = existing.match(item)
        if lead is not None:
            results[item.index] = Delivered(index=item.index, status=DUPLICATE, lead=lead)
            continue
        repeat = item.key and first_of.get(("k", item.key))
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
                known = chosen.__dict__.get("_delivery_member", (None, None))
                allowed[chosen.marketing_team_id] = may_deliver_to(
                    by,
                    marketing_team_id=chosen.marketing_team_id,
                    member=known[1] if by is not None and known[0] == by.pk else None,
                )
            if not allowed[chosen.marketing_team_id]:
                raise ValidationError(
                    {"agreement": "You deliver only to your marketing team's agreements."}
                )
            item.agreement = chosen
            lead = existing.match(item, resolved=True)
            if lead is not None:
                results[item.index] = Delivered(index=item.index, status=DUPLICATE, lead=lead)
                continue
            repeat = item.external_id and first_of.get(
                ("x", chosen.marketing_team_id, item.external_id)
            )
            if repeat:
                results[item.index] = Delivered(index=item.index, status=DUPLICATE)
                item.repeat_of = repeat
                continue
            closed.refuse(chosen, received_at)
            if constants["stage"] is None:  # read with the agreement, or now
                constants["stage"] = chosen.__dict__.pop("_delivery_stage", None)
                constants["stage"] = constants["stage"] or records.entry_stage()
            item.row = _row(
                item, received_at=received_at, terms=terms, stage=constants["stage"], by=by
            )
            # Scored first: a tier may ask for the score. No clock, no windows: blank tier.
            if item.row["qualifies"]:
                item.sales = terms.sales(chosen, item.row)
        except ValidationError as exc:
            results[item.index] = Delivered(index=item.index, status=ERROR, errors=errors_of(exc))
            continue
        except RuleRefused as exc:
            results[item.index] = Delivered(
                index=item.index, status=ERROR, errors={"received_at": [exc.message]}, rule=exc.rule
            )
            continue
        if item.key:
            first_of[("k", item.key)] = item
        if item.external_id:
            first_of[("x", item.agreement.marketing_team_id, item.external_id)] = item
        todo.append(item)
    if alone and results and (batch[0].key or batch[0].external_id):
        # A repeat answers with the first lead, even if refused.
        lead = _Known(batch).match(batch[0], resolved=True)
        if lead is not None:
            results[0] = Delivered(index=0, status=DUPLICATE, lead=lead)
    if dry_run:
        return [results.get(i) or Delivered(index=i, status=CREATED) for i in range(len(batch))]
    _duplicates_mark(todo)
    for item in todo:
        if item.row["qualifies"]:
            item.clock = _first_clock(item, terms=terms)
        item.row.update(_summary(item.clock))
        item.row["created_at"] = item.row["updated_at"] = now
    _assign(todo)  # last before the writes: the round-robin lock is held the least
    _insert(todo, by=by, terms=terms, now=now, import_job_id=import_job_id)
    _flag_unassigned(todo, now=now)
    _duplicates_link(todo, now=now)
    for item in todo:
        results[item.index] = Delivered(
            index=item.index,
            status=CREATED,
            lead_id=item.lead_id,
            row=item.row,
            related=(item, terms, constants["stage"], import_job_id),  # see _related
        )
    for result in results.values():
        if result.status == DUPLICATE and result.lead_id is None:
            first = results[batch[result.index].repeat_of.index]
            result._row, result.lead_id, result._related = first._row, first.lead_id, None
    return [results[i] for i in range(len(batch))]


# Lead columns a delivery checks itself, with full_clean's rules; any other value (a
# number as text, a naive instant, a list of attributes) takes the model's own path.
_TEXT = {
    f.attname: f.max_length
    for f in Lead._meta.concrete_fields
    if f.attname in (*records.LEAD_FIELDS, "idempotency_key") and f.max_length
}
_INT_RANGE = (0, 2_147_483_647)  # a PositiveIntegerField


def _fields(item: _Item) -> dict | None:
    """The lead's own fields as `lead_build` keeps them, or None when one needs
    full_clean (to convert it, or to say what is wrong with it)."""
    data = item.data
    fields = {name: data[name] for name in records.LEAD_FIELDS if data.get(name) is not None}
    fields["external_id"] = item.external_id
    fields.setdefault("attributes", {})
    if type(fields["attributes"]) is not dict:
        return None
    for name, limit in _TEXT.items():
        value = fields.get(name) if name != "idempotency_key" else item.key
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return None
    size = fields.get("company_size")
    if size is not None and not (type(size) is int and _INT_RANGE[0] <= size <= _INT_RANGE[1]):
        return None
    email = fields.get("email")
    if not email or type(email) not in (str, CheckedEmail):
        return None
    if type(email) is CheckedEmail:  # the CSV reader validated it
        return fields
    try:
        validate_email(email)
    except ValidationError:
        return None
    return fields


_BLANK_LEAD: dict = {}


def _blank() -> dict:
    """Every column of a lead at its default (read once per process from the model)."""
    if not _BLANK_LEAD:
        blank = Lead()
        _BLANK_LEAD.update({name: getattr(blank, name) for name in LEAD_COLUMNS})
    return _BLANK_LEAD


def _row(item: _Item, *, received_at, terms: _Terms, stage, by) -> dict:
    """The lead's columns, checked and scored under the agreement's definition version.

    What `records.lead_build` would build, without a model instance per lead; a lead
    the quick checks cannot vouch for is built (and refused) by `lead_build` itself.
    """
    agreement = item.agreement
    found = terms.get(agreement)
    fields = _fields(item) if received_at.tzinfo is not None else None
    if fields is None:
        lead = records.lead_build(
            data={**item.data, "received_at": received_at},
            version=found["definition_version"],
            received_at=received_at,
            stage=stage,
            team=agreement.sales_team,
            by=by,
            external_id=item.external_id,
            idempotency_key=item.key,
        )
        row = {name: getattr(lead, name) for name in LEAD_COLUMNS}
        row["marketing_team_id"] = agreement.marketing_team_id
        return row
    result = found["score"](fields)
    return {
        **_blank(),
        **fields,
        "idempotency_key": item.key or None,
        "received_at": received_at,
        "definition_version_id": found["definition_version"].pk,
        "score": result.score,
        "qualifies": result.qualifies,
        "score_explanation": result.explanation,
        "disqualified_by": result.disqualified_by,
        "stage_id": stage.pk,
        "team_id": agreement.sales_team_id,
        "marketing_team_id": agreement.marketing_team_id,
        "created_by_id": by.pk if by else None,
    }


def _related(item: _Item, terms: _Terms, stage, import_job_id: int | None) -> dict:
    """What the batch holds of a created lead's related rows (see `_lead_of`); built
    only for a lead that is read."""
    agreement = item.agreement
    found = terms.get(agreement)
    return {
        "stage": stage,
        "owner": item.owner,
        "team": agreement.sales_team,
        "definition_version": found["definition_version"],
        "terms": {
            "agreement": agreement,
            "agreement_version_id": found["agreement_version_id"],
            **_stamp(item),
            "import_job_id": import_job_id,
        },
        "clock": item.clock,
    }


def _assign(todo: list[_Item]) -> None:
    """Round robin per sales team, in delivery order, one lock per team."""
    by_team: dict[int, list[_Item]] = defaultdict(list)
    for item in todo:
        if item.row["qualifies"]:
            by_team[item.agreement.sales_team_id].append(item)
    for items in by_team.values():
        team = items[0].agreement.sales_team
        # Each lead's own instant: a rep away when it arrived is passed by (accounts.absences).
        reps = records.reps_take(team=team, received_at=[i.row["received_at"] for i in items])
        for item, rep in zip(items, reps, strict=True):
            item.owner = rep
            item.row["owner_id"] = rep.pk if rep else None
            item.row["assigned_at"] = item.row["received_at"] if rep else None


def _duplicates_mark(todo: list[_Item]) -> None:
    """The qualifying leads that repeat an open lead's e-mail (sla.duplicates) are its
    duplicates: they no longer qualify, so they start no clock and take no turn."""
    candidates = {
        item.index: Candidate(
            agreement_id=item.agreement.pk,
            window_days=item.agreement.duplicate_window_days,
            email=item.row["email"],
            received_at=item.row["received_at"],
        )
        for item in todo
        if item.row["qualifies"]
    }
    duplicates_find(list(candidates.values()))
    for item in todo:
        found = item.candidate = candidates.get(item.index)
        if found is None or found.duplicate_of is None:
            continue
        item.duplicate = found
        item.row["qualifies"] = False
        item.row["disqualified_by"] = [*item.row["disqualified_by"], DUPLICATE_REASON]
        if isinstance(found.duplicate_of, int):
            item.row["duplicate_of_id"] = found.duplicate_of


def _duplicates_link(todo: list[_Item], *, now) -> None:
    """Once inserted: a duplicate of an earlier lead of the same batch names it (one
    UPDATE), and each first lead's owner is told (sla.duplicates)."""
    lead_of = {id(item.candidate): item.lead_id for item in todo if item.candidate}
    pairs, later = [], {}
    for item in todo:
        if item.duplicate is None:
            continue
        first = item.duplicate.duplicate_of
        if not isinstance(first, int):
            first = lead_of[id(first)]
            later[item.lead_id] = item.row["duplicate_of_id"] = first
        pairs.append((item.lead_id, first))
    if later:
        Lead.objects.filter(pk__in=later).update(
            duplicate_of_id=Case(*(When(pk=k, then=Value(v)) for k, v in later.items()))
        )
    duplicates_notify(pairs, at=now)


def _flag_unassigned(todo: list[_Item], *, now) -> None:
    """The qualifying leads no rep was free to take wait in the team's manager queue
    (team set, no owner), their clocks running: one `unassigned` flag each, dated when
    the lead arrived, inserted with their outbox rows in one go (sla.flags)."""
    waiting = [item for item in todo if item.row["qualifies"] and item.owner is None]
    if not waiting:
        return
    flags = [
        unassigned_flag(
            lead_id=item.lead_id,
            agreement=item.agreement,
            team=item.agreement.sales_team,
            received_at=item.row["received_at"],
            due_at=item.clock["due_at"] if item.clock else None,
            at=now,
        )
        for item in waiting
    ]
    flags_insert(flags=flags, at=now)


LEAD_COLUMNS = [f.attname for f in Lead._meta.concrete_fields if not f.primary_key]


def _insert(todo: list[_Item], *, by, terms: _Terms, now, import_job_id: int | None) -> None:
    """Leads, their first stage-history row, terms and first-touch clocks.

    On PostgreSQL a batch is four COPYs, the leads' ids reserved from their sequence
    first; one lead (an API request) is four INSERTs sent in one round trip, the
    dependent rows naming it by the sequence's current value. Elsewhere, one bulk
    INSERT each.
    """
    if not todo:
        return
    alone = len(todo) == 1 and connection.vendor == "postgresql"
    leads = [item.row for item in todo]
    ids = [sequence_current(Lead)] if alone else copy_insert(Lead, leads, returning_ids=True)
    rows = _dependents(todo, ids, by=by, terms=terms, import_job_id=import_job_id)
    if alone:
        last = ("id", "lead_id") if rows[Clock] else ("lead_id",)
        [returned] = insert_together([(Lead, leads), *rows.items()], returning=last)
        ids = [returned[-1]]
        if rows[Clock]:  # its id too: the lead's answer needs no read back
            todo[0].clock["id"] = returned[0]
    else:
        for model, model_rows in rows.items():
            copy_insert(model, model_rows)
    for item, lead_id in zip(todo, ids, strict=True):
        item.lead_id = lead_id
        if item.clock is not None:
            item.clock["lead_id"] = lead_id
    # A lead received in a closed month changes that month's counts: judge it again.
    month_evaluations_reopen(leads=[(i.agreement, i.row["received_at"]) for i in todo], now=now)


def _dependents(todo: list[_Item], ids: list, *, by, terms: _Terms, import_job_id) -> dict:
    """{model: rows} of each lead's first stage-history row, terms and first clock."""
    by_id = by.pk if by else None
    rows: dict = {StageChange: [], LeadTerms: [], Clock: []}
    for item, lead_id in zip(todo, ids, strict=True):
        rows[StageChange].append(
            {
                "lead_id": lead_id,
                "from_stage_id": None,
                "to_stage_id": item.row["stage_id"],
                "at": item.row["received_at"],
                "by_id": by_id,
                "note": "Delivered",
            }
        )
        rows[LeadTerms].append(
            {
                "lead_id": lead_id,
                "agreement_id": item.agreement.pk,
                "agreement_version_id": terms.get(item.agreement)["agreement_version_id"],
                **_stamp(item),
                "import_job_id": import_job_id,
            }
        )
        if item.clock is not None:
            rows[Clock].append({**item.clock, "lead_id": lead_id})
    return rows


def _stamp(item: _Item) -> dict:
    """What a lead's terms keep of its windows: the tier it matched ("" the default, and
    for a lead that starts no clock) and the attempts it needs before abandoning."""
    if item.sales is None:
        return {"tier": "", "attempts_required": item.agreement.attempts_before_abandon}
    return {"tier": item.sales.tier, "attempts_required": item.sales.attempts_before_abandon}


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


def _first_clock(item: _Item, *, terms: _Terms) -> dict:
    """The first-touch clock of a delivered lead, its due and at-risk times computed once,
    from its tier's window."""
    agreement, start = item.agreement, item.row["received_at"]
    due_at, at_risk_at = terms.due(agreement, start, item.sales)
    return {
        "lead_id": None,  # set once the lead's id is reserved
        "kind": Clock.Kind.FIRST_TOUCH,
        "state": Clock.State.RUNNING,
        "started_at": start,
        "due_at": due_at,
        "at_risk_at": at_risk_at,
        "business_minutes": item.sales.first_touch_minutes,
        "stopped_at": None,
        "stop_reason": "",
        "breached_at": None,
        "at_risk_flagged_at": None,
    }


__all__ = [
    "CREATED",
    "DUPLICATE",
    "ERROR",
    "Delivered",
    "agreement_for_delivery",
    "agreements_for_delivery",
    "errors_of",
    "leads_deliver",
]
