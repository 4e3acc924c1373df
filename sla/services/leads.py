"""Every action on a lead that moves a clock: one service each, one transaction each.

The API, the pages, the CSV import and the admin all call these. Each takes the
instant it happens (`at`) and the real present (`now`) so tests and backfills can run
"as of" any moment; none reads the clock itself.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import Role, Team, User
from core.errors import RuleRefused
from funnel.models import Stage, StageChange
from leads.models import AssignmentCursor, Lead, ReasonCode, Touch
from leads.scoring import LEAD_FIELDS as SCORED_FIELDS
from leads.scoring import score
from sla.clocks import clock_start, clock_stop, clocks_stop_all, running_clock
from sla.models import Agreement, Clock, LeadTerms

# What marketing may deliver: the fields criteria can name, and the free attributes.
LEAD_FIELDS = (*SCORED_FIELDS, "attributes")
ENTRY_STAGE = "interacting"
REJECTED_STAGE = "disqualified"
ABANDONED_STAGE = "recycled"


# --- delivery ------------------------------------------------------------------------------


def in_effect(agreement: Agreement, at: datetime) -> bool:
    """Whether the agreement covers the instant, by the date in its calendar's zone."""
    day = at.astimezone(ZoneInfo(agreement.calendar.timezone)).date()
    return agreement.effective_from <= day and (
        agreement.effective_to is None or day <= agreement.effective_to
    )


def agreements_in_effect(*, at: datetime) -> list[Agreement]:
    # A day either side of UTC covers every zone; the exact test is by local date.
    around = Agreement.objects.filter(effective_from__lte=at.date() + timedelta(days=1)).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=at.date() - timedelta(days=1))
    )
    related = around.select_related("calendar", "definition", "sales_team", "marketing_team")
    return [agreement for agreement in related if in_effect(agreement, at)]


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
    if not in_effect(agreement, received_at):
        raise ValidationError(
            {"agreement": f"Agreement {agreement.pk} is not in effect when the lead was received."}
        )
    return agreement


def _existing(*, idempotency_key: str | None, external_id: str | None) -> Lead | None:
    if idempotency_key:
        lead = Lead.objects.filter(idempotency_key=idempotency_key).first()
        if lead:
            return lead
    if external_id:
        return Lead.objects.filter(external_id=external_id).first()
    return None


def _entry_stage() -> Stage:
    stage = Stage.objects.filter(slug=ENTRY_STAGE).first()
    return (
        stage or Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True).order_by("position")[0]
    )


