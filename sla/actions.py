"""The agreement's actions on a lead: each moves clocks, so each is one transaction that
calls the lead's data services (`leads.services.leads`), the clocks (`sla.clocks`) and the
flags (`sla.flags`) together.

Deliver, touch, acknowledge, reject, stage, assign, abandon and the CSV import: the API,
the pages, the admin and the commands all call these. Each takes the instant it happens
(`at`) and the real present (`now`) so tests and backfills can run "as of" any moment;
none reads the clock itself.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.access import may_deliver_to, may_override_abandon
from accounts.models import User
from core.errors import RuleRefused
from leads.csvfile import CsvFileError, CsvRow, parse_leads_csv, read_upload
from leads.models import Lead, Touch
from leads.services import leads as records
from sla.agreements import lead_terms_attach
from sla.clocks import clock_start, clock_stop, clocks_stop_all, running_clock
from sla.models import Agreement, Clock

REJECTED_STAGE = "disqualified"
ABANDONED_STAGE = "recycled"


# --- which agreement --------------------------------------------------------------------------


def agreements_in_effect(*, at: datetime) -> list[Agreement]:
    """The agreements covering the instant, by the date in each calendar's zone."""
    # A day either side of UTC covers every zone; the exact test is by local date.
    around = Agreement.objects.filter(effective_from__lte=at.date() + timedelta(days=1)).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=at.date() - timedelta(days=1))
    )
    related = around.select_related("calendar", "definition", "sales_team", "marketing_team")
    return [agreement for agreement in related if agreement.in_effect_at(at)]


def _resolve_agreement(*, agreement: Agreement | None, received_at: datetime) -> Agreement:
    if agreement is None:
        candidates = agreements_in_effect(at=received_at)
        if len(candidates) != 1:
            found = "none is" if not candidates else f"{len(candidates)} are"
            when = received_at.isoformat()
            raise ValidationError(
                {"agreement": f"Name the agreement: {found} in effect at {when}."}
            )
        return candidates[0]
    if not agreement.in_effect_at(received_at):
        raise ValidationError(
            {"agreement": f"Agreement {agreement.pk} is not in effect when the lead was received."}
        )
    return agreement


# --- delivery --------------------------------------------------------------------------------


def lead_deliver(
    *,
    by: User | None,
    data: dict,
    agreement: Agreement | None = None,
    idempotency_key: str | None = None,
    now: datetime,
) -> tuple[Lead, bool]:
    """Deliver a lead: score it, assign it, start its clocks. Returns (lead, created).

    A repeated Idempotency-Key or external_id returns the first lead, created=False.
    """
    external_id = (data.get("external_id") or "").strip() or None
    existing = records.lead_existing(idempotency_key=idempotency_key, external_id=external_id)
    if existing:
        return existing, False
    received_at = data.get("received_at") or now
    if received_at > now:
        raise ValidationError({"received_at": "may not be in the future."})
    agreement = _resolve_agreement(agreement=agreement, received_at=received_at)
    if not may_deliver_to(by, marketing_team_id=agreement.marketing_team_id):
        raise ValidationError(
            {"agreement": "You deliver only to your marketing team's agreements."}
        )
    try:
        with transaction.atomic():
            return _lead_create(
                by=by,
                data=data,
                external_id=external_id,
                agreement=agreement,
                idempotency_key=idempotency_key,
                received_at=received_at,
            ), True
    except IntegrityError:
        # A concurrent delivery with the same key or external_id won the race.
        existing = records.lead_existing(idempotency_key=idempotency_key, external_id=external_id)
        if existing is None:
            raise
        return existing, False


def _batch_memo(agreement: Agreement, name: str, load):
    """Look a value up once per Agreement instance: a CSV import delivers every row with
    the same instance, so its definition version, terms and entry stage load once."""
    cache = agreement.__dict__.setdefault("_delivery_memo", {})
    if name not in cache:
        cache[name] = load()
    return cache[name]


