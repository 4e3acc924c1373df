"""Agreements (versioned) and marketing's monthly commitments."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Team, User
from core.timeparse import month_field
from sla.books import refuse_closed_commitment
from sla.models import Agreement, AgreementVersion, LeadTerms, MonthlyCommitment
from sla.terms import sales_terms_for, sales_terms_named, tiers_clean, tiers_errors

VERSIONED_FIELDS = (
    "name",
    "marketing_team",
    "sales_team",
    "calendar",
    "definition",
    "effective_from",
    "effective_to",
    *Agreement.SALES_TERMS,
    *Agreement.MARKETING_TERMS,
)


def _snapshot(agreement: Agreement) -> dict:
    terms = {}
    for name in VERSIONED_FIELDS:
        value = (
            getattr(agreement, name + "_id", None) if name in _RELATED else getattr(agreement, name)
        )
        terms[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return terms


_RELATED = {"marketing_team", "sales_team", "calendar", "definition"}


def _validate(agreement: Agreement) -> None:
    errors = {}
    if agreement.marketing_team_id and agreement.marketing_team.kind != Team.Kind.MARKETING:
        errors["marketing_team"] = "must be a marketing team."
    if agreement.sales_team_id and agreement.sales_team.kind != Team.Kind.SALES:
        errors["sales_team"] = "must be a sales team."
    if agreement.effective_to and agreement.effective_to < agreement.effective_from:
        errors["effective_to"] = "must be on or after effective_from."
    if agreement.first_touch_minutes < 1:
        errors["first_touch_minutes"] = "must be at least 1 business minute."
    if agreement.next_touch_minutes < 1:
        errors["next_touch_minutes"] = "must be at least 1 business minute."
    for name in ("at_risk_percent", "min_acceptance_percent", "pacing_tolerance_percent"):
        if not 0 <= getattr(agreement, name) <= 100:
            errors[name] = "must be a percentage from 0 to 100."
    for name, high in CALLBACK_LIMITS.items():
        value = getattr(agreement, name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
            errors[name] = f"must be a whole number from 0 to {high}."
    found = tiers_errors(agreement.tiers)
    if found:
        errors["tiers"] = found
    else:
        agreement.tiers = tiers_clean(agreement.tiers)
    if errors:
        raise ValidationError(errors)
    agreement.full_clean()


# The callback limits' ranges: a callback at most a year of business days ahead.
CALLBACK_LIMITS = {"max_callback_business_days": 365, "max_callbacks": 100}


def agreement_version_write(
    agreement: Agreement, *, by: User | None, at: datetime
) -> AgreementVersion:
    """Freeze the agreement's current terms as its version `agreement.version`."""
    return AgreementVersion.objects.create(
        agreement=agreement,
        version=agreement.version,
        terms=_snapshot(agreement),
        created_at=at,
        created_by=by,
    )


MAX_QUOTA = 1_000_000_000  # far beyond any month, and within the column


@transaction.atomic
def agreement_create(*, by: User | None, now: datetime, **fields) -> Agreement:
    agreement = Agreement(**fields, version=1)
    _validate(agreement)
    agreement.save()
    agreement_version_write(agreement, by=by, at=now)
    return agreement


@transaction.atomic
def agreement_update(
    *, agreement: Agreement, by: User | None, now: datetime, **changes
) -> Agreement:
    """Edit an agreement: a new version when anything changes; leads keep theirs."""
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    before = _snapshot(agreement)
    for name, value in changes.items():
        setattr(agreement, name, value)
    _validate(agreement)
    if _snapshot(agreement) == before:
        return agreement
    agreement.version += 1
    agreement.save()
    agreement_version_write(agreement, by=by, at=now)
    return agreement


@transaction.atomic
def commitment_log(
    *, agreement: Agreement, month: str, quota: int | None, note: str = "", by: User, now: datetime
) -> MonthlyCommitment:
    """Marketing's commitment for a month (the agreement's quota when none is given)."""
    month_field(month)
    refuse_closed_commitment(agreement, month, now)
    if quota is None:
        quota = agreement.monthly_quota
    if not isinstance(quota, int) or isinstance(quota, bool) or not 0 <= quota <= MAX_QUOTA:
        raise ValidationError(
            {"quota": f"must be a whole number of leads, from 0 to {MAX_QUOTA:,}."}
        )
    commitment, _ = MonthlyCommitment.objects.update_or_create(
        agreement=agreement,
        month=month,
        defaults={"quota": quota, "note": note, "logged_by": by, "logged_at": now},
    )
    return commitment


def committed_quota(*, agreement: Agreement, month: str) -> int:
    commitment = MonthlyCommitment.objects.filter(agreement=agreement, month=month).first()
    return commitment.quota if commitment else agreement.monthly_quota


def lead_terms_attach(
    *, lead, agreement: Agreement, version: AgreementVersion | None = None, tier: str | None = None
):
    """Record which agreement, and which version of it, the lead was delivered under, and
    the version's tier it matched (chosen from the lead's data and score when `tier` is
    None; a lead that does not qualify starts no clock and takes the default terms)."""
    # The current version's terms are the agreement's own fields, read without a query.
    terms = version.terms if version else {n: getattr(agreement, n) for n in Agreement.SALES_TERMS}
    if tier is None:
        sales = sales_terms_for(terms, vars(lead)) if lead.qualifies else None
    else:
        sales = sales_terms_named(terms, tier)
    return LeadTerms.objects.create(
        lead=lead,
        agreement=agreement,
        agreement_version=version or agreement.current_version(),
        attempts_required=(sales or sales_terms_named(terms, "")).attempts_before_abandon,
        tier=sales.tier if sales else "",
    )