def rep_next(*, team: Team) -> User | None:
    """The next active sales rep of the team, round robin, under a lock on the team's cursor."""
    AssignmentCursor.objects.get_or_create(team=team)
    cursor = AssignmentCursor.objects.select_for_update().get(team=team)
    reps = list(team.members.filter(is_active=True, role=Role.SALES).order_by("username"))
    if not reps:
        return None
    ids = [rep.pk for rep in reps]
    if cursor.last_user_id in ids:
        chosen = reps[(ids.index(cursor.last_user_id) + 1) % len(reps)]
    else:
        # The last one left the team or was deactivated: continue after their name.
        last = cursor.last_user.username if cursor.last_user_id else ""
        chosen = next((rep for rep in reps if rep.username > last), reps[0])
    cursor.last_user = chosen
    cursor.save(update_fields=["last_user"])
    return chosen


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
    existing = _existing(idempotency_key=idempotency_key, external_id=external_id)
    if existing:
        return existing, False
    received_at = data.get("received_at") or now
    if received_at > now:
        raise ValidationError({"received_at": "may not be in the future."})
    agreement = _resolve_agreement(agreement=agreement, received_at=received_at)
    if (
        by is not None
        and by.role == Role.MARKETING
        and not by.teams.filter(pk=agreement.marketing_team_id).exists()
    ):
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
        existing = _existing(idempotency_key=idempotency_key, external_id=external_id)
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
    version = _batch_memo(agreement, "version", lambda: agreement.definition.current_version)
    fields = {name: data[name] for name in LEAD_FIELDS if name in data and data[name] is not None}
    fields["external_id"] = external_id
    fields.setdefault("attributes", {})
    result = score(
        criteria=version.criteria,
        disqualifiers=version.disqualifiers,
        qualify_at=version.qualify_at,
        data=fields,
    )
    lead = Lead(
        **fields,
        idempotency_key=idempotency_key or None,
        received_at=received_at,
        definition_version=version,
        score=result.score,
        qualifies=result.qualifies,
        score_explanation=result.explanation,
        disqualified_by=result.disqualified_by,
        stage=_batch_memo(agreement, "stage", _entry_stage),
        team=agreement.sales_team,
        created_by=by,
    )
    if result.qualifies:
        lead.owner = rep_next(team=agreement.sales_team)
        lead.assigned_at = received_at if lead.owner else None
    # Uniqueness is left to the database: a concurrent duplicate committed after
    # _existing() must surface as IntegrityError (answered with the first lead), not 400.
    lead.full_clean(
        exclude=["definition_version", "stage", "team", "owner", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    lead.save()
    StageChange.objects.create(
        lead=lead, from_stage=None, to_stage=lead.stage, at=received_at, by=by, note="Delivered"
    )
    terms = _batch_memo(
        agreement, "terms", lambda: agreement.versions.get(version=agreement.version)
    )
    LeadTerms.objects.create(
        lead=lead,
        agreement=agreement,
        agreement_version=terms,
        attempts_required=agreement.attempts_before_abandon,
    )
    if result.qualifies:
        clock_start(
            lead=lead,
            kind=Clock.Kind.FIRST_TOUCH,
            at=received_at,
            calendar=agreement.calendar.as_work_calendar(),
            minutes=agreement.first_touch_minutes,
            at_risk_percent=agreement.at_risk_percent,
        )
    return lead


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
        raise RuleRefused(
            f"Cannot {action}: the lead is closed (since {lead.closed_at.isoformat()})."
        )


def _check_instant(*, lead: Lead, at: datetime, now: datetime, field: str = "at") -> None:
    if at > now:
        raise ValidationError({field: "may not be in the future."})
    if at < lead.received_at:
        raise ValidationError(
            {field: f"may not be before the lead was received ({lead.received_at.isoformat()})."}
        )


def _close(*, lead: Lead, at: datetime, reason: str) -> None:
    lead.closed_at = at
    clocks_stop_all(lead=lead, at=at, reason=reason)


def _move(*, lead: Lead, stage: Stage, by: User | None, at: datetime, note: str) -> None:
    if lead.stage_id == stage.pk:
        return
    StageChange.objects.create(
        lead=lead, from_stage_id=lead.stage_id, to_stage=stage, at=at, by=by, note=note
    )
    lead.stage = stage


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
    _check_instant(lead=lead, at=at, now=now)
    _refuse_if_closed(lead, "log a touch")
    touch = Touch(lead=lead, kind=kind, outcome=outcome, at=at, note=note, by=by)
    touch.full_clean()
    touch.save()
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
    if lead.verdict == Lead.Verdict.ACCEPTED:
        return lead
    lead.verdict, lead.verdict_at, lead.verdict_by = Lead.Verdict.ACCEPTED, now, by
    lead.verdict_reason, lead.verdict_note = None, ""
    lead.save(
        update_fields=["verdict", "verdict_at", "verdict_by", "verdict_reason", "verdict_note"]
    )
    return lead


@transaction.atomic
def lead_reject(*, lead: Lead, by: User, reason: str, note: str = "", now: datetime) -> Lead:
    """Sales' verdict that the lead does not meet the definition: its clocks close."""
    code = ReasonCode.objects.filter(code=reason, is_active=True).first()
    if code is None:
        known = ", ".join(ReasonCode.objects.filter(is_active=True).values_list("code", flat=True))
        raise ValidationError({"reason": f"Unknown reason {reason!r}; use one of: {known}."})
    lead = _locked(lead)
    _refuse_if_closed(lead, "reject")
    lead.verdict, lead.verdict_at, lead.verdict_by = Lead.Verdict.REJECTED, now, by
    lead.verdict_reason, lead.verdict_note = code, note
    _close(lead=lead, at=now, reason="rejected")
    stage = Stage.objects.filter(slug=REJECTED_STAGE).first()
    if stage:
        _move(lead=lead, stage=stage, by=by, at=now, note=f"Rejected: {code.label}")
    lead.save()
    return lead


@transaction.atomic
def lead_move_stage(*, lead: Lead, by: User, stage: str, note: str = "", now: datetime) -> Lead:
    """Move the lead in the funnel; a won or lost stage closes its clocks."""
    target = Stage.objects.filter(slug=stage, is_active=True).first()
    if target is None:
        raise ValidationError({"stage": f"Unknown stage {stage!r}."})
    lead = _locked(lead)
    if lead.stage_id == target.pk:
        raise RuleRefused(f"The lead is already in {target.name}.")
    if lead.closed_at is not None and not target.is_closed:
        raise RuleRefused("The lead is closed; it can only move between won and lost stages.")
    _move(lead=lead, stage=target, by=by, at=now, note=note)
    if target.is_closed and lead.closed_at is None:
        _close(lead=lead, at=now, reason=f"stage_{target.kind}")
    lead.save()
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, by: User, owner: str, now: datetime) -> Lead:
    """Give the lead to another rep of its team; running clocks keep running."""
    lead = _locked(lead)
    _refuse_if_closed(lead, "reassign")
    user = User.objects.filter(username=owner, is_active=True).first()
    if user is None or user.role not in (Role.SALES, Role.SALES_MANAGER):
        raise ValidationError({"owner": f"{owner!r} is not an active sales rep or manager."})
    if lead.team_id and not user.teams.filter(pk=lead.team_id).exists():
        raise ValidationError({"owner": f"{owner!r} is not a member of {lead.team}."})
    lead.owner, lead.assigned_at = user, now
    lead.save(update_fields=["owner", "assigned_at"])
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
    if override and by.role not in (Role.SALES_MANAGER, Role.ADMIN) and not by.is_superuser:
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
    lead.abandoned_at, lead.abandoned_by = now, by
    lead.abandon_reason, lead.abandon_note = reason.strip(), note
    _close(lead=lead, at=now, reason="abandoned")
    stage = Stage.objects.filter(slug=ABANDONED_STAGE).first()
    if stage:
        _move(lead=lead, stage=stage, by=by, at=now, note=f"Abandoned: {reason}")
    lead.save()
    return lead
