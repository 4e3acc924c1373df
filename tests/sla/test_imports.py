"""CSV imports as jobs: progress, all or nothing, partial, cancel, and a crash resumed."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import Lead
from sla import imports
from sla.imports import import_run
from sla.models import ImportJob
from tests.sla.lead_world import build_world, ny

pytestmark = pytest.mark.django_db

MONDAY_10AM = ny(2026, 12, 7, 10, 0)
HEADER = "email,company,company_size,external_id,received_at"


@pytest.fixture(autouse=True)
def _uploads_kept_apart(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # uploaded files go to the test's own folder


@pytest.fixture
def world():
    return build_world()


def csv_of(count: int, *, bad_rows=()) -> SimpleUploadedFile:
    lines = [HEADER]
    for i in range(count):
        email = "not-an-email" if i in bad_rows else f"lead{i}@example.com"
        lines.append(f"{email},Acme,120,imp-{i},2026-12-07T09:00:00-05:00")
    return SimpleUploadedFile("leads.csv", "\n".join(lines).encode(), content_type="text/csv")


def start(client, world, upload, **query):
    client.force_authenticate(world.maria)
    params = "&".join(f"{k}={v}" for k, v in {"agreement": world.a.pk, **query}.items())
    return client.post(f"/api/imports/?{params}", {"file": upload}, format="multipart")


def clock(start_at=MONDAY_10AM):
    """A present that moves a second per call, as chunks take time."""
    state = {"now": start_at}

    def now():
        state["now"] += timedelta(seconds=1)
        return state["now"]

    return now


def test_an_import_is_a_job_whose_progress_the_api_reports(world, api_client):
    response = start(api_client, world, csv_of(5))
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["state"], job["done"], job["created"]) == ("queued", 0, 0)

    import_run(job_id=job["id"], now_fn=clock())

    done = api_client.get(f"/api/imports/{job['id']}/").json()
    assert (done["state"], done["rows"], done["done"], done["created"]) == ("done", 5, 5, 5)
    assert Lead.objects.filter(terms__import_job_id=job["id"]).count() == 5


def test_one_bad_row_imports_nothing_and_names_the_row_and_field(world, api_client):
    job = start(api_client, world, csv_of(4, bad_rows={2})).json()

    import_run(job_id=job["id"], now_fn=clock())

    done = api_client.get(f"/api/imports/{job['id']}/").json()
    assert (done["state"], done["created"], done["error_count"]) == ("done", 0, 1)
    assert done["errors"][0]["row"] == 4 and done["errors"][0]["field"] == "email"
    assert Lead.objects.count() == 0


def test_partial_keeps_the_good_rows(world, api_client):
    job = start(api_client, world, csv_of(4, bad_rows={2}), partial=1).json()

    import_run(job_id=job["id"], now_fn=clock())

    assert Lead.objects.count() == 3
    assert ImportJob.objects.get(pk=job["id"]).created == 3


def test_an_import_run_twice_creates_each_lead_once(world, api_client):
    first = start(api_client, world, csv_of(3)).json()
    import_run(job_id=first["id"], now_fn=clock())
    second = start(api_client, world, csv_of(3)).json()
    import_run(job_id=second["id"], now_fn=clock())

    job = ImportJob.objects.get(pk=second["id"])
    assert (job.created, job.duplicates, Lead.objects.count()) == (0, 3, 3)


def test_a_queued_import_cancels_at_once(world, api_client):
    job = start(api_client, world, csv_of(3)).json()
    cancelled = api_client.post(f"/api/imports/{job['id']}/cancel/").json()
    assert cancelled["state"] == "cancelled"
    assert import_run(job_id=job["id"], now_fn=clock()) is None
    assert Lead.objects.count() == 0


def test_a_running_import_cancelled_half_way_leaves_no_lead(world, api_client, monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 2)
    real = imports._deliver_chunk

    def then_cancel(job, chunk, **kwargs):
        real(job, chunk, **kwargs)
        if not kwargs["dry_run"]:
            ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    monkeypatch.setattr(imports, "_deliver_chunk", then_cancel)
    job = start(api_client, world, csv_of(6)).json()

    import_run(job_id=job["id"], now_fn=clock())

    assert ImportJob.objects.get(pk=job["id"]).state == "cancelled"
    assert Lead.objects.count() == 0


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing in the job catches it."""


def test_a_killed_worker_is_resumed_where_it_stopped_without_duplicates(
    world, api_client, monkeypatch
):
    monkeypatch.setattr(imports, "IMPORT_CHUNK", 2)
    real = imports._deliver_chunk
    calls = {"delivered": 0}

    def die_after_one(job, chunk, **kwargs):
        if not kwargs["dry_run"]:
            calls["delivered"] += 1
            if calls["delivered"] == 2:
                raise WorkerKilled
        real(job, chunk, **kwargs)

    monkeypatch.setattr(imports, "_deliver_chunk", die_after_one)
    job = start(api_client, world, csv_of(6)).json()
    now = clock()
    with pytest.raises(WorkerKilled):
        import_run(job_id=job["id"], now_fn=now)
    assert Lead.objects.count() == 2  # the first chunk was committed

    # Another worker takes the job only once the dead one's lease has run out.
    assert import_run(job_id=job["id"], now_fn=now) is None
    later = clock(MONDAY_10AM + imports.LEASE + timedelta(minutes=1))
    assert job["id"] in imports.imports_stalled(now=later())
    import_run(job_id=job["id"], now_fn=later)

    finished = ImportJob.objects.get(pk=job["id"])
    assert (finished.state, finished.created, finished.done) == ("done", 6, 6)
    assert Lead.objects.count() == 6


def test_a_file_over_the_limit_is_refused_and_nothing_queued(world, api_client, settings):
    settings.IMPORT_MAX_BYTES = 100
    response = start(api_client, world, csv_of(20))
    assert response.status_code == 400 and "file" in response.json()
    assert ImportJob.objects.count() == 0


def test_an_import_is_seen_by_the_one_who_started_it_and_admins(world, api_client):
    job = start(api_client, world, csv_of(1)).json()
    api_client.force_authenticate(world.petra)
    assert api_client.get(f"/api/imports/{job['id']}/").status_code == 404
    api_client.force_authenticate(world.ada)
    assert api_client.get(f"/api/imports/{job['id']}/").status_code == 200
    api_client.force_authenticate(world.sam)
    assert api_client.post(f"/api/imports/{job['id']}/cancel/").status_code == 403
