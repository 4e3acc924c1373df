"""The fast intake paths give exactly what the careful ones gave.

Delivery builds plain rows (no model instance, no full_clean per lead) when its quick
checks vouch for a lead, writes them with COPY (or, for one lead, four INSERTs in one
round trip), scores a batch once per distinct set of the values the rules read, and
answers an API lead without reading it back. Each test holds one of those shortcuts
equal to the path it replaced.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from funnel.models import StageChange
from leads.models import AssignmentCursor, Lead
from leads.scoring import score, scorer
from sla import delivery
from sla.actions import lead_deliver
from sla.delivery import leads_deliver
from sla.models import Clock, LeadTerms
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)
SKIPPED = {"id", "lead_id", "created_at", "updated_at"}


@pytest.fixture
def world():
    return build_world()


def stored() -> list[dict]:
    """Every delivered row of every table, by external_id, without ids and timestamps."""
    out = []
    for lead in Lead.objects.order_by("external_id"):
        row = {k: v for k, v in Lead.objects.filter(pk=lead.pk).values()[0].items()}
        row = {k: v for k, v in row.items() if k not in SKIPPED}
        row["history"] = list(
            StageChange.objects.filter(lead=lead).values("from_stage", "to_stage", "at", "note")
        )
        row["terms"] = list(
            LeadTerms.objects.filter(lead=lead).values(
                "agreement", "agreement_version", "attempts_required", "import_job"
            )
        )
        row["clocks"] = list(
            Clock.objects.filter(lead=lead).values(
                "kind", "state", "started_at", "due_at", "at_risk_at", "business_minutes"
            )
        )
        out.append(row)
    return out


def odd_bodies() -> list[dict]:
    """Leads a quick check cannot vouch for, beside ordinary ones: numbers as text, a
    boolean size, text with tabs, newlines and backslashes, attributes in depth."""
    return [
        lead_body(email="a@example.com", external_id="e-1"),
        lead_body(email="b@example.com", external_id="e-2", company_size="75"),
        lead_body(email="c@example.com", external_id="e-3", company_size=True),
        lead_body(
            email="d@example.com",
            external_id="e-4",
            company="Tab\tNew\nline \\ back\\slash \u00e9\u4e2d",
            attributes={"student": "true", "tags": ["a", "b\tc"], "note": 'say "hi"\\n'},
        ),
        lead_body(email="e@example.com", external_id="e-5", company_size=10, title=""),
        lead_body(email="f@example.com", external_id="e-6", attributes={"student": True}),
        lead_body(email="g@example.com", external_id="  e-7  ", first_name=None),
    ]


def _deliver_each(world, items, at):
    for i, body in enumerate(items):
        lead_deliver(
            by=world.maria,
            data={**body, "received_at": at - timedelta(minutes=i)},
            agreement=world.a,
            now=at,
        )


def _reset():
    Lead.objects.all().delete()
    AssignmentCursor.objects.all().delete()  # round robin starts again from the first rep


def test_plain_rows_store_what_full_clean_stored(world, monkeypatch):
    items = odd_bodies()
    with monkeypatch.context() as patched:
        patched.setattr(delivery, "_fields", lambda item: None)  # every lead by lead_build
        _deliver_each(world, items, MONDAY_10AM)
    careful = stored()
    _reset()

    _deliver_each(world, items, MONDAY_10AM)

    assert stored() == careful
    assert len(careful) == len(items)


def test_a_copied_batch_stores_what_one_lead_at_a_time_stored(world):
    items = [
        {**body, "received_at": MONDAY_10AM - timedelta(minutes=i)}
        for i, body in enumerate(odd_bodies())
    ]
    _deliver_each(world, items, MONDAY_10AM)
    one_at_a_time = stored()
    _reset()

    results = leads_deliver(by=world.maria, items=items, agreement=world.a, now=MONDAY_10AM)

    assert [r.status for r in results] == ["created"] * len(items)
    assert stored() == one_at_a_time


CSV = (
    "email,first_name,company,company_size,external_id,received_at,attributes.student,attributes\n"
    'a@example.com,Ann,"Tab\tand ""quotes""",120,c-1,2026-12-07T09:30:00-05:00,,\n'
    "b@example.com,Bob,Small,10,c-2,2026-12-07T09:31:00-05:00,,\n"
    'c@example.com,,"New\nline \\ slash",75,c-3,2026-12-07T14:31:00Z,true,"{""tier"": 2}"\n'
    "d@example.com,Dee,Acme,,c-4,2026-12-05T10:00:00-05:00,false,\n"
)


