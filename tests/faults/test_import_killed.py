"""A CSV import whose worker is SIGKILLed half way, then resumed by the beat's
`resume_imports`: no partial chunk left behind, no lead delivered twice."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.utils import timezone

from accounts.models import Role, Team
from leads.models import Lead
from sla import imports
from sla.models import ImportJob
from tests.faults.harness import wait_for

# Real PostgreSQL and Redis, the database shared with the processes the test starts.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

ROWS = 8 * imports.IMPORT_CHUNK


def test_an_import_killed_half_way_and_run_again_delivers_every_row_once(
    procs, tasks, sales_world, monkeypatch
):
    from tests.factories import TeamFactory, UserFactory

    # Given an all-or-nothing import of ROWS good rows, sent to a worker as the API does
    marketer = UserFactory(username="maria", role=Role.MARKETING)
    agreement = sales_world["agreement"]
    agreement.marketing_team = TeamFactory(
        name="Demand Gen", kind=Team.Kind.MARKETING, members=[marketer]
    )
    agreement.save(update_fields=["marketing_team"])
    received = (timezone.now() - timedelta(hours=1)).isoformat()
    body = "email,company,company_size,received_at\n" + "".join(
        f"lead{n}@example.com,Acme,120,{received}\n" for n in range(ROWS)
    )
    upload = SimpleUploadedFile("leads.csv", body.encode(), "text/csv")
    monkeypatch.setattr(
        imports, "current_app", SimpleNamespace(send_task=lambda name, args: tasks(name, *args))
    )
    worker = procs.worker()
    job = imports.import_start(
        by=marketer, upload=upload, agreement=agreement, partial=False, now=timezone.now()
    )

    # When the worker is SIGKILLed once some chunks are delivered, not all
    def delivering():
        """the import has delivered a chunk"""
        job.refresh_from_db()
        return job.phase == "delivering" and job.done >= imports.IMPORT_CHUNK

    wait_for(delivering, 120, every=0.05)
    worker.kill()
    job.refresh_from_db()
    assert job.state == ImportJob.State.RUNNING and job.done < ROWS, (job.state, job.done)
    # ... only whole, committed chunks are there, counted by the job
    delivered = Lead.objects.filter(terms__import_job=job).count()
    assert delivered == job.done == job.created
    assert delivered % imports.IMPORT_CHUNK == 0

    # ... and, its lease run out, the beat's resume_imports sends it to a new worker
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - imports.LEASE - timedelta(seconds=1)
    )
    procs.worker()
    tasks("sla.tasks.resume_imports")

    def finished():
        """the import is done"""
        job.refresh_from_db()
        return job.state in ImportJob.FINISHED

    wait_for(finished, 180)

    # Then every row is delivered exactly once, and the job says so
    assert (job.state, job.rows, job.created, job.error_count) == ("done", ROWS, ROWS, 0)
    leads = Lead.objects.filter(terms__import_job=job)
    assert leads.count() == ROWS
    assert not Lead.objects.values("email").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Lead.objects.count() == ROWS
