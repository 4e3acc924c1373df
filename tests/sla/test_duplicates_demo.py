"""The demo data holds one duplicate lead, recorded once however often it is loaded, and
both leads' pages say so."""

import pytest
from django.core.management import call_command

from accounts.models import Role
from leads.models import Lead
from sla.models import Clock

pytestmark = pytest.mark.django_db


def test_the_demo_has_one_duplicate_linked_to_its_open_first_lead(client):
    call_command("seed_demo")
    call_command("seed_demo")

    [duplicate] = Lead.objects.filter(duplicate_of__isnull=False).select_related("duplicate_of")
    first = duplicate.duplicate_of
    assert duplicate.email.lower() == first.email.lower()
    assert first.closed_at is None and first.qualifies
    assert not duplicate.qualifies and duplicate.owner_id is None
    assert not Clock.objects.filter(lead=duplicate).exists()
    # The owner is told of it, not given it; a manager of the team opens it.
    client.force_login(first.owner)
    page = client.get(f"/leads/{first.pk}/").content.decode()
    assert f"lead #{duplicate.pk}" in page and "recorded as duplicate" in page
    assert f'href="/leads/{duplicate.pk}/"' not in page
    manager = first.team.members.filter(role=Role.SALES_MANAGER).first()
    client.force_login(manager)
    page = client.get(f"/leads/{first.pk}/").content.decode()
    assert f'href="/leads/{duplicate.pk}/"' in page
    page = client.get(f"/leads/{duplicate.pk}/").content.decode()
    assert f"Duplicate of lead #{first.pk}" in page
