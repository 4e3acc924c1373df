"""Marketing's month in a real browser: log the commitment (an empty quota is refused
beside the box), read the pacing chart, check a CSV whose bad row is named with its row
and field, download the refused rows, fix the file, import it and watch it finish."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, ReasonCode
from sla.imports import import_run
from sla.models import ImportJob, MonthlyCommitment
from tests.factories import AgreementFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = "docs/screenshots"


def write_csv(path, rows):
    received = (timezone.now() - timedelta(hours=1)).isoformat()
    lines = [f"{email},Acme,{size},webinar,{received}" for email, size in rows]
    path.write_text("email,company,company_size,source,received_at\n" + "\n".join(lines) + "\n")
    return str(path)


def test_marketing_logs_the_month_and_imports_a_fixed_file(page, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    marketer = UserFactory(username="maria", role="marketing", first_name="Maria")
    agreement = AgreementFactory(
        name="Inbound",
        monthly_quota=60,
        marketing_team=TeamFactory(name="Demand", kind="marketing", members=[marketer]),
        effective_from=timezone.now().date() - timedelta(days=40),
    )
    agreement.sales_team.members.add(UserFactory(username="sam", role="sales"))
    start = timezone.now().replace(day=1, hour=15, minute=0, second=0, microsecond=0)
    not_a_fit = ReasonCode.objects.order_by("position").first()
    for hours, source, verdict in [
        (0, "webinar", "accepted"),
        (2, "webinar", "pending"),
        (26, "ads", "rejected"),
        (28, "events", "accepted"),
    ]:
        received = min(start + timedelta(hours=hours), timezone.now() - timedelta(minutes=5))
        LeadFactory(
            agreement=agreement,
            received_at=received,
            source=source,
            verdict=verdict,
            verdict_reason=not_a_fit if verdict == "rejected" else None,
        )
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()

    # The month's commitment: an empty box is refused beside it, then 80 is logged.
    page.goto("/commitments/")
    month = timezone.now().strftime("%Y-%m")
    quota = page.get_by_label(f"Quota for {month}")
    quota.fill("")
    page.get_by_label(f"Note for {month}").fill("Webinar push")
    quota.locator("xpath=ancestor::form").get_by_role("button", name="Log").click()
    error = page.get_by_test_id("quota-error")
    assert "Quota: give the number of qualified leads" in error.inner_text()
    assert page.get_by_label(f"Note for {month}").input_value() == "Webinar push"
    assert not MonthlyCommitment.objects.exists()
    page.get_by_label(f"Quota for {month}").fill("80")
    page.get_by_role("button", name="Log").nth(1).click()
    page.get_by_text(f"Commitment for {month} logged for Inbound.").wait_for()
    assert MonthlyCommitment.objects.get().quota == 80

    # The pacing chart draws itself, and says in words what it shows.
    chart = page.locator(f"#pacing-{agreement.pk}")
    chart.locator("svg").wait_for()
    assert "against a commitment of 80" in (chart.get_attribute("aria-label") or "")
    acceptance = page.get_by_test_id("acceptance-table")
    assert (
        acceptance.get_by_role("row")
        .filter(has_text="ads")
        .get_by_text(not_a_fit.label)
        .is_visible()
    )
    page.screenshot(path=f"{SCREENSHOTS}/commitments.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    chart.locator("svg").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=f"{SCREENSHOTS}/commitments-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # A file with one bad row: checked, the row and field named, nothing imported.
    page.goto("/imports/")
    bad_file = write_csv(tmp_path / "leads.csv", [("ann@acme.test", 120), ("bob@acme", 90)])
    page.get_by_label("CSV file").set_input_files(bad_file)
    page.get_by_label("Agreement").select_option(label="Inbound")
    page.get_by_role("button", name="Check the file").click()
    errors = page.get_by_test_id("check-errors")
    row = errors.locator("tbody tr").first
    assert row.locator("td").nth(0).inner_text() == "3"
    assert row.locator("td").nth(1).inner_text() == "email"
    assert "ann@acme.test" in page.get_by_test_id("import-preview").inner_text()
    assert not ImportJob.objects.exists()
    page.screenshot(path=f"{SCREENSHOTS}/import.png", full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the refused rows (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "leads-rejected.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["email", "company", "company_size", "source", "received_at", "error"]
    assert [r[0] for r in rows[1:]] == ["bob@acme"]
    assert rows[1][-1].startswith("email: ")

    # Fixed, checked again, confirmed: the worker's progress shows until it is done.
    page.get_by_role("link", name="Upload another file").click()
    fixed = write_csv(tmp_path / "leads.csv", [("ann@acme.test", 120), ("bob@acme.test", 90)])
    page.get_by_label("CSV file").set_input_files(fixed)
    page.get_by_label("Agreement").select_option(label="Inbound")
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("Every row can be imported").wait_for()
    page.get_by_role("button", name="Import 2 rows").click()
    page.get_by_text("Waiting for a worker.").wait_for()
    job = ImportJob.objects.get()
    assert job.file_name == "leads.csv"
    finished = import_run(job_id=job.pk, now_fn=timezone.now)  # the worker's part, run here
    assert (finished.state, finished.created, finished.errors) == ("done", 2, [])
    page.get_by_text("2 leads created").wait_for(timeout=10_000)  # the page polls
    assert set(Lead.objects.filter(terms__import_job=job).values_list("email", flat=True)) == {
        "ann@acme.test",
        "bob@acme.test",
    }

    # One more lead by hand: the bad email is named beside its box, then it is delivered.
    page.goto("/leads/new/")
    page.get_by_label("Email").fill("carol@")
    page.get_by_label("Company size").fill("250")
    page.get_by_label("Source").fill("event")
    page.get_by_label("Agreement").select_option(label="Inbound")
    page.get_by_role("button", name="Deliver the lead").click()
    assert "valid email" in page.locator("#email-error").inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/lead-form.png", full_page=True)
    page.get_by_label("Email").fill("carol@acme.test")
    page.get_by_role("button", name="Deliver the lead").click()
    page.get_by_text("Lead carol@acme.test delivered: score 60, qualifies").wait_for()
    lead = Lead.objects.get(email="carol@acme.test")
    assert page.url.endswith(f"/leads/{lead.pk}/")
    assert (lead.source, lead.company_size, lead.owner.username) == ("event", 250, "sam")
