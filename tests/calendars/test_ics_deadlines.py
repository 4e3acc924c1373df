"""An import of holidays moves no running deadline: a clock keeps the due time it stored
when it started, while a deadline computed after the import counts the new holiday."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from sla.actions import lead_deliver
from sla.models import Agreement, Clock
from tests.calendars.test_ics import ics
from tests.sla.lead_world import build_world, iso, lead_body, ny

pytestmark = pytest.mark.django_db

# Wednesday 9 December 2026, 15:00 in New York: 240 business minutes run out on
# Thursday at 11:00, or, with Thursday a holiday, on Friday at 11:00.
RECEIVED = ny(2026, 12, 9, 15, 0)
THURSDAY_11 = ny(2026, 12, 10, 11, 0)
FRIDAY_11 = ny(2026, 12, 11, 11, 0)
THURSDAY_OFF = ics("SUMMARY:Founders' day\nDTSTART;VALUE=DATE:20261210")


@time_machine.travel(RECEIVED + timedelta(minutes=30), tick=False)
def test_an_import_moves_no_running_clock_but_new_deadlines_count_the_holiday(api_client):
    world = build_world()  # a New York 09:00-17:00 weekday calendar, 240-minute first touch
    before, _ = lead_deliver(
        by=world.maria, data=lead_body(received_at=RECEIVED), agreement=world.a, now=RECEIVED
    )
    running = Clock.objects.get(lead=before, kind=Clock.Kind.FIRST_TOUCH)
    assert running.due_at == THURSDAY_11
    api_client.force_authenticate(world.ada)

    response = api_client.post(
        f"/api/calendars/{world.calendar.pk}/holidays/import/",
        {"file": SimpleUploadedFile("founders.ics", THURSDAY_OFF)},
    )

    assert response.status_code == 200
    assert response.json()["added"] == [{"date": "2026-12-10", "name": "Founders' day"}]
    running.refresh_from_db()
    assert running.due_at == THURSDAY_11  # stored when it started: unchanged
    deadline = api_client.get(
        f"/api/calendars/{world.calendar.pk}/deadline/",
        {"start": RECEIVED.isoformat(), "minutes": 240},
    )
    assert deadline.json()["due_at"] == iso(FRIDAY_11)
    after, _ = lead_deliver(
        by=world.maria,
        data=lead_body(email="bob@example.com", received_at=RECEIVED),
        agreement=Agreement.objects.get(pk=world.a.pk),  # read afresh, as a request would
        now=RECEIVED + timedelta(minutes=30),
    )
    new_clock = Clock.objects.get(lead=after, kind=Clock.Kind.FIRST_TOUCH)
    assert new_clock.due_at == FRIDAY_11
