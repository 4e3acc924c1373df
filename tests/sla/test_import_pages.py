"""The import pages: upload a CSV, see the job's progress and its row errors, cancel it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sla.imports import import_run
from sla.models import ImportJob
from tests.sla.lead_world import build_world, ny

pytestmark = pytest.mark.django_db

NOW = ny(2026, 12, 7, 10, 0)


@pytest.fixture(autouse=True)
def _uploads_kept_apart(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to the test's own folder


@pytest.fixture
def world():
    return build_world()


def csv_file(*emails) -> SimpleUploadedFile:
    rows = "\n".join(f"{email},Acme,120,2026-12-07T09:00:00-05:00" for email in emails)
    text = f"email,company,company_size,received_at\n{rows}"
    return SimpleUploadedFile("leads.csv", text.encode(), content_type="text/csv")


def test_marketing_uploads_a_csv_and_sees_the_job_progress(world, client):
    client.force_login(world.maria)
    response = client.post(
        "/imports/", {"file": csv_file("a@example.com", "b@example.com"), "agreement": world.a.pk}
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert "Waiting for a worker" in client.get(response["Location"]).content.decode()

    import_run(job_id=job.pk, now_fn=lambda: NOW)

    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "2 leads created, 0 duplicates" in page


def test_the_row_errors_show_with_their_row_and_field(world, client):
    client.force_login(world.maria)
    client.post("/imports/", {"file": csv_file("a@example.com", "nope"), "agreement": world.a.pk})
    job = ImportJob.objects.get()
    import_run(job_id=job.pk, now_fn=lambda: NOW)

    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "Nothing was imported: 1 error" in page
    assert "<td>3</td><td><code>email</code></td>" in page


def test_the_progress_fragment_answers_htmx_and_stops_polling_once_done(world, client):
    client.force_login(world.maria)
    client.post("/imports/", {"file": csv_file("a@example.com"), "agreement": world.a.pk})
    job = ImportJob.objects.get()
    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert fragment.startswith('<div id="import-progress"') and "hx-trigger" in fragment
    import_run(job_id=job.pk, now_fn=lambda: NOW)
    fragment = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment


def test_an_upload_without_a_file_says_so_beside_the_field(world, client):
    client.force_login(world.maria)
    response = client.post("/imports/", {"agreement": world.a.pk})
    assert response.status_code == 400
    assert "Choose a CSV file to import." in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_a_queued_import_is_cancelled_from_its_page(world, client):
    client.force_login(world.maria)
    client.post("/imports/", {"file": csv_file("a@example.com"), "agreement": world.a.pk})
    job = ImportJob.objects.get()
    client.post(f"/imports/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.state == "cancelled"


def test_sales_may_not_import_and_others_imports_are_not_found(world, client):
    client.force_login(world.maria)
    client.post("/imports/", {"file": csv_file("a@example.com"), "agreement": world.a.pk})
    job = ImportJob.objects.get()
    client.force_login(world.sam)
    assert client.get("/imports/").status_code == 403
    client.force_login(world.petra)
    assert client.get(f"/imports/{job.pk}/").status_code == 404
    assert (
        "/imports/" in client.get("/", follow=True).content.decode()
    )  # marketing is shown the page
