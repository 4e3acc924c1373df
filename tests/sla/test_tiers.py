"""Tiered sales terms: checked when written, chosen once at delivery, kept by the lead.

The world (tests/sla/lead_world.py): agreement A on a New York 09:00–17:00 weekday
calendar, 240 business minutes to first touch (at risk at 75 %), 1440 to the next touch,
six attempts; a lead qualifies with 50+ staff (60 points, the score). Its tiers: a demo
request is due within 15 minutes (at risk at 60 %, next touch 120, one attempt), a lead
scoring 60 or more from 1,000+ staff within 60 minutes; the rest take A's own terms.
2026-12-07 is a Monday.
"""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.models import Lead
from sla.actions import lead_abandon, lead_deliver, lead_touch
from sla.agreements import agreement_update
from sla.delivery import leads_deliver
from sla.models import Agreement, AgreementVersion, Clock, LeadTerms
from sla.terms import sales_terms_for, sales_terms_named, tiers_clean, tiers_errors
from tests.sla.lead_world import build_world, iso, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)
DEMO = {
    "name": "Demo request",
    "when": [{"field": "source", "op": "in", "value": ["demo_request", "trial"]}],
    "first_touch_minutes": 15,
    "at_risk_percent": 60,
    "next_touch_minutes": 120,
    "attempts_before_abandon": 1,
}
BIG = {
    "name": "Enterprise",
    "when": [
        {"field": "score", "op": "gte", "value": 60},
        {"field": "company_size", "op": "gte", "value": 1000},
    ],
    "first_touch_minutes": 60,
}


@pytest.fixture
def world():
    return build_world(tiers=[DEMO, BIG])


@pytest.fixture
def as_user(api_client):
    def login(user):
        api_client.force_authenticate(user=user)
        return api_client

    return login


def deliver(world, **overrides) -> Lead:
    lead, created = lead_deliver(
        by=world.maria, data=lead_body(**overrides), agreement=world.a, now=MONDAY_10AM
    )
    assert created
    return Lead.objects.select_related("terms").get(pk=lead.pk)


def first_clock(lead) -> Clock:
    return Clock.objects.get(lead=lead, kind=Clock.Kind.FIRST_TOUCH)


# --- choosing the terms (pure) ----------------------------------------------------------------

TERMS = {
    "first_touch_minutes": 240,
    "at_risk_percent": 75,
    "next_touch_minutes": 1440,
    "attempts_before_abandon": 6,
    "tiers": [DEMO, BIG],
}


def test_the_first_tier_that_matches_applies_and_fills_its_gaps_from_the_defaults():
    both = {"source": "trial", "company_size": 5000, "score": 60}
    assert sales_terms_for(TERMS, both).tier == "Demo request"  # first wins, though BIG matches
    big = sales_terms_for(TERMS, {"source": "webinar", "company_size": 5000, "score": 60})
    assert (big.tier, big.first_touch_minutes, big.at_risk_percent) == ("Enterprise", 60, 75)
    assert (big.next_touch_minutes, big.attempts_before_abandon) == (1440, 6)


def test_a_lead_matching_no_tier_has_the_agreements_own_terms():
    terms = sales_terms_for(TERMS, {"source": "webinar", "company_size": 5000, "score": 40})
    assert terms.tier == ""
    assert terms.first_touch_minutes == 240


def test_terms_named_by_a_tier_the_version_does_not_hold_are_the_defaults():
    assert sales_terms_named(TERMS, "Demo request").first_touch_minutes == 15
    assert sales_terms_named(TERMS, "Gone").first_touch_minutes == 240
    assert sales_terms_named({**TERMS, "tiers": None}, "").tier == ""


# --- checking tiers -----------------------------------------------------------------------------


def tier(**fields) -> dict:
    return {"name": "T", "when": [{"field": "source", "op": "eq", "value": "x"}], **fields}


