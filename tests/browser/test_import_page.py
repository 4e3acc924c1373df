"""Marketing imports a CSV in a real browser: a bad row is refused with its row and field,
the fixed file is imported, and the page follows the job without a reload."""

import pytest
from django.utils import timezone

from sla.imports import import_run
from sla.models import ImportJob
from tests.factories import AgreementFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = "docs/screenshots"


def write_csv(path, *emails):
    received = (timezone.now() - timezone.timedelta(hours=1)).isoformat()
    rows = "\n".join(f"{email},Acme,120,{received}" for email in emails)
    path.write_text(f"email,company,company_size,received_at\n{rows}\n")
    return str(path)


def test_marketing_fixes_a_bad_row_and_imports_the_file(page, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    marketer = UserFactory(username="maria", role="marketing", first_name="Maria")
    agreement = AgreementFactory(
        name="Inbound",
        marketing_team=TeamFactory(name="Demand", kind="marketing", members=[marketer]),
        effective_from=timezone.now().date() - timezone.timedelta(days=3),
    )
    agreement.sales_team.members.add(UserFactory(username="sam", role="sales"))
    page.goto("/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()

    page.get_by_label("CSV file").set_input_files(
        write_csv(tmp_path / "bad.csv", "ann@acme.test", "not-an-email")
    )
    page.get_by_label("Agreement").select_option(label="Inbound")
    page.get_by_role("button", name="Import").click()
    bad = ImportJob.objects.get()
    import_run(job_id=bad.pk, now_fn=timezone.now)  # the worker's part
    errors = page.get_by_test_id("import-errors")
    errors.wait_for(timeout=10_000)  # the progress refreshes itself
    assert "email" in errors.inner_text() and "3" in errors.inner_text()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=f"{SCREENSHOTS}/import-errors-desktop.png", full_page=True)

    page.get_by_role("link", name="Imports").click()
    page.get_by_label("CSV file").set_input_files(
        write_csv(tmp_path / "good.csv", "ann@acme.test", "bob@acme.test")
    )
    page.get_by_label("Agreement").select_option(label="Inbound")
    page.get_by_role("button", name="Import").click()
    good = ImportJob.objects.exclude(pk=bad.pk).get()
    import_run(job_id=good.pk, now_fn=timezone.now)
    page.get_by_text("2 leads created").wait_for(timeout=10_000)
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Imports").click()
    page.screenshot(path=f"{SCREENSHOTS}/import-list-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
