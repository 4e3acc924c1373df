"""Leads in and out as CSV: import delivers each row like the API; export is safe to open."""

import csv
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.csvfile import csv_safe, parse_leads_csv
from leads.models import Lead
from tests.factories import LeadFactory
from tests.sla.lead_world import build_world, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)
HEADER = "email,first_name,last_name,company,company_size,external_id,received_at"


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def as_user(api_client):
    def login(user):
        api_client.force_authenticate(user=user)
        return api_client

    return login


def upload(text: str, *, bom: bool = False) -> SimpleUploadedFile:
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    return SimpleUploadedFile("leads.csv", data, content_type="text/csv")


def import_csv(client, text, *, agreement=None, query="", bom=False):
    body = {"file": upload(text, bom=bom)}
    if agreement is not None:
        body["agreement"] = agreement.pk
    with time_machine.travel(MONDAY_10AM, tick=False):
        return client.post(f"/api/leads/import/{query}", body, format="multipart")


def rows(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


GOOD = "ann@example.com,Ann,Archer,Acme,120,crm-1,2026-12-04T16:00:00-05:00"
ALSO_GOOD = "bob@example.com,Bob,Baker,Initech,80,crm-2,"
BAD_EMAIL = "not-an-email,Cy,Cole,Hooli,90,crm-3,"


# --- import ------------------------------------------------------------------------------


def test_import_delivers_every_row(world, as_user):
    response = import_csv(as_user(world.maria), rows(GOOD, ALSO_GOOD), agreement=world.a)
    assert response.status_code == 200
    assert response.json() == {"created": 2, "duplicates": 0, "errors": []}
    ann = Lead.objects.get(external_id="crm-1")
    assert (ann.owner.username, ann.company_size, ann.terms.agreement) == ("sam", 120, world.a)
    assert ann.received_at == ny(2026, 12, 4, 16, 0)
    assert Lead.objects.get(external_id="crm-2").received_at == MONDAY_10AM


def test_import_reads_a_file_that_starts_with_a_byte_order_mark(world, as_user):
    response = import_csv(as_user(world.maria), rows(GOOD), agreement=world.a, bom=True)
    assert response.json()["created"] == 1
    assert Lead.objects.get().email == "ann@example.com"


def test_import_names_the_row_and_field_of_each_error(world, as_user):
    bad_size = "dee@example.com,Dee,Dunn,Umbrella,lots,crm-4,"
    text = rows(GOOD, BAD_EMAIL, bad_size)
    response = import_csv(as_user(world.maria), text, agreement=world.a)
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "email"), (4, "company_size")]


def test_import_with_any_error_creates_nothing(world, as_user):
    response = import_csv(as_user(world.maria), rows(GOOD, BAD_EMAIL), agreement=world.a)
    assert response.status_code == 400
    assert response.json()["created"] == 0
    assert not Lead.objects.exists()


def test_a_partial_import_keeps_the_good_rows(world, as_user):
    text = rows(GOOD, BAD_EMAIL, ALSO_GOOD)
    response = import_csv(as_user(world.maria), text, agreement=world.a, query="?partial=1")
    assert response.status_code == 200
    assert response.json()["created"] == 2
    assert [e["row"] for e in response.json()["errors"]] == [3]
    assert set(Lead.objects.values_list("external_id", flat=True)) == {"crm-1", "crm-2"}


def test_a_row_refused_by_the_delivery_rules_is_an_error_of_that_row(world, as_user):
    future = "eve@example.com,Eve,East,Globex,70,crm-5,2026-12-08T09:00:00-05:00"
    response = import_csv(as_user(world.maria), rows(GOOD, future), agreement=world.a)
    assert response.json()["errors"] == [
        {"row": 3, "field": "received_at", "message": "may not be in the future."}
    ]


def test_import_counts_duplicates_without_creating_them(world, as_user):
    LeadFactory(external_id="crm-1", agreement=world.a)
    response = import_csv(as_user(world.maria), rows(GOOD, ALSO_GOOD), agreement=world.a)
    assert response.json() == {"created": 1, "duplicates": 1, "errors": []}


def test_a_row_repeated_in_the_file_is_a_duplicate(world, as_user):
    response = import_csv(as_user(world.maria), rows(GOOD, GOOD), agreement=world.a)
    assert response.json() == {"created": 1, "duplicates": 1, "errors": []}


def test_an_agreement_column_names_each_rows_agreement(world, as_user):
    text = (
        "email,company_size,agreement\n"
        f"ann@example.com,120,{world.a.pk}\n"
        f"bob@example.com,120,{world.b.pk}\n"
    )
    response = import_csv(as_user(world.ada), text)
    assert response.json()["created"] == 2
    assert Lead.objects.get(email="ann@example.com").terms.agreement == world.a
    assert Lead.objects.get(email="bob@example.com").terms.agreement == world.b


def test_an_unknown_agreement_in_a_row_is_an_error_of_that_row(world, as_user):
    text = "email,company_size,agreement\nann@example.com,120,999999\n"
    response = import_csv(as_user(world.ada), text)
    assert response.json()["errors"][0]["row"] == 2
    assert response.json()["errors"][0]["field"] == "agreement"


def test_attribute_columns_are_scored(world, as_user):
    text = "email,company_size,attributes.student,attributes.industry\nann@x.com,120,TRUE,retail\n"
    import_csv(as_user(world.maria), text, agreement=world.a)
    lead = Lead.objects.get()
    assert lead.attributes == {"student": True, "industry": "retail"}
    assert lead.disqualified_by == ["Student"]