def rule(field, op, value=None) -> dict:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ({"name": "T"}, "tiers: must be a list of tiers"),
        ([tier(name=f"T{i}") for i in range(21)], "tiers: at most 20 tiers"),
        (["fast"], "tiers[0]: must be an object"),
        ([tier(speed=1)], "tiers[0]: unknown key(s) speed"),
        ([tier(name=" ")], "tiers[0].name: a tier needs a name"),
        ([tier(name="x" * 101)], "tiers[0].name: at most 100 characters"),
        ([tier(name="Fast"), tier(name="fast ")], "tiers[1].name: 'fast' is already the name"),
        ([tier(first_touch_minutes=0)], "tiers[0].first_touch_minutes: must be a whole number"),
        ([tier(first_touch_minutes="15")], "tiers[0].first_touch_minutes: must be a whole number"),
        ([tier(next_touch_minutes=True)], "tiers[0].next_touch_minutes: must be a whole number"),
        ([tier(at_risk_percent=101)], "tiers[0].at_risk_percent: must be a percentage from 0"),
        ([tier(attempts_before_abandon=-1)], "tiers[0].attempts_before_abandon: must be"),
        ([tier(when={"source": "x"})], "tiers[0].when: must be a list of conditions"),
        ([tier(when=["source"])], "tiers[0].when[0]: must be an object"),
        ([tier(when=[rule("colour", "eq", "red")])], "tiers[0].when[0]: field 'colour' is not"),
        ([tier(when=[rule("source", "like", "x")])], "tiers[0].when[0]: op 'like' is not one"),
        ([tier(when=[rule("score", "gte", "high")])], "tiers[0].when[0]: gte needs a number"),
        ([tier(when=[rule("score", "contains", 5)])], "tiers[0].when[0]: score is a number"),
        ([tier(when=[rule("source", "in", [])])], "tiers[0].when[0]: in needs a non-empty list"),
        (
            [tier(when=[{**rule("source", "eq", "x"), "points": 5}])],
            "tiers[0].when[0]: unknown key(s) points",
        ),
        (
            [tier(when=[rule("score", "gte", 100), rule("score", "lte", 50)])],
            "tiers[0].when: score: gte 100 and lte 50 cannot both hold",
        ),
        (
            [tier(when=[rule("source", "eq", "demo"), rule("source", "eq", "trial")])],
            "tiers[0].when: source: eq 'demo' and eq 'trial' cannot both hold",
        ),
        (
            [tier(when=[rule("source", "eq", "demo"), rule("source", "in", ["trial", "ad"])])],
            "tiers[0].when: source: eq 'demo' is in none of the in values",
        ),
        (
            [
                tier(
                    when=[
                        rule("attributes.intent", "exists", False),
                        rule("attributes.intent", "eq", "x"),
                    ]
                )
            ],
            "tiers[0].when: attributes.intent: 'exists false' and another condition",
        ),
        (
            [tier(when=[rule("company_size", "eq", 10), rule("company_size", "gte", 50)])],
            "tiers[0].when: company_size: eq 10 is outside its gte/lte bounds",
        ),
        (
            [tier(when=[rule("source", "eq", "ad"), rule("source", "neq", "AD")])],
            "tiers[0].when: source: eq 'ad' and neq 'AD' cannot both hold",
        ),
        (
            [tier(name="All", when=[]), tier(name="Late")],
            "tiers[1]: unreachable: tiers[0] has no conditions and takes every lead",
        ),
    ],
)
def test_tiers_that_are_malformed_or_cannot_match_are_refused(tiers, message):
    errors = tiers_errors(tiers)
    assert any(error.startswith(message) for error in errors), errors


@pytest.mark.parametrize(
    "when",
    [
        [rule("score", "gte", 50), rule("score", "lte", 50)],  # exactly 50
        [rule("source", "eq", "Demo"), rule("source", "in", ["demo", "trial"])],  # any case
        [rule("company_size", "eq", "120"), rule("company_size", "gte", 50)],  # text number
        [rule("attributes.intent", "exists", True), rule("attributes.intent", "neq", "no")],
        [rule("attributes.tags", "in", ["a"]), rule("attributes.tags", "in", ["b"])],  # a list
    ],
)
def test_conditions_that_can_hold_together_are_accepted(when):
    assert tiers_errors([tier(when=when)]) == []


