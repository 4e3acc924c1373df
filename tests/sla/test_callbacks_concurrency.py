"""Callbacks set at the same moment on PostgreSQL: the lead row's lock keeps the count
within `max_callbacks` (select_for_update does nothing on SQLite)."""

import threading

import pytest
from django.db import connection

from sla.actions import lead_deliver, lead_touch
from sla.callbacks import CallbackRefused, lead_callback
from sla.models import Callback
from tests.sla.lead_world import build_world, lead_body, ny

FRIDAY_4PM = ny(2026, 12, 4, 16, 0)
MONDAY_10AM = ny(2026, 12, 7, 10, 0)
WORKERS = 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_callbacks_set_at_once_cannot_pass_max_callbacks():
    # Given a lead whose agreement allows one callback
    world = build_world()
    data = {**lead_body(), "received_at": FRIDAY_4PM}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=FRIDAY_4PM)
    lead_touch(lead=lead, by=world.sam, kind="call", outcome="no_answer", now=MONDAY_10AM)
    version = lead.terms.agreement_version
    version.terms["max_callbacks"] = 1
    version.save()

    # When four requests of the rep set a callback at the same moment
    barrier = threading.Barrier(WORKERS)
    outcomes, errors = [], []

    def work(n: int):
        try:
            barrier.wait(timeout=30)
            lead_callback(
                lead=lead, by=world.sam, at=ny(2026, 12, 8, 10, n), now=ny(2026, 12, 7, 11, 0)
            )
            outcomes.append("set")
        except CallbackRefused as refused:
            outcomes.append(refused.rule)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then exactly one is set, and the others are refused by the rule
    assert not errors, errors
    assert sorted(outcomes) == ["max_callbacks"] * (WORKERS - 1) + ["set"]
    assert Callback.objects.filter(lead=lead).count() == 1
