"""Marketing's pages: the month's commitment, pacing and acceptance on /commitments/,
a lead delivered by form at /leads/new/, and a CSV checked before it is imported."""

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, ReasonCode
from leads.services.definitions import definition_freeze
from sla.imports import import_run
from sla.models import Clock, ImportJob, MonthlyCommitment
from tests.factories import AgreementFactory, CalendarFactory, LeadFactory, UserFactory
from tests.sla.lead_world import build_world

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)  # Thursday 10 Dec, 10:00 in New York


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def agreement():
    agreement = AgreementFactory(
        name="Inbound",
        monthly_quota=200,
        calendar=CalendarFactory(name="NY office", holidays=["2026-12-25"]),
        # The files hold November leads, checked as of today: keep November's books open
        # (tests/sla/test_closed_books.py is where closed months are refused).
        close_grace_business_days=3000,
    )
    agreement.marketing_team.members.add(UserFactory(username="maria", role="marketing"))
    return agreement


@pytest.fixture
def maria(agreement, client):
    user = agreement.marketing_team.members.get(username="maria")
    client.force_login(user)
    return user


# --- logging a commitment -------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_an_empty_quota_is_an_error_beside_the_field_and_changes_nothing(client, maria, agreement):
    client.post(
        f"/commitments/{agreement.pk}/2026-12/",
        {"quota": "220", "note": "Webinar push"},
        follow=True,  # its own "logged" message is read here
    )
    response = client.post(
        f"/commitments/{agreement.pk}/2026-12/", {"quota": "", "note": "Typed, then lost?"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="quota-error"' in html
    assert "Quota: give the number of qualified leads you commit to" in html
    assert "logged for" not in html
    assert 'value="Typed, then lost?"' in html  # what was typed stays in the box
    commitment = MonthlyCommitment.objects.get()
    assert (commitment.quota, commitment.note) == (220, "Webinar push")


@time_machine.travel(NOW, tick=False)
def test_a_quota_that_is_not_a_number_says_so_in_words(client, maria, agreement):
    response = client.post(f"/commitments/{agreement.pk}/2026-12/", {"quota": "lots"})
    assert response.status_code == 400
    assert "&#x27;lots&#x27; is not a whole number." in response.content.decode()
    assert not MonthlyCommitment.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_logged_commitment_moves_the_pacing_line(client, maria, agreement):
    client.post(f"/commitments/{agreement.pk}/2026-12/", {"quota": "44", "note": ""})
    chart = client.get("/commitments/").context["cards"][0]["chart"]
    assert chart["commitment"] == 44
    assert chart["expected"][-1] == 44


# --- pacing -------------------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_pacing_counts_qualified_leads_by_business_day_of_the_calendar(client, maria, agreement):
    LeadFactory.create_batch(2, agreement=agreement, received_at=at(1))  # Tuesday 1
    LeadFactory(agreement=agreement, received_at=at(5))  # Saturday: counts on Monday 7
    LeadFactory(agreement=agreement, received_at=at(2), qualifies=False)  # not qualified
    LeadFactory(agreement=agreement, received_at=datetime(2026, 11, 30, 15, tzinfo=UTC))
    chart = client.get("/commitments/").context["cards"][0]["chart"]
    # December 2026 has 23 weekdays; the calendar's holiday on the 25th leaves 22.
    assert chart["business_days"] == 22
    assert chart["days"][:5] == ["Tue 1", "Wed 2", "Thu 3", "Fri 4", "Mon 7"]
    assert "Fri 25" not in chart["days"]
    assert chart["actual"][:8] == [2, 2, 2, 2, 3, 3, 3, 3]  # through today, Thursday 10
    assert chart["actual"][8:] == [None] * 14
    assert chart["qualified"] == 3


@time_machine.travel(NOW, tick=False)
def test_pacing_expects_the_compliance_pace_and_projects_the_month_end(client, maria, agreement):
    LeadFactory.create_batch(3, agreement=agreement, received_at=at(1))
    chart = client.get("/commitments/").context["cards"][0]["chart"]
    # 10:00 on the 8th business day: 7 days and 1/8 of the day are behind us.
    assert chart["elapsed"] == 7.1
    assert chart["expected_today"] == round(200 * 7.125 / 22, 1)
    assert chart["expected"][0] == round(200 / 22, 1) and chart["expected"][-1] == 200
    assert chart["projected"] == round(3 * 22 / 7.125)
    assert chart["projection"][7] == 3 and chart["projection"][-1] == chart["projected"]
    assert "at this pace the month ends at 9" in chart["description"]


@time_machine.travel(NOW, tick=False)
def test_the_page_loads_the_chart_script_with_its_data(client, maria, agreement):
    html = client.get("/commitments/").content.decode()
    assert "vendor/echarts.min.js" in html and "js/marketing.js" in html
    assert f'id="pacing-{agreement.pk}-data" type="application/json"' in html
    assert "qualified leads after 7.1 of 22 business days" in html


# --- acceptance by source and definition version ------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_acceptance_and_reasons_by_source_and_definition_version(client, maria, agreement):
    definition = agreement.definition
    v1 = definition.current_version
    definition.version = 2
    definition.save()
    v2 = definition_freeze(definition=definition, by=None)
    wrong, junk = ReasonCode.objects.order_by("position")[:2]

    def lead(source, version, verdict="pending", reason=None):
        LeadFactory(
            agreement=agreement,
            received_at=at(2),
            source=source,
            definition_version=version,
            verdict=verdict,
            verdict_reason=reason,
        )

    lead("webinar", v1, "accepted")
    lead("webinar", v1, "accepted")
    lead("webinar", v1, "rejected", wrong)
    lead("webinar", v2, "rejected", junk)
    lead("webinar", v2)
    lead("ads", v2, "rejected", junk)
    rows = client.get("/commitments/").context["cards"][0]["acceptance"]["rows"]
    table = {(r["source"], r["version"]): r for r in rows}
    assert set(table) == {("webinar", 1), ("webinar", 2), ("ads", 2)}
    first = table[("webinar", 1)]
    assert (first["delivered"], first["accepted"], first["rejected"]) == (3, 2, 1)
    assert first["acceptance_percent"] == 66.7
    assert first["reasons"] == [{"label": wrong.label, "count": 1}]
    second = table[("webinar", 2)]
    assert (second["pending"], second["acceptance_percent"]) == (1, 0.0)
    reasons = client.get("/commitments/").context["cards"][0]["acceptance"]["reasons"]
    assert reasons == [{"label": junk.label, "count": 2}, {"label": wrong.label, "count": 1}]


@time_machine.travel(NOW, tick=False)
def test_the_commitments_page_costs_the_same_queries_with_more_leads(client, maria, agreement):
    other = AgreementFactory(name="Partners", marketing_team=agreement.marketing_team)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/commitments/").status_code == 200
        return len(captured)

    LeadFactory(agreement=agreement, received_at=at(1), source="ads", verdict="accepted")
    few = queries()
    reason = ReasonCode.objects.first()
    for day in (1, 2, 3, 7, 8):
        for source in ("ads", "webinar", "events"):
            LeadFactory.create_batch(
                3, agreement=agreement, received_at=at(day), source=source, verdict="accepted"
            )
            LeadFactory(
                agreement=other,
                received_at=at(day),
                source=source,
                verdict="rejected",
                verdict_reason=reason,
            )
    assert queries() == few


# --- delivering a lead by form --------------------------------------------------------------


@pytest.fixture
def world():
    world = build_world()
    # The files hold November leads, checked as of today: keep November's books open
    # (tests/sla/test_closed_books.py is where closed months are refused).
    for agreement in (world.a, world.b):
        agreement.close_grace_business_days = 3000
        agreement.save(update_fields=["close_grace_business_days"])
    return world


def test_marketing_delivers_a_lead_by_form_through_the_delivery_service(client, world):
    client.force_login(world.maria)
    response = client.post(
        "/leads/new/",
        {
            "email": "ann@acme.test",
            "first_name": "Ann",
            "company": "Acme",
            "company_size": "120",
            "source": "webinar",
            "agreement": world.a.pk,
            "attributes": '{"industry": "retail"}',
        },
        follow=True,
    )
    lead = Lead.objects.get()
    assert response.redirect_chain[-1][0] == f"/leads/{lead.pk}/"
    assert "Lead ann@acme.test delivered: score 60, qualifies, assigned to" in (
        response.content.decode()
    )
    assert (lead.source, lead.attributes, lead.terms.agreement_id) == (
        "webinar",
        {"industry": "retail"},
        world.a.pk,
    )
    assert lead.owner is not None  # round robin, as the API assigns
    assert Clock.objects.filter(lead=lead, kind=Clock.Kind.FIRST_TOUCH).exists()


def test_each_bad_field_is_named_beside_it_and_nothing_is_delivered(client, world):
    client.force_login(world.maria)
    response = client.post(
        "/leads/new/",
        {"email": "nope", "company_size": "-3", "attributes": "[1]", "agreement": world.b.pk},
    )
    html = response.content.decode()
    assert response.status_code == 400
    for name in ("email", "company_size", "attributes", "agreement"):
        assert f'id="{name}-error"' in html, name
    assert "Enter a valid email address." in html
    assert "Give a JSON object" in html
    assert "Choose one of your agreements." in html  # agreement B is another team's
    assert not Lead.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_delivery_services_refusal_lands_beside_its_field(client, world):
    client.force_login(world.maria)
    response = client.post(
        "/leads/new/",
        {"email": "ann@acme.test", "received_at": "2026-12-11T09:00", "agreement": world.a.pk},
    )
    assert response.status_code == 400
    assert 'id="received_at-error"' in response.content.decode()
    assert not Lead.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_received_time_is_read_in_the_calendar_zone_the_form_names(client, world):
    client.force_login(world.maria)
    assert "Received at (America/New_York)" in client.get("/leads/new/").content.decode()
    client.post(
        "/leads/new/",
        {"email": "ann@acme.test", "received_at": "2026-12-10T09:30", "agreement": world.a.pk},
    )
    assert Lead.objects.get().received_at == datetime(2026, 12, 10, 14, 30, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_a_person_who_chose_a_zone_types_times_in_it(client, world):
    if "time_zone" not in {f.name for f in type(world.maria)._meta.get_fields()}:
        pytest.skip("people have no time zone of their own in this version")
    world.maria.time_zone = "Europe/Paris"
    world.maria.save()
    client.force_login(world.maria)
    assert "Received at (Europe/Paris)" in client.get("/leads/new/").content.decode()
    client.post(
        "/leads/new/",
        {"email": "ann@acme.test", "received_at": "2026-12-10T09:30", "agreement": world.a.pk},
    )
    assert Lead.objects.get().received_at == datetime(2026, 12, 10, 8, 30, tzinfo=UTC)


def test_sales_may_not_open_the_lead_form(client, world):
    client.force_login(world.sam)
    assert client.get("/leads/new/").status_code == 403


# --- checking a CSV before importing it ----------------------------------------------------


@pytest.fixture
def uploads(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to the test's own folder
    return tmp_path


def csv_upload(*rows: str, name="leads.csv") -> SimpleUploadedFile:
    text = "email,company,company_size,received_at\n" + "\n".join(rows) + "\n"
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


GOOD = "ann@acme.test,Acme,120,2026-11-30T09:00:00-05:00"
BAD = "not-an-email,Acme,lots,2026-11-30T09:00:00-05:00"


def check(client, world, upload):
    response = client.post("/imports/check/", {"file": upload, "agreement": world.a.pk})
    assert response.status_code == 302, response.content.decode()
    return response["Location"]


def test_the_check_shows_the_first_rows_and_each_row_error_and_imports_nothing(
    client, world, uploads
):
    client.force_login(world.maria)
    preview = check(client, world, csv_upload(GOOD, BAD))
    html = client.get(preview).content.decode()
    assert 'data-testid="import-preview"' in html and "ann@acme.test" in html
    errors = client.get(preview).context["check"]["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "email"), (3, "company_size")]
    assert "1 row refused" in html
    assert not ImportJob.objects.exists() and not Lead.objects.exists()


def test_the_check_dry_runs_the_delivery(client, world, uploads):
    client.force_login(world.maria)
    future = "bob@acme.test,Acme,120,2099-01-01T09:00:00-05:00"
    preview = check(client, world, csv_upload(GOOD, future))
    errors = client.get(preview).context["check"]["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "received_at")]
    assert not Lead.objects.exists()


def test_the_refused_rows_download_as_the_file_has_them_with_an_error_column(
    client, world, uploads
):
    client.force_login(world.maria)
    preview = check(client, world, csv_upload(GOOD, BAD, "bad@@acme.test,=HYPERLINK(1),5,"))
    page = client.get(preview)
    link = f"/imports/check/{page.context['token']}/rejected.csv?{page.context['query']}"
    response = client.get(link)
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="leads-rejected.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["email", "company", "company_size", "received_at", "error"]
    assert rows[1][:4] == ["not-an-email", "Acme", "lots", "2026-11-30T09:00:00-05:00"]
    assert rows[1][4].startswith("email: ") and "company_size: " in rows[1][4]
    assert rows[2][:2] == ["bad@@acme.test", "'=HYPERLINK(1)"]  # a spreadsheet won't run it
    assert len(rows) == 3


def test_confirming_imports_the_file_as_a_job(client, world, uploads):
    client.force_login(world.maria)
    preview = check(client, world, csv_upload(GOOD, "bob@acme.test,Acme,80,", name="fixed.csv"))
    response = client.post(preview, {"agreement": world.a.pk, "name": "fixed.csv"})
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.file_name, job.agreement_id, job.partial) == ("fixed.csv", world.a.pk, False)
    assert not list(uploads.glob("imports/preview-*"))  # the checked copy is gone
    import_run(job_id=job.pk, now_fn=lambda: NOW)
    assert set(Lead.objects.values_list("email", flat=True)) == {"ann@acme.test", "bob@acme.test"}


def test_a_file_with_errors_imports_only_its_good_rows_when_asked(client, world, uploads):
    client.force_login(world.maria)
    preview = check(client, world, csv_upload(GOOD, BAD))
    assert "Import only the 1 good row" in client.get(preview).content.decode()
    client.post(preview, {"agreement": world.a.pk, "partial": "1"})
    job = ImportJob.objects.get()
    import_run(job_id=job.pk, now_fn=lambda: NOW)
    assert list(Lead.objects.values_list("email", flat=True)) == ["ann@acme.test"]


def test_a_file_refused_as_a_whole_says_why(client, world, uploads):
    client.force_login(world.maria)
    upload = SimpleUploadedFile("x.csv", b"mail,firm\nann@acme.test,Acme\n")
    preview = check(client, world, upload)
    html = client.get(preview).content.decode()
    assert "The header row is refused" in html
    assert "Unknown column" in html and "The header has no email column." in html
    assert "Import only" not in html and not ImportJob.objects.exists()


def test_no_file_is_an_error_beside_the_field(client, world, uploads):
    client.force_login(world.maria)
    response = client.post("/imports/check/", {"agreement": world.a.pk})
    assert response.status_code == 400
    assert "Choose a CSV file to check." in response.content.decode()


def test_another_persons_checked_file_is_not_found(client, world, uploads):
    client.force_login(world.maria)
    preview = check(client, world, csv_upload(GOOD))
    client.force_login(world.ada)
    assert client.get(preview).status_code == 302  # "no longer kept": it is not theirs
    assert client.post(preview, {}).status_code == 302
    assert not ImportJob.objects.exists()
    assert client.get("/imports/check/not-a-token/").status_code == 404
