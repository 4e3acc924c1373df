"""Closed books: when an agreement's month closes, and what closing it freezes.

A month runs to local midnight of the next 1st in the agreement calendar's zone, then is
in grace for `close_grace_business_days` business days (late CRM syncs land), then is
closed. Once closed its commitment, the marketing terms in effect and its lead counts are
final: a lead received in it is refused (409, `month_closed`), its commitment cannot be
logged again, and it is measured under the agreement version in effect when it closed.
An admin may reopen it with a reason, recorded; it then takes late leads again until it
closes again, `close_grace_business_days` business days later, and the checks judge it
again on its new counts.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from calendars.months import after_business_days, month_bounds, month_closes_at, month_of
from core.errors import RuleRefused
from core.timeparse import local_text, month_field, month_name
from sla.models import Agreement, AgreementVersion, Flag, MonthEvaluation, MonthReopening

OPEN, GRACE, CLOSED = "open", "grace", "closed"


def closes_at(agreement: Agreement, year: int, month: int) -> datetime:
    """When the month's books close (its end plus the grace, in business days)."""
    calendar = agreement.calendar.as_work_calendar()
    return month_closes_at(calendar, year, month, agreement.close_grace_business_days)


def reopened_until(agreement: Agreement, month: str, at: datetime) -> datetime | None:
    """The instant a reopening of the month keeps it open until, when one does at `at`."""
    found = (
        MonthReopening.objects.filter(
            agreement=agreement, month=month, at__lte=at, closes_at__gt=at
        )
        .order_by("-closes_at")
        .values_list("closes_at", flat=True)
        .first()
    )
    return found


def month_period(
    agreement: Agreement, year: int, month: int, at: datetime, *, reopened=None
) -> str:
    """`open` (running, or reopened), `grace` (over, its books not yet closed) or `closed`.

    `reopened`: when the caller read the reopenings already, a function of the month's
    name giving the instant its latest reopening keeps it open until (or None)."""
    calendar = agreement.calendar.as_work_calendar()
    if at < month_bounds(calendar, year, month)[1]:
        return OPEN
    if at < closes_at(agreement, year, month):
        return GRACE
    name = month_name(year, month)
    until = reopened(name) if reopened else reopened_until(agreement, name, at)
    return OPEN if until is not None and until > at else CLOSED


class ClosedMonths:
    """`month_period` for many leads of a delivery: nothing is read for a lead received in
    a month that has not ended (almost every lead); the first lead of an ended month reads
    its agreement's reopenings once (one query however many months the batch spans)."""

    def __init__(self, now: datetime):
        self.now = now
        self.known: dict[tuple[int, int, int], str] = {}
        self.reopenings: dict[int, dict[str, datetime]] = {}

    def _reopened(self, agreement: Agreement):
        if agreement.pk not in self.reopenings:
            latest: dict[str, datetime] = {}
            for month, until in MonthReopening.objects.filter(
                agreement=agreement, at__lte=self.now
            ).values_list("month", "closes_at"):
                latest[month] = max(until, latest.get(month, until))
            self.reopenings[agreement.pk] = latest
        return self.reopenings[agreement.pk].get

    def refuse(self, agreement: Agreement, received_at: datetime) -> None:
        """RuleRefused (409) when `received_at` falls in a closed month of the agreement."""
        calendar = agreement.calendar.as_work_calendar()
        year, month = month_of(calendar, received_at)
        key = (agreement.pk, year, month)
        if key not in self.known:
            if self.now < month_bounds(calendar, year, month)[1]:
                self.known[key] = OPEN
            else:
                self.known[key] = month_period(
                    agreement, year, month, self.now, reopened=self._reopened(agreement)
                )
        if self.known[key] == CLOSED:
            name = month_name(year, month)
            when = local_text(closes_at(agreement, year, month), agreement.calendar.timezone)
            raise RuleRefused(
                f"month_closed: {name} of {agreement.name} closed {when}; its figures are "
                "final. An admin may reopen the month with a reason.",
                rule="month_closed",
            )


def marketing_terms_for(agreement: Agreement, year: int, month: int, at: datetime) -> dict:
    """The marketing terms one month is measured under (see MarketingTerms)."""
    return MarketingTerms([agreement], at=at).of(agreement, year, month)


