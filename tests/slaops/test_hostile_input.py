"""Hostile input, on the pages and the API: never a 500, and nothing written when refused.

NUL bytes (which PostgreSQL text refuses outright), deep nesting, out-of-range times and
numbers, each where a user or a script can send them. Run on PostgreSQL as well as the
SQLite default: the NUL cases are the database's own refusal.
"""

import io
import json

import pytest

from leads.models import Lead, Touch
from sla.actions import lead_deliver
from sla.models import MonthlyCommitment
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

NOW = ny(2026, 12, 4, 10, 0)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def lead(world):
    data = {**lead_body(), "received_at": NOW}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=NOW)
    return lead


def api_as(api_client, world, name):
    api_client.force_authenticate(world.users[name])
    return api_client


class Raw(str):
    """A JSON text written out by hand (too deep for json.dumps to encode)."""


def nested(depth: int) -> Raw:
    return Raw('{"a": ' * depth + "{}" + "}" * depth)


# (who, method, path, body, content type): every one must answer below 500.
API_CASES = {
    "nul in a lead field": ("maria", "post", "/api/leads/", {**lead_body(), "company": "A\x00B"}),
    "nul in an attributes key": (
        "maria",
        "post",
        "/api/leads/",
        {**lead_body(), "attributes": {"in\x00dustry": "x"}},
    ),
    "nul in an attributes value": (
        "maria",
        "post",
        "/api/leads/",
        {**lead_body(), "attributes": {"industry": ["x\x00"]}},
    ),
    "deeply nested attributes": (
        "maria",
        "post",
        "/api/leads/",
        Raw(
            '{"email": "a@example.com", "agreement": AGREEMENT, "attributes": ' + nested(5000) + "}"
        ),
    ),
    "nul in the batch": (
        "maria",
        "post",
        "/api/leads/batch/",
        {"leads": [{"email": "\x00"}, lead_body(email="b\x00@example.com")]},
    ),
    "month 13 received_at": (
        "maria",
        "post",
        "/api/leads/",
        {**lead_body(), "received_at": "2026-13-01T10:00:00Z"},
    ),
    "year 0 received_at": (
        "maria",
        "post",
        "/api/leads/",
        {**lead_body(), "received_at": "0000-01-01T10:00:00Z"},
    ),
    "huge company size": ("maria", "post", "/api/leads/", {**lead_body(), "company_size": 10**30}),
    "nul in a definition rule": (
        "maria",
        "post",
        "/api/definitions/",
        {"name": "N\x00", "criteria": [{"field": "company\x00", "op": "eq", "value": "\x00"}]},
    ),
    "huge quota": ("maria", "put", "/api/agreements/{a}/commitments/2026-12/", {"quota": 10**30}),
    "nul in a commitment note": (
        "maria",
        "put",
        "/api/agreements/{a}/commitments/2026-12/",
        {"quota": 5, "note": "\x00"},
    ),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_the_api_never_answers_500(api_client, world, case):
    who, method, path, body = API_CASES[case]
    client = api_as(api_client, world, who)
    leads = Lead.objects.count()
    if isinstance(body, Raw):
        text = body.replace("AGREEMENT", str(world.a.pk))
    else:
        text = json.dumps({**body, "agreement": world.a.pk} if "email" in body else body)
    response = getattr(client, method)(
        path.format(a=world.a.pk), text, content_type="application/json"
    )
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert Lead.objects.count() == leads


@pytest.mark.parametrize(
    "query",
    ["search=%00", "search=a%00b", "stage=%00", "owner=%00", "received_after=2026-13-01"],
)
def test_lead_lists_refuse_nul_and_bad_dates_cleanly(api_client, client, world, query):
    assert api_as(api_client, world, "morgan").get(f"/api/leads/?{query}").status_code < 500
    client.force_login(world.users["morgan"])
    assert client.get(f"/leads/?{query}").status_code < 500
    assert client.get(f"/inbox/?{query}").status_code < 500


def test_a_touch_at_month_13_on_the_lead_page_is_a_form_error(client, world, lead):
    client.force_login(world.users["sam"])
    for at in ("2026-13-01T10:00", "2026-12-01T25:00", "\x00", "99999-01-01T10:00"):
        response = client.post(
            f"/leads/{lead.pk}/touch/",
            {"kind": "call", "outcome": "no_answer", "at": at},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code < 500
    assert not Touch.objects.filter(lead=lead).exists()


def test_a_nul_in_a_touch_note_is_refused_on_the_page_and_the_api(api_client, client, world, lead):
    client.force_login(world.users["sam"])
    page = client.post(
        f"/leads/{lead.pk}/touch/",
        {"kind": "call", "outcome": "no_answer", "note": "a\x00b"},
        HTTP_HX_REQUEST="true",
    )
    assert page.status_code < 500
    api = api_as(api_client, world, "sam").post(
        f"/api/leads/{lead.pk}/touches/",
        {"kind": "call", "outcome": "no_answer", "note": "a\x00b"},
        format="json",
    )
    assert api.status_code == 400
    assert not Touch.objects.filter(lead=lead).exists()


def test_a_huge_quota_on_the_commitments_page_is_a_form_error(client, world):
    client.force_login(world.users["maria"])
    for quota in (str(10**30), "-1", "1e9", "\x00"):
        response = client.post(
            f"/commitments/{world.a.pk}/2026-12/",
            {"quota": quota, "note": ""},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code < 500
    assert not MonthlyCommitment.objects.exists()


def test_a_csv_with_nul_bytes_is_refused_naming_the_file(api_client, world):
    client = api_as(api_client, world, "maria")
    body = b"email,company_size\nann@example.com,80\nb\x00b@example.com,90\n"
    upload = io.BytesIO(body)
    upload.name = "leads.csv"
    response = client.post(
        f"/api/leads/import/?agreement={world.a.pk}", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400, response.content[:300]
    assert not Lead.objects.exists()