def test_a_last_tier_without_conditions_is_accepted():
    assert tiers_errors([tier(name="Fast"), tier(name="Everyone else", when=[])]) == []


def test_the_service_refuses_bad_tiers_naming_the_field_and_writes_nothing(world):
    with pytest.raises(ValidationError) as refused:
        agreement_update(agreement=world.a, by=world.ada, now=MONDAY_10AM, tiers=[tier(), tier()])
    assert "tiers[1].name" in refused.value.message_dict["tiers"][0]
    world.a.refresh_from_db()
    assert world.a.version == 1
    assert world.a.tiers == [DEMO, BIG]


# --- the API -------------------------------------------------------------------------------------


def patch(client, agreement, sales):
    return client.patch(f"/api/agreements/{agreement.pk}/", {"sales": sales}, format="json")


def test_tiers_are_written_as_a_new_version_and_answered_as_stored(world, as_user):
    new = [
        {
            "name": "  Partner  ",
            "when": [rule("source", "eq", "partner")],
            "first_touch_minutes": 30,
        }
    ]
    response = patch(as_user(world.ada), world.a, {"tiers": new})

    assert response.status_code == 200, response.json()
    stored = [
        {"name": "Partner", "when": [rule("source", "eq", "partner")], "first_touch_minutes": 30}
    ]
    assert response.json()["sales"]["tiers"] == stored
    assert response.json()["version"] == 2
    assert AgreementVersion.objects.get(agreement=world.a, version=2).terms["tiers"] == stored
    assert AgreementVersion.objects.get(agreement=world.a, version=1).terms["tiers"] == [DEMO, BIG]


def test_bad_tiers_answer_400_naming_sales_tiers_and_write_nothing(world, as_user):
    bad = [DEMO, {**BIG, "when": [rule("score", "gte", 90), rule("score", "lte", 10)]}]
    response = patch(as_user(world.ada), world.a, {"tiers": bad, "first_touch_minutes": 100})

    assert response.status_code == 400
    assert response.json() == {
        "sales": {"tiers": ["tiers[1].when: score: gte 90 and lte 10 cannot both hold"]}
    }
    agreement = Agreement.objects.get(pk=world.a.pk)
    assert (agreement.version, agreement.first_touch_minutes) == (1, 240)
    assert AgreementVersion.objects.filter(agreement=world.a).count() == 1


@pytest.mark.parametrize(
    "body", [{"tiers": None}, {"tiers": "fast"}, {"tiers": [{"name": "A", "when": [], "x": 1}]}]
)
def test_tiers_of_the_wrong_shape_answer_400_never_500(world, as_user, body):
    response = patch(as_user(world.ada), world.a, body)
    assert response.status_code == 400
    assert "tiers" in response.json()["sales"]


def test_the_callback_limits_are_terms_of_the_agreement(world, as_user):
    response = patch(
        as_user(world.ada), world.a, {"max_callback_business_days": 5, "max_callbacks": 0}
    )

    assert response.status_code == 200
    assert response.json()["sales"]["max_callback_business_days"] == 5
    assert response.json()["sales"]["max_callbacks"] == 0
    terms = AgreementVersion.objects.get(agreement=world.a, version=2).terms
    assert (terms["max_callback_business_days"], terms["max_callbacks"]) == (5, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_callback_business_days", 366),
        ("max_callback_business_days", -1),
        ("max_callbacks", 101),
        ("max_callbacks", "many"),
    ],
)
def test_callback_limits_out_of_range_answer_400(world, as_user, name, value):
    response = patch(as_user(world.ada), world.a, {name: value})
    assert response.status_code == 400
    assert name in response.json()["sales"]
    assert Agreement.objects.get(pk=world.a.pk).version == 1