def _lead_create(*, by, data, external_id, agreement, idempotency_key, received_at) -> Lead:
    lead = records.lead_build(
        data=data,
        version=_batch_memo(agreement, "version", lambda: agreement.definition.current_version),
        received_at=received_at,
        stage=_batch_memo(agreement, "stage", records.entry_stage),
        team=agreement.sales_team,
        by=by,
        external_id=external_id,
        idempotency_key=idempotency_key,
    )
    if lead.qualifies:
        lead.owner = records.rep_next(team=agreement.sales_team)
        lead.assigned_at = received_at if lead.owner else None
    records.lead_save_delivered(lead=lead, by=by)
    terms = _batch_memo(agreement, "terms", agreement.current_version)
    lead_terms_attach(lead=lead, agreement=agreement, version=terms)
    if lead.qualifies:
        clock_start(
            lead=lead,
            kind=Clock.Kind.FIRST_TOUCH,
            at=received_at,
            calendar=agreement.calendar.as_work_calendar(),
            minutes=agreement.first_touch_minutes,
            at_risk_percent=agreement.at_risk_percent,
        )
    return lead


def leads_import(
    *, by: User, file, agreement: Agreement | None, partial: bool, now: datetime
) -> dict:
    """Deliver every row of a CSV, each by `lead_deliver`. Returns {"created",
    "duplicates", "errors"}; raises ValidationError naming `file` for a refused file.

    All or nothing by default: one transaction, rolled back when any row has an error.
    With `partial`, each row runs in its own savepoint, so the good rows stay.
    """
    try:
        parsed = parse_leads_csv(read_upload(file))
    except CsvFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    errors = list(parsed.errors)
    named = Agreement.objects.in_bulk({row.agreement for row in parsed.rows if row.agreement})
    created = duplicates = 0
    with transaction.atomic():
        for row in parsed.rows:
            try:
                was_created = _row_deliver(
                    by=by, row=row, agreement=agreement, named=named, now=now
                )
            except ValidationError as exc:
                errors.extend(_row_errors(row.row, exc))
                continue
            created += was_created
            duplicates += not was_created
        if errors and not partial:
            transaction.set_rollback(True)
            created = 0
    errors.sort(key=lambda error: error["row"])
    return {"created": created, "duplicates": duplicates, "errors": errors}


def _row_deliver(
    *, by: User, row: CsvRow, agreement: Agreement | None, named: dict, now: datetime
) -> bool:
    if row.agreement is not None:
        agreement = named.get(row.agreement)
        if agreement is None:
            raise ValidationError({"agreement": f"There is no agreement {row.agreement}."})
    # A savepoint per row: a refused row leaves the transaction usable for the next.
    with transaction.atomic():
        _, created = lead_deliver(by=by, data=row.data, agreement=agreement, now=now)
    return created


def _row_errors(row: int, exc: ValidationError) -> list[dict]:
    if not hasattr(exc, "error_dict"):
        return [{"row": row, "field": "row", "message": " ".join(exc.messages)}]
    return [
        {"row": row, "field": "row" if name == "__all__" else name, "message": " ".join(messages)}
        for name, messages in exc.message_dict.items()
    ]


# --- sales' actions ----------------------------------------------------------------------


def _locked(lead: Lead) -> Lead:
    return (
        # of=("self",): PostgreSQL cannot lock the nullable side of the outer join to terms.
        # no_key: rows that merely point at the lead (flags, touches) need not wait for us.
        Lead.objects.select_for_update(of=("self",), no_key=True)
        .select_related("terms__agreement__calendar")
        .get(pk=lead.pk)
    )


def _refuse_if_closed(lead: Lead, action: str) -> None:
    if lead.closed_at is not None:
        since = lead.closed_at.isoformat()
        raise RuleRefused(f"Cannot {action}: the lead is closed (since {since}).")


def _close(*, lead: Lead, at: datetime, reason: str) -> None:
    lead.closed_at = at
    clocks_stop_all(lead=lead, at=at, reason=reason)


def _move_to(*, lead: Lead, slug: str, by: User, at: datetime, note: str) -> None:
    stage = records.stage_by_slug(slug)
    if stage:
        records.stage_move(lead=lead, stage=stage, by=by, at=at, note=note)