def test_a_csv_import_stores_what_one_careful_lead_at_a_time_stored(world, monkeypatch):
    from leads.csvfile import parse_leads_csv
    from sla.actions import leads_import

    parsed = parse_leads_csv(CSV.encode())
    assert not parsed.errors
    with monkeypatch.context() as patched:
        patched.setattr(delivery, "_fields", lambda item: None)  # every lead by lead_build
        for row in parsed.rows:
            lead_deliver(by=world.maria, data=row.data, agreement=world.a, now=MONDAY_10AM)
    careful = stored()
    _reset()

    upload = SimpleUploadedFile("leads.csv", CSV.encode())
    result = leads_import(
        by=world.maria, file=upload, agreement=world.a, partial=False, now=MONDAY_10AM
    )

    assert (result["created"], result["errors"]) == (4, [])
    assert stored() == careful


def test_a_bad_field_is_refused_with_full_cleans_message(world):
    [result] = leads_deliver(
        by=world.maria,
        items=[lead_body(first_name="x" * 101, email="not an email")],
        agreement=world.a,
        now=MONDAY_10AM,
    )
    assert result.status == "error"
    assert result.errors["first_name"] == [
        "Ensure this value has at most 100 characters (it has 101)."
    ]
    assert result.errors["email"] == ["Enter a valid email address."]
    assert Lead.objects.count() == 0


def test_one_lead_repeated_is_the_first_lead_even_when_the_repeat_is_refused(world):
    first, _ = lead_deliver(
        by=world.maria, data=lead_body(external_id="crm-1"), agreement=world.a, now=MONDAY_10AM
    )
    later = MONDAY_10AM + timedelta(days=1)
    [again] = leads_deliver(
        by=world.maria,
        items=[lead_body(external_id="crm-1", received_at=later)],  # in the future
        agreement=world.a,
        now=MONDAY_10AM,
    )
    [keyed] = leads_deliver(
        by=world.maria,
        items=[lead_body(email="k@example.com")],
        agreement=world.a,
        keys=["form-1"],
        now=MONDAY_10AM,
    )
    [key_again] = leads_deliver(
        by=world.maria,
        items=[lead_body(email="other@example.com", external_id="new")],
        agreement=world.a,
        keys=["form-1"],
        now=MONDAY_10AM,
    )
    assert (again.status, again.lead.pk) == ("duplicate", first.pk)
    assert (key_again.status, key_again.lead.pk) == ("duplicate", keyed.lead.pk)
    assert Lead.objects.count() == 2


def test_a_repeat_does_not_move_the_round_robin(world):
    lead_deliver(
        by=world.maria, data=lead_body(external_id="r-1"), agreement=world.a, now=MONDAY_10AM
    )
    cursor = AssignmentCursor.objects.get(team=world.a.sales_team).last_user_id
    lead_deliver(
        by=world.maria, data=lead_body(external_id="r-1"), agreement=world.a, now=MONDAY_10AM
    )
    assert AssignmentCursor.objects.get(team=world.a.sales_team).last_user_id == cursor


@pytest.mark.parametrize(
    "data",
    [
        {"company_size": 120},
        {"company_size": "120"},
        {"company_size": True},
        {"company_size": 1},
        {"company_size": 1.0},
        {"company_size": 49, "attributes": {"student": "TRUE"}},
        {"attributes": {"student": True}},
        {"attributes": {"student": 1}},
        {"attributes": {"student": ["true"]}},
        {"attributes": {"industry": float("nan")}},
        {},
    ],
)
def test_the_remembering_scorer_scores_as_score_does(world, data):
    version = world.a.definition.current_version
    rules = {
        "criteria": [
            *version.criteria,
            {"field": "attributes.industry", "op": "exists", "points": 1},
            {"field": "company_size", "op": "eq", "value": 1, "points": 2},
        ],
        "disqualifiers": version.disqualifiers,
        "qualify_at": version.qualify_at,
    }
    remembering = scorer(**rules)
    others = [{"company_size": True}, {"company_size": 1}, {"company_size": "1"}, data]
    for other in others:  # earlier leads of the batch fill the memory first
        remembering(other)
    assert remembering(data) == score(**rules, data=data)


# --- POST /api/leads/ ---------------------------------------------------------------------