def test_the_service_refuses_callback_limits_out_of_range(world):
    with pytest.raises(ValidationError) as refused:
        agreement_update(agreement=world.a, by=world.ada, now=MONDAY_10AM, max_callbacks=101)
    assert "max_callbacks" in refused.value.message_dict


def test_a_rep_may_not_edit_tiers(world, as_user):
    assert patch(as_user(world.sam), world.a, {"tiers": []}).status_code == 403


# --- delivery -----------------------------------------------------------------------------


def test_a_demo_request_is_due_within_its_tiers_window_and_keeps_its_tier(world):
    lead = deliver(world, source="demo_request")

    clock = first_clock(lead)
    assert clock.due_at == ny(2026, 12, 7, 10, 15)
    assert clock.at_risk_at == ny(2026, 12, 7, 10, 9)  # 60 % of 15 minutes
    assert clock.business_minutes == 15
    assert (lead.terms.tier, lead.terms.attempts_required) == ("Demo request", 1)
    assert lead.sla_first_due_at == ny(2026, 12, 7, 10, 15)


def test_a_tier_may_ask_for_the_score_given_just_before(world):
    lead = deliver(world, source="webinar", company_size=2000)  # 60 points
    assert lead.terms.tier == "Enterprise"
    assert first_clock(lead).due_at == ny(2026, 12, 7, 11, 0)
    assert lead.terms.attempts_required == 6  # left out: the agreement's


def test_a_lead_matching_no_tier_has_the_agreements_window_and_no_tier(world):
    lead = deliver(world, source="webinar")
    assert lead.terms.tier == ""
    assert first_clock(lead).due_at == ny(2026, 12, 7, 14, 0)


def test_a_lead_that_does_not_qualify_starts_no_clock_and_has_no_tier(world):
    lead = deliver(world, source="demo_request", company_size=10)
    assert not lead.qualifies
    assert not Clock.objects.filter(lead=lead).exists()
    assert (lead.terms.tier, lead.terms.attempts_required) == ("", 6)


def batch(count: int) -> list[dict]:
    sources = ["demo_request", "webinar", "trial", "ebook"]
    return [
        lead_body(
            email=f"lead{i}@example.com",
            external_id=f"x{i}",
            source=sources[i % 4],
            company_size=[120, 2000, 10][i % 3],
            received_at=MONDAY_10AM - timedelta(minutes=11 * i),
        )
        for i in range(count)
    ]


def delivered_terms() -> list[tuple]:
    return [
        (lead.external_id, lead.terms.tier, lead.terms.attempts_required, lead.sla_first_due_at)
        + tuple(
            (c.due_at, c.at_risk_at, c.business_minutes)
            for c in Clock.objects.filter(lead=lead).order_by("id")
        )
        for lead in Lead.objects.select_related("terms").order_by("external_id")
    ]


def test_a_batch_chooses_each_leads_tier_as_one_at_a_time_does(world):
    items = batch(12)
    for item in items:
        lead_deliver(by=world.maria, data=item, agreement=world.a, now=MONDAY_10AM)
    one_at_a_time = delivered_terms()
    Lead.objects.all().delete()

    results = leads_deliver(by=world.maria, items=items, agreement=world.a, now=MONDAY_10AM)

    assert {r.status for r in results} == {"created"}
    assert delivered_terms() == one_at_a_time
    assert {row[1] for row in one_at_a_time} == {"Demo request", "Enterprise", ""}


@pytest.mark.postgres  # COPY, and SQLite splits a bulk insert by its parameter cap
def test_tiers_cost_a_batch_no_query_per_lead(world):
    def queries(count, start):
        items = [
            {**item, "external_id": f"{start}-{i}", "email": f"{start}.{i}@example.com"}
            for i, item in enumerate(batch(count))
        ]
        with CaptureQueriesContext(connection) as captured:
            leads_deliver(by=world.maria, items=items, agreement=world.a, now=MONDAY_10AM)
        return len(captured)

    queries(1, "warm")  # the team's round-robin cursor is created once, on the first delivery
    assert queries(10, "a") == queries(100, "b")
    assert LeadTerms.objects.filter(tier="Demo request").count() > 20