@transaction.atomic
def lead_touch(
    *,
    lead: Lead,
    by: User,
    kind: str,
    outcome: str,
    at: datetime | None = None,
    note: str = "",
    now: datetime,
) -> Touch:
    """Log a contact attempt. The first stops the first-touch clock; each one restarts
    the next-touch clock, except a `connected` touch, which stops it."""
    lead = _locked(lead)
    at = at or now
    records.lead_check_instant(lead=lead, at=at, now=now)
    _refuse_if_closed(lead, "log a touch")
    touch = records.touch_create(lead=lead, by=by, kind=kind, outcome=outcome, at=at, note=note)
    if not lead.qualifies or not hasattr(lead, "terms"):
        return touch
    first = running_clock(lead=lead, kind=Clock.Kind.FIRST_TOUCH)
    if first is not None:
        clock_stop(clock=first, at=max(at, first.started_at), reason="touch")
    current = running_clock(lead=lead, kind=Clock.Kind.NEXT_TOUCH)
    if current is not None and at < current.started_at:
        return touch  # a touch logged out of order is history; the newer clock stands
    if current is not None:
        clock_stop(clock=current, at=at, reason="connected" if outcome == "connected" else "touch")
    if outcome != Touch.Outcome.CONNECTED:
        agreement = lead.terms.agreement
        clock_start(
            lead=lead,
            kind=Clock.Kind.NEXT_TOUCH,
            at=at,
            calendar=agreement.calendar.as_work_calendar(),
            minutes=lead.terms.agreement_version.terms["next_touch_minutes"],
        )
    return touch


@transaction.atomic
def lead_acknowledge(*, lead: Lead, by: User, now: datetime) -> Lead:
    """Sales accepts the lead as meeting the definition."""
    lead = _locked(lead)
    _refuse_if_closed(lead, "acknowledge")
    records.verdict_accept(lead=lead, by=by, at=now)
    return lead


@transaction.atomic
def lead_reject(*, lead: Lead, by: User, reason: str, note: str = "", now: datetime) -> Lead:
    """Sales' verdict that the lead does not meet the definition: its clocks close."""
    code = records.reason_code_active(reason)
    lead = _locked(lead)
    _refuse_if_closed(lead, "reject")
    records.verdict_reject(lead=lead, by=by, reason=code, note=note, at=now)
    _close(lead=lead, at=now, reason="rejected")
    _move_to(lead=lead, slug=REJECTED_STAGE, by=by, at=now, note=f"Rejected: {code.label}")
    lead.save()
    return lead


@transaction.atomic
def lead_move_stage(*, lead: Lead, by: User, stage: str, note: str = "", now: datetime) -> Lead:
    """Move the lead in the funnel; a won or lost stage closes its clocks."""
    target = records.stage_by_slug(stage)
    if target is None:
        raise ValidationError({"stage": f"Unknown stage {stage!r}."})
    lead = _locked(lead)
    if lead.stage_id == target.pk:
        raise RuleRefused(f"The lead is already in {target.name}.")
    if lead.closed_at is not None and not target.is_closed:
        raise RuleRefused("The lead is closed; it can only move between won and lost stages.")
    records.stage_move(lead=lead, stage=target, by=by, at=now, note=note)
    if target.is_closed and lead.closed_at is None:
        _close(lead=lead, at=now, reason=f"stage_{target.kind}")
    lead.save()
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, by: User, owner: str, now: datetime) -> Lead:
    """Give the lead to another rep of its team; running clocks keep running."""
    lead = _locked(lead)
    _refuse_if_closed(lead, "reassign")
    records.owner_set(lead=lead, username=owner, at=now)
    return lead


@transaction.atomic
def lead_abandon(
    *, lead: Lead, by: User, reason: str, note: str = "", override: bool = False, now: datetime
) -> Lead:
    """Stop working the lead. Refused (409) while fewer touches than the agreement's
    attempts_before_abandon were logged, unless a sales manager overrides; an override
    is recorded and the checks raise `premature_abandon` for it."""
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the lead is abandoned."})
    if override and not may_override_abandon(by):
        raise PermissionDenied("Only a sales manager may override the attempts rule.")
    lead = _locked(lead)
    _refuse_if_closed(lead, "abandon")
    required = lead.terms.attempts_required if hasattr(lead, "terms") else 0
    done = lead.touches.count()
    if done < required and not override:
        raise RuleRefused(
            f"attempts_before_abandon: {done} of {required} attempts logged; "
            f"{required - done} more needed before abandoning."
        )
    records.abandon_record(lead=lead, by=by, reason=reason, note=note, at=now)
    _close(lead=lead, at=now, reason="abandoned")
    _move_to(lead=lead, slug=ABANDONED_STAGE, by=by, at=now, note=f"Abandoned: {reason.strip()}")
    lead.save()
    return lead
