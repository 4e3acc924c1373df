"""factory_boy factories for the whole domain. Build what a test needs, nothing more."""

from datetime import UTC, date, datetime

import factory
from django.utils import timezone

from accounts.models import Role, Team, User
from calendars.models import BusinessCalendar
from funnel.models import Stage
from leads.models import Lead, LeadDefinition
from leads.services.definitions import definition_freeze
from sla.agreements import agreement_version_write, lead_terms_attach
from sla.clocks import clocks_summarise
from sla.models import Agreement, Clock


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.SALES
    password = factory.django.Password("pw-Secret-123")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    kind = Team.Kind.SALES

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class CalendarFactory(factory.django.DjangoModelFactory):
    """Mon–Fri 09:00–17:00 in New York unless told otherwise."""

    class Meta:
        model = BusinessCalendar
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Calendar {n}")
    timezone = "America/New_York"
    working_hours = factory.LazyFunction(
        lambda: {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    holidays = factory.LazyFunction(list)


class DefinitionFactory(factory.django.DjangoModelFactory):
    """A definition whose single criterion (company_size >= 50, 60 points) qualifies at 50."""

    class Meta:
        model = LeadDefinition
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Definition {n}")
    good_lead = "A company of 50 people or more."
    not_a_lead = "Students and job seekers."
    handling = "Call within four business hours."
    qualify_at = 50
    criteria = factory.LazyFunction(
        lambda: [
            {"field": "company_size", "op": "gte", "value": 50, "points": 60, "label": "50+ staff"}
        ]
    )
    disqualifiers = factory.LazyFunction(
        lambda: [{"field": "attributes.student", "op": "eq", "value": True, "label": "Student"}]
    )

    @factory.post_generation
    def first_version(self, create, extracted, **kwargs):
        if create and not self.versions.exists():
            definition_freeze(definition=self, by=None)


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Agreement {n}")
    marketing_team = factory.SubFactory(TeamFactory, kind=Team.Kind.MARKETING)
    sales_team = factory.SubFactory(TeamFactory, kind=Team.Kind.SALES)
    calendar = factory.SubFactory(CalendarFactory)
    definition = factory.SubFactory(DefinitionFactory)
    effective_from = date(2026, 1, 1)
    first_touch_minutes = 240
    at_risk_percent = 75
    next_touch_minutes = 1440
    attempts_before_abandon = 6
    monthly_quota = 200
    min_acceptance_percent = 80
    pacing_tolerance_percent = 10
    # Most tests deliver the same address many times and mean distinct leads: the
    # duplicate rule (sla.duplicates, 30 days by default) is off unless a test asks.
    duplicate_window_days = 0

    @factory.post_generation
    def first_version(self, create, extracted, **kwargs):
        if create and not self.versions.exists():
            agreement_version_write(self, by=None, at=timezone.now())


def stage(slug: str = "interacting") -> Stage:
    return Stage.objects.get(slug=slug)


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead row as intake would have stored it; no clock is started here.

    Pass `agreement=` to attach LeadTerms (the agreement a lead was delivered under).
    """

    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    first_name = "Lee"
    last_name = factory.Sequence(lambda n: f"Lead{n}")
    company = "Acme"
    company_size = 120
    received_at = factory.LazyFunction(lambda: datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    definition_version = factory.LazyAttribute(
        lambda o: (o.agreement.definition if o.agreement else DefinitionFactory()).current_version
    )
    score = 60
    qualifies = True
    score_explanation = factory.LazyFunction(lambda: [{"label": "50+ staff", "points": 60}])
    stage = factory.LazyFunction(stage)

    agreement = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        agreement = kwargs.pop("agreement", None)
        lead = super()._create(model_class, *args, **kwargs)
        if agreement is not None:
            lead_terms_attach(lead=lead, agreement=agreement)
            if lead.team_id is None:
                lead.team = agreement.sales_team
            lead.marketing_team_id = agreement.marketing_team_id
            lead.save(update_fields=["team", "marketing_team"])
        return lead


class ClockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clock

    lead = factory.SubFactory(LeadFactory)
    kind = Clock.Kind.FIRST_TOUCH
    started_at = factory.LazyAttribute(lambda c: c.lead.received_at)
    due_at = factory.LazyAttribute(lambda c: c.started_at + timezone.timedelta(hours=4))
    at_risk_at = factory.LazyAttribute(lambda c: c.started_at + timezone.timedelta(hours=3))
    business_minutes = 240

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        clock = super()._create(model_class, *args, **kwargs)
        clocks_summarise(lead_ids=[clock.lead_id])  # as clock_start keeps it
        return clock


# --- touches, flags, commitments (the checks' tests) ---------------------------------------

from leads.models import Touch  # noqa: E402
from sla.models import Flag, MonthlyCommitment  # noqa: E402


class TouchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touch

    lead = factory.SubFactory(LeadFactory)
    kind = Touch.Kind.CALL
    outcome = Touch.Outcome.NO_ANSWER
    at = factory.LazyAttribute(lambda t: t.lead.received_at + timezone.timedelta(hours=1))


class FlagFactory(factory.django.DjangoModelFactory):
    """An open first-touch breach of a lead; pass `agreement=` and `lead=` together."""

    class Meta:
        model = Flag

    kind = Flag.Kind.FIRST_TOUCH_BREACHED
    raised_at = factory.LazyFunction(lambda: datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    due_at = factory.LazyAttribute(lambda f: f.raised_at)
    noticed_at = factory.LazyAttribute(lambda f: f.raised_at)
    agreement = factory.SubFactory(AgreementFactory)
    lead = factory.LazyAttribute(lambda f: LeadFactory(agreement=f.agreement))
    owner = factory.LazyAttribute(lambda f: f.lead.owner if f.lead else None)
    team = factory.LazyAttribute(lambda f: f.lead.team if f.lead else f.agreement.marketing_team)
    month = "2026-12"
    detail = "first touch due Tue 1 Dec 14:00 EST (240 business minutes) passed untouched"


class CommitmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlyCommitment

    agreement = factory.SubFactory(AgreementFactory)
    month = "2026-12"
    quota = 220
    logged_at = factory.LazyFunction(lambda: datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