def test_a_delivered_lead_answers_its_tier(world, as_user):
    client = as_user(world.maria)
    with time_machine.travel(MONDAY_10AM, tick=False):
        created = client.post(
            "/api/leads/", lead_body(agreement=world.a.pk, source="trial"), format="json"
        )
        plain = client.post(
            "/api/leads/",
            lead_body(agreement=world.a.pk, email="b@example.com", source="ebook"),
            format="json",
        )
    assert created.status_code == 201, created.json()
    assert created.json()["sla"]["tier"] == "Demo request"
    assert created.json()["sla"]["first_touch_due_at"] == iso(ny(2026, 12, 7, 10, 15))
    assert created.json()["sla"]["attempts_required"] == 1
    assert plain.json()["sla"]["tier"] is None


def test_the_list_the_detail_and_the_export_answer_the_tier(world, as_user):
    demo = deliver(world, source="demo_request")
    deliver(world, source="webinar", email="w@example.com")
    client = as_user(world.ada)
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=5), tick=False):
        listed = client.get("/api/leads/").json()["results"]
        detail = client.get(f"/api/leads/{demo.pk}/").json()
        export = b"".join(client.get("/api/leads/export.csv").streaming_content)

    assert {row["email"]: row["sla"]["tier"] for row in listed} == {
        "ann@example.com": "Demo request",
        "w@example.com": None,
    }
    assert detail["sla"]["tier"] == "Demo request"
    rows = list(csv.DictReader(io.StringIO(export.decode("utf-8-sig"))))
    assert {row["email"]: row["tier"] for row in rows} == {
        "ann@example.com": "Demo request",
        "w@example.com": "",
    }


# --- the lead keeps its terms ------------------------------------------------------------------


def edit_tiers(world, tiers):
    return agreement_update(
        agreement=world.a, by=world.ada, now=MONDAY_10AM + timedelta(minutes=1), tiers=tiers
    )


def test_editing_a_tier_moves_no_running_clock_nor_the_next_touch_window_of_earlier_leads(world):
    old = deliver(world, source="demo_request")
    due = first_clock(old).due_at
    world.a = edit_tiers(world, [{**DEMO, "first_touch_minutes": 5, "next_touch_minutes": 30}, BIG])
    touched_at = ny(2026, 12, 7, 10, 12)

    lead_touch(
        lead=old, by=world.sam, kind="call", outcome="no_answer", at=touched_at, now=touched_at
    )

    assert first_clock(old).due_at == due
    next_touch = Clock.objects.get(lead=old, kind=Clock.Kind.NEXT_TOUCH)
    assert next_touch.business_minutes == 120  # the old version's tier
    assert next_touch.due_at == ny(2026, 12, 7, 12, 12)
    new = deliver(world, source="demo_request", email="new@example.com")
    assert first_clock(new).due_at == ny(2026, 12, 7, 10, 5)  # the new version's
    assert new.terms.agreement_version.version == 2


def test_a_lead_of_a_tier_since_removed_keeps_its_windows(world):
    old = deliver(world, source="demo_request")
    edit_tiers(world, [])
    at = ny(2026, 12, 7, 10, 20)

    lead_touch(lead=old, by=world.sam, kind="call", outcome="no_answer", at=at, now=at)

    assert Clock.objects.get(lead=old, kind=Clock.Kind.NEXT_TOUCH).business_minutes == 120


def test_the_next_touch_of_a_lead_without_tier_is_the_versions_default(world):
    lead = deliver(world, source="webinar")
    agreement_update(agreement=world.a, by=world.ada, now=MONDAY_10AM, next_touch_minutes=60)
    at = ny(2026, 12, 7, 10, 30)

    lead_touch(lead=lead, by=world.sam, kind="call", outcome="no_answer", at=at, now=at)

    assert Clock.objects.get(lead=lead, kind=Clock.Kind.NEXT_TOUCH).business_minutes == 1440


