"""The agreement's actions on a lead: each moves clocks, so each is one transaction that
calls the lead's data services (`leads.services.leads`), the clocks (`sla.clocks`) and the
flags (`sla.flags`) together.

Deliver, touch, acknowledge, reject, stage, assign, abandon and the CSV import: the API,
the pages, the admin and the commands all call these. Each takes the instant it happens
(`at`) and the real present (`now`) so tests and backfills can run "as of" any moment;
none reads the clock itself.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.access import may_move_out_of_closed_stage, may_override_abandon
from accounts.models import User
from core.errors import RuleRefused
from funnel.rules import stage_move_refusal
from leads.csvfile import CsvFileError, CsvRow, parse_leads_csv, read_upload
from leads.models import Lead, Touch
from leads.services import leads as records
from sla.books import ClosedMonths
from sla.callbacks import callback_touch
from sla.checks.months import month_evaluations_reopen
from sla.clocks import clock_start, clock_stop, clocks_stop_all, running_clock
from sla.delivery import CREATED, ERROR, leads_deliver
from sla.flags import unassigned_resolve
from sla.models import Agreement, Clock
from sla.terms import sales_terms_named

REJECTED_STAGE = "disqualified"
ABANDONED_STAGE = "recycled"


# --- delivery --------------------------------------------------------------------------------


def lead_deliver(
    *,
    by: User | None,
    data: dict,
    agreement: Agreement | None = None,
    idempotency_key: str | None = None,
    now: datetime,
) -> tuple[Lead, bool]:
    """Deliver one lead: a batch of one (sla/delivery.py). Returns (lead, created).

    A repeated Idempotency-Key or external_id returns the first lead, created=False;
    bad input raises the ValidationError naming the field.
    """
    [result] = leads_deliver(
        by=by, items=[data], agreement=agreement, keys=[idempotency_key], now=now
    )
    if result.status == ERROR:
        if result.rule:
            raise RuleRefused(" ".join(result.errors["received_at"]), rule=result.rule)
        raise ValidationError(result.errors)
    return result.lead, result.status == CREATED


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
    return rows_import(
        by=by, rows=parsed.rows, errors=parsed.errors, agreement=agreement, partial=partial, now=now
    )


IMPORT_BATCH = 1000


def rows_import(
    *, by: User, rows: list[CsvRow], errors: list[dict], agreement, partial: bool, now: datetime
) -> dict:
    """Deliver parsed CSV rows, IMPORT_BATCH at a time, all or nothing unless `partial`."""
    errors = list(errors)
    created = duplicates = 0
    with transaction.atomic():
        for start in range(0, len(rows), IMPORT_BATCH):
            chunk = rows[start : start + IMPORT_BATCH]
            items = [
                {**row.data, "agreement": row.agreement} if row.agreement else row.data
                for row in chunk
            ]
            for row, result in zip(
                chunk, leads_deliver(by=by, items=items, agreement=agreement, now=now), strict=True
            ):
                if result.status == ERROR:
                    errors.extend(row_errors(row.row, result.errors))
                elif result.status == CREATED:
                    created += 1
                else:
                    duplicates += 1
        if errors and not partial:
            transaction.set_rollback(True)
            created = 0
    errors.sort(key=lambda error: error["row"])
    return {"created": created, "duplicates": duplicates, "errors": errors}


def row_errors(row: int, errors: dict) -> list[dict]:
    """`{field: [messages]}` of one row as the import's `[{"row", "field", "message"}]`."""
    return [
        {
            "row": row,
            "field": "row" if name in ("__all__", "non_field_errors") else name,
            "message": " ".join(messages),
        }
        for name, messages in errors.items()
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


def _reopen_month(lead: Lead, now: datetime) -> None:
    # A verdict on a lead of a closed month changes its acceptance: judge it again.
    if hasattr(lead, "terms"):
        month_evaluations_reopen(leads=[(lead.terms.agreement, lead.received_at)], now=now)


def _refuse_closed_month(lead: Lead, now: datetime) -> None:
    """A verdict on a lead of a closed month would change its final acceptance figures:
    refused (409 `month_closed`) until an admin reopens the month (sla.books)."""
    if hasattr(lead, "terms"):
        ClosedMonths(now).refuse(lead.terms.agreement, lead.received_at)


def _refuse_if_closed(lead: Lead, action: str) -> None:
    if lead.closed_at is not None:
        since = lead.closed_at.isoformat()
        raise RuleRefused(f"Cannot {action}: the lead is closed (since {since}).")


def _close(*, lead: Lead, at: datetime, reason: str) -> None:
    lead.closed_at = at
    lead.sla_callback_at = None  # a closed lead's callback no longer waits in the inbox
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
    calendar = lead.terms.agreement.calendar.as_work_calendar()
    callback_touch(lead=lead, at=at, calendar=calendar)  # keeps a pending callback
    first = running_clock(lead=lead, kind=Clock.Kind.FIRST_TOUCH)
    if first is not None:
        clock_stop(clock=first, at=max(at, first.started_at), reason="touch", calendar=calendar)
    current = running_clock(lead=lead, kind=Clock.Kind.NEXT_TOUCH)
    if current is not None and at < current.started_at:
        return touch  # a touch logged out of order is history; the newer clock stands
    if current is not None:
        reason = "connected" if outcome == "connected" else "touch"
        clock_stop(clock=current, at=at, reason=reason, calendar=calendar)
    if outcome != Touch.Outcome.CONNECTED:
        clock_start(
            lead=lead,
            kind=Clock.Kind.NEXT_TOUCH,
            at=at,
            calendar=calendar,
            # The lead's own tier in its own version: later edits move no lead's window.
            minutes=sales_terms_named(
                lead.terms.agreement_version.terms, lead.terms.tier
            ).next_touch_minutes,
        )
    return touch


@transaction.atomic
def lead_acknowledge(*, lead: Lead, by: User, now: datetime) -> Lead:
    """Sales accepts the lead as meeting the definition."""
    lead = _locked(lead)
    _refuse_if_closed(lead, "acknowledge")
    _refuse_closed_month(lead, now)
    records.verdict_accept(lead=lead, by=by, at=now)
    _reopen_month(lead, now)
    return lead


@transaction.atomic
def lead_reject(*, lead: Lead, by: User, reason: str, note: str = "", now: datetime) -> Lead:
    """Sales' verdict that the lead does not meet the definition: its clocks close."""
    code = records.reason_code_active(reason)
    lead = _locked(lead)
    _refuse_if_closed(lead, "reject")
    _refuse_closed_month(lead, now)
    records.verdict_reject(lead=lead, by=by, reason=code, note=note, at=now)
    _reopen_month(lead, now)
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
        raise RuleRefused(
            "closed_lead: the lead is closed; it can only move between won and lost stages.",
            rule="closed_lead",
        )
    refusal = stage_move_refusal(
        from_stage=lead.stage, to_stage=target, manager=may_move_out_of_closed_stage(by), note=note
    )
    if refusal is not None:
        raise RuleRefused(refusal.message, rule=refusal.rule)
    records.stage_move(lead=lead, stage=target, by=by, at=now, note=note)
    if target.is_closed and lead.closed_at is None:
        _close(lead=lead, at=now, reason=f"stage_{target.kind}")
    lead.save()
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, by: User, owner: str, now: datetime) -> Lead:
    """Give the lead to another rep of its team; running clocks keep running. The change
    is recorded (flags name the owner at the time of a miss), and a lead that waited in
    the manager queue has its `unassigned` flag resolved."""
    lead = _locked(lead)
    _refuse_if_closed(lead, "reassign")
    user = records.owner_set(lead=lead, username=owner, at=now, by=by)
    unassigned_resolve(lead_ids=[lead.pk], at=now, by=by, note=f"assigned to {user.username}")
    return lead


@transaction.atomic
def lead_abandon(
    *, lead: Lead, by: User, reason: str, note: str = "", override: bool = False, now: datetime
) -> Lead:
    """Stop working the lead. Refused (409) while fewer touches than the lead's terms
    require (the attempts_before_abandon of its tier, stamped at delivery) were logged,
    unless a sales manager overrides; an override is recorded and the checks raise
    `premature_abandon` for it."""
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