def refuse_closed_commitment(agreement: Agreement, month: str, now: datetime) -> None:
    """A closed month's commitment is final: logging it again is refused (409)."""
    year, number = (int(part) for part in month.split("-"))
    if month_period(agreement, year, number, now) == CLOSED:
        raise RuleRefused(
            f"month_closed: {month} is closed; its commitment is final. An admin may reopen "
            "the month with a reason.",
            rule="month_closed",
        )


@transaction.atomic
def month_reopen(
    *, agreement: Agreement, month: str, reason: str, by, now: datetime
) -> MonthReopening:
    """Reopen a closed month: recorded with its reason; late leads and a new commitment are
    taken until it closes again, and the month checks judge it again on its new counts."""
    month_field(month)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the month is reopened."})
    year, number = (int(part) for part in month.split("-"))
    if not agreement.in_effect_during(year, number):
        raise ValidationError({"month": f"{agreement.name} is not in effect in {month}."})
    period = month_period(agreement, year, number, now)
    if period != CLOSED:
        raise RuleRefused(
            f"month_not_closed: {month} is {period}; only a closed month is reopened.",
            rule="month_not_closed",
        )
    calendar = agreement.calendar.as_work_calendar()
    reopening = MonthReopening.objects.create(
        agreement=agreement,
        month=month,
        reason=reason,
        by=by,
        at=now,
        closes_at=after_business_days(calendar, now, agreement.close_grace_business_days),
    )
    # Counted and judged again, by every month check, once it closes again.
    MonthEvaluation.objects.update_or_create(
        agreement=agreement,
        month=month,
        defaults={"stale": True, "quota_judged_at": None, "quality_judged_at": None},
    )
    Flag.objects.filter(
        agreement=agreement,
        month=month,
        kind__in=[Flag.Kind.QUOTA_SHORTFALL, Flag.Kind.QUALITY_SHORTFALL],
        state=Flag.State.OPEN,
    ).update(
        state=Flag.State.RESOLVED,
        resolved_at=now,
        resolved_by=by,
        resolution_note=f"Month reopened: {reason}. Judged again when it closes.",
    )
    return reopening


class MarketingTerms:
    """The marketing terms each month of some agreements is measured under, for many months
    at once: the agreements' versions and reopenings are read once (two queries), then each
    (agreement, month) is answered in Python. A closed month reads the version in effect
    when it closed; the others (and an agreement with no version) the current terms."""

    def __init__(self, agreements, *, at: datetime):
        self.at = at
        self.ids = [a.id for a in agreements]
        self._versions: dict[int, list[tuple[datetime, dict]]] | None = None
        self._reopened: dict[tuple[int, str], datetime] | None = None

    # Read on first need: figures of months that have not ended read neither.

    @property
    def versions(self) -> dict[int, list[tuple[datetime, dict]]]:
        if self._versions is None:
            self._versions = {}
            for agreement_id, created_at, terms in (
                AgreementVersion.objects.filter(agreement_id__in=self.ids)
                .order_by("agreement_id", "version")
                .values_list("agreement_id", "created_at", "terms")
            ):
                self._versions.setdefault(agreement_id, []).append((created_at, terms or {}))
        return self._versions

    @property
    def reopened(self) -> dict[tuple[int, str], datetime]:
        if self._reopened is None:
            self._reopened = {}
            for agreement_id, month, closes in MonthReopening.objects.filter(
                agreement_id__in=self.ids, at__lte=self.at
            ).values_list("agreement_id", "month", "closes_at"):
                key = (agreement_id, month)
                self._reopened[key] = max(closes, self._reopened.get(key, closes))
        return self._reopened

    def period(self, agreement: Agreement, year: int, month: int) -> str:
        return month_period(
            agreement,
            year,
            month,
            self.at,
            reopened=lambda name: self.reopened.get((agreement.id, name)),
        )

    def of(self, agreement: Agreement, year: int, month: int) -> dict:
        current = {name: getattr(agreement, name) for name in Agreement.MARKETING_TERMS}
        if self.period(agreement, year, month) != CLOSED:
            return current
        closing = closes_at(agreement, year, month)
        found = None
        for created_at, terms in self.versions.get(agreement.id, []):
            if created_at < closing:
                found = terms
        if not found:
            return current
        return {name: found.get(name, current[name]) for name in Agreement.MARKETING_TERMS}