def test_an_unknown_column_refuses_the_file_naming_the_column(world, as_user):
    text = "email,favourite_colour\nann@example.com,blue\n"
    response = import_csv(as_user(world.maria), text, agreement=world.a)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "row": 1,
        "field": "favourite_colour",
        "message": response.json()["errors"][0]["message"],
    }
    assert not Lead.objects.exists()


def test_a_file_over_5_mb_is_refused_naming_file(world, as_user):
    text = rows(*[GOOD.replace("Acme", "A" * 190)] * 30_000)
    response = import_csv(as_user(world.maria), text, agreement=world.a)
    assert response.status_code == 400
    assert "5 MB" in response.json()["file"][0]


def test_a_file_over_10000_rows_is_refused_naming_file(world, as_user):
    text = rows(*[ALSO_GOOD] * 10_001)
    response = import_csv(as_user(world.maria), text, agreement=world.a)
    assert response.status_code == 400
    assert "10,000 rows" in response.json()["file"][0]


def test_a_file_that_is_not_utf8_is_refused_naming_file(world, as_user):
    body = {"file": SimpleUploadedFile("x.csv", "email\nzoë@x.com\n".encode("latin-1"))}
    response = as_user(world.maria).post(
        f"/api/leads/import/?agreement={world.a.pk}", body, format="multipart"
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["file"][0]


def test_import_without_a_file_is_400_naming_file(world, as_user):
    response = as_user(world.maria).post("/api/leads/import/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


def test_import_with_an_unknown_agreement_is_400_naming_agreement(world, as_user):
    response = import_csv(as_user(world.maria), rows(GOOD), query="?agreement=999999")
    assert response.status_code == 400
    assert "agreement" in response.json()


def test_spreadsheet_row_numbers_count_the_header_and_blank_lines():
    parsed = parse_leads_csv(b"email\r\nann@example.com\r\n\r\nnot-an-email\r\n")
    assert [error["row"] for error in parsed.errors] == [4]


def test_a_semicolon_separated_file_is_read():
    parsed = parse_leads_csv(b"email;company_size\nann@example.com;120\n")
    assert parsed.rows[0].data["company_size"] == 120


def test_a_time_without_offset_is_an_error_naming_received_at():
    parsed = parse_leads_csv(b"email,received_at\nann@example.com,2026-12-04 16:00\n")
    assert parsed.errors[0]["field"] == "received_at"


# --- export ------------------------------------------------------------------------------


def export(client, **params):
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = client.get("/api/leads/export.csv", params)
    body = b"".join(response.streaming_content).decode("utf-8")
    return response, body


def read_csv(body: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_a_spreadsheet_would_run_is_neutralised(start):
    assert csv_safe(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_export_starts_with_a_byte_order_mark_and_neutralises_formulas(world, as_user):
    LeadFactory(agreement=world.a, owner=world.sam, company='=HYPERLINK("http://x","y")')
    response, body = export(as_user(world.sam))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff")
    assert read_csv(body)[0]["company"] == '\'=HYPERLINK("http://x","y")'


def test_export_shows_the_sla_status_and_due_times(world, as_user):
    from sla.actions import lead_deliver

    lead, _ = lead_deliver(
        by=world.maria,
        data={"email": "ann@example.com", "company_size": 120, "received_at": ny(2026, 12, 4, 16)},
        agreement=world.a,
        now=MONDAY_10AM,
    )
    _, body = export(as_user(world.sam))
    row = read_csv(body)[0]
    assert row["sla_status"] == "pending"
    assert row["first_touch_due_at"] == "2026-12-07T17:00:00+00:00"
    assert row["owner"] == "sam"


def test_export_honours_the_filters(world, as_user):
    LeadFactory(agreement=world.a, owner=world.sam, email="a@example.com")
    LeadFactory(agreement=world.a, owner=world.sam, email="b@example.com", verdict="accepted")
    _, body = export(as_user(world.sam), verdict="accepted")
    assert [row["email"] for row in read_csv(body)] == ["b@example.com"]


def test_export_shows_only_the_leads_the_caller_may_see(world, as_user):
    LeadFactory(agreement=world.a, owner=world.sam, email="mine@example.com")
    LeadFactory(agreement=world.a, owner=world.sofia, email="hers@example.com")
    LeadFactory(agreement=world.b, owner=world.olga, email="theirs@example.com")
    _, body = export(as_user(world.sam))
    assert [row["email"] for row in read_csv(body)] == ["mine@example.com"]


def test_export_with_an_invalid_filter_is_400_naming_it(world, as_user):
    with time_machine.travel(MONDAY_10AM, tick=False):
        response = as_user(world.sam).get("/api/leads/export.csv", {"sla_status": "late"})
    assert response.status_code == 400
    assert "sla_status" in response.json()


def test_import_cost_per_row_stays_flat(world, as_user, django_assert_max_num_queries):
    """Lookups shared by every row (definition version, terms, entry stage) load once:
    40 rows cost at most 15 queries each (it was 20), plus a fixed overhead."""
    many = [f"row{i}@example.com,R,{i},Acme,120,bulk-{i}," for i in range(40)]
    client = as_user(world.maria)
    with django_assert_max_num_queries(40 * 15 + 25):
        response = import_csv(client, rows(*many), agreement=world.a)
    assert response.json()["created"] == 40