@time_machine.travel(MONDAY_10AM, tick=False)
@pytest.mark.parametrize("size", [120, 10], ids=["qualifies", "does-not-qualify"])
def test_the_created_answer_is_the_lead_as_read_back(world, api_client, size):
    api_client.force_authenticate(world.maria)
    body = {**lead_body(company_size=size, external_id="api-1"), "agreement": world.a.pk}
    created = api_client.post("/api/leads/", body, format="json")
    assert created.status_code == 201, created.content
    answer = created.json()
    read_back = api_client.get(f"/api/leads/{answer['id']}/").json()
    assert answer == {name: read_back[name] for name in answer}
    again = api_client.post("/api/leads/", body, format="json")
    assert (again.status_code, again.json()) == (200, answer)


@time_machine.travel(MONDAY_10AM, tick=False)
@pytest.mark.postgres  # the count is PostgreSQL's (COPY, savepoints and sequences differ)
def test_one_api_lead_costs_a_small_fixed_number_of_queries(world, api_client):
    api_client.force_authenticate(world.maria)

    def post(n: int) -> int:
        body = {
            **lead_body(email=f"q{n}@example.com", external_id=f"q-{n}"),
            "agreement": world.a.pk,
        }
        with CaptureQueriesContext(connection) as captured:
            assert api_client.post("/api/leads/", body, format="json").status_code == 201
        return len(captured)

    post(0)  # the team's round-robin cursor is created on the first delivery
    counts = {post(n) for n in range(1, 4)}
    assert len(counts) == 1
    # agreement, may deliver, stage, round robin (4), the four INSERTs together, and the
    # transaction; the test client's forced login reads no token.
    assert counts.pop() <= 11


@time_machine.travel(MONDAY_10AM, tick=False)
def test_a_batch_refuses_each_lead_as_its_own_serializer_would(world, api_client):
    from sla.api.lead_serializers import LeadBatchItemSerializer

    bad = [
        {**lead_body(email="not-an-email"), "agreement": world.a.pk},
        {**lead_body(company_size=-3, first_name="x" * 101)},
        {"first_name": "no email", "received_at": "yesterday"},
        {**lead_body(email="ok@example.com"), "idempotency_key": "k" * 201},
    ]
    api_client.force_authenticate(world.maria)
    response = api_client.post("/api/leads/batch/", {"leads": bad}, format="json")
    assert response.status_code == 200, response.content
    for raw, result in zip(bad, response.json()["results"], strict=True):
        alone = LeadBatchItemSerializer(data=raw)
        assert alone.is_valid() is False
        assert (result["status"], result["errors"]) == ("error", alone.errors)


@pytest.mark.parametrize(
    "raw",
    [
        lead_body(),
        lead_body(first_name="  Ann  ", email=" ann@example.com ", external_id=None),
        lead_body(external_id="", company_size=None, agreement=None),
        {
            **lead_body(),
            "agreement": 3,
            "idempotency_key": " k-1 ",
            "received_at": "2026-12-07T10:00:00Z",
        },
        {**lead_body(), "received_at": "2026-12-07 10:00:00 05:00", "unknown": "ignored"},
        {**lead_body(), "attributes": {"a": [1, {"b": None}], "c": True}, "owner": "sam"},
        lead_body(first_name="Zo\u00eb"),
        lead_body(first_name="a\x00b"),
        lead_body(first_name=12),
        lead_body(company_size=True),
        lead_body(company_size=2_147_483_648),
        lead_body(company_size=-1),
        lead_body(email=""),
        lead_body(title="x" * 201),
        {**lead_body(), "idempotency_key": "   "},
        {**lead_body(), "received_at": "2026-12-07T10:00:00"},
        {**lead_body(), "agreement": "3"},
        {"first_name": "no email"},
    ],
)
def test_the_quick_batch_check_keeps_what_the_serializer_keeps(raw):
    from sla.api.lead_serializers import LeadBatchItemSerializer, batch_item_checked

    quick = batch_item_checked(raw)
    item = LeadBatchItemSerializer(data=raw)
    if quick is not None:  # it vouches only for what the serializer accepts, as it keeps it
        assert item.is_valid(), item.errors
        assert quick == dict(item.validated_data)


def test_the_quick_batch_check_vouches_for_plain_leads():
    from sla.api.lead_serializers import batch_item_checked

    plain = {**lead_body(), "agreement": 3, "received_at": "2026-12-07T10:00:00Z"}
    assert batch_item_checked(plain) is not None
    assert batch_item_checked({**plain, "first_name": "Zo\u00eb"}) is None  # DRF decides