def test_a_lead_may_be_abandoned_after_its_tiers_attempts(world):
    demo = deliver(world, source="demo_request")
    plain = deliver(world, source="webinar", email="w@example.com")
    at = ny(2026, 12, 7, 10, 10)
    for lead in (demo, plain):
        lead_touch(lead=lead, by=world.sam, kind="call", outcome="no_answer", at=at, now=at)

    lead_abandon(lead=demo, by=world.sam, reason="No answer", now=at)

    assert Lead.objects.get(pk=demo.pk).closed_at == at
    from core.errors import RuleRefused

    with pytest.raises(RuleRefused, match="1 of 6 attempts"):
        lead_abandon(lead=plain, by=world.sam, reason="No answer", now=at)


# --- compliance ---------------------------------------------------------------------------


def test_compliance_breaks_down_by_tier_in_the_agreements_order(world, as_user):
    demo = deliver(world, source="demo_request")
    deliver(world, source="trial", email="t@example.com")  # demo tier, untouched: breached
    deliver(world, source="webinar", company_size=2000, email="e@example.com")
    deliver(world, source="webinar", email="w@example.com")
    deliver(world, source="trial", company_size=10, email="n@example.com")  # no clock
    at = ny(2026, 12, 7, 10, 10)
    lead_touch(lead=demo, by=world.sam, kind="call", outcome="connected", at=at, now=at)

    with time_machine.travel(ny(2026, 12, 7, 12, 0), tick=False):
        response = as_user(world.erin).get(f"/api/compliance/?agreement={world.a.pk}&month=2026-12")

    assert response.status_code == 200
    assert response.json()["by_tier"] == [
        {
            "tier": "Demo request",
            "leads": 2,
            "touched_within_sla": 1,
            "breached": 1,
            "compliance_percent": 50.0,
            "median_first_touch_minutes": 10,
            "p90_first_touch_minutes": 10,
        },
        {
            "tier": "Enterprise",
            "leads": 1,
            "touched_within_sla": 0,
            "breached": 1,
            "compliance_percent": 0.0,
            "median_first_touch_minutes": None,
            "p90_first_touch_minutes": None,
        },
        {
            "tier": None,
            "leads": 1,
            "touched_within_sla": 0,
            "breached": 0,
            "compliance_percent": None,
            "median_first_touch_minutes": None,
            "p90_first_touch_minutes": None,
        },
    ]
    assert response.json()["sales"]["leads"] == 4


def test_compliance_by_tier_costs_the_same_queries_for_few_or_many_leads(world):
    from sla.compliance import compliance_for

    def queries():
        with CaptureQueriesContext(connection) as captured:
            compliance_for(agreement=world.a, month="2026-12", at=MONDAY_10AM)
        return len(captured)

    deliver(world, source="demo_request")
    few = queries()
    leads_deliver(by=world.maria, items=batch(30), agreement=world.a, now=MONDAY_10AM)
    assert queries() == few


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
PARTS = st.fixed_dictionaries(
    {
        "name": st.text(max_size=3),
        "when": st.lists(
            st.fixed_dictionaries(
                {
                    "field": st.sampled_from(["score", "source", "attributes.x", 3]),
                    "op": st.sampled_from(
                        ["eq", "in", "gte", "lte", "exists", "neq", "contains", None]
                    ),
                    "value": JSON,
                }
            ),
            max_size=3,
        ),
    },
    optional={"first_touch_minutes": JSON, "at_risk_percent": JSON},
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    tiers=JSON | st.lists(PARTS, max_size=3),
    lead=st.dictionaries(st.sampled_from(["score", "source", "attributes"]), JSON),
)
def test_any_json_is_checked_without_an_error_and_accepted_tiers_choose_terms(tiers, lead):
    errors = tiers_errors(tiers)
    assert isinstance(errors, list)
    if not errors:
        terms = sales_terms_for({**TERMS, "tiers": tiers_clean(tiers)}, lead)
        assert terms.first_touch_minutes >= 1
