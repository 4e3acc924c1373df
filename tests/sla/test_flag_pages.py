"""The flags page: who sees which flags, and resolving one with a note."""

from datetime import UTC, datetime

import pytest

from sla.models import Flag
from tests.factories import AgreementFactory, FlagFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flags():
    agreement = AgreementFactory(name="Inbound")
    rep = UserFactory(username="sam", role="sales")
    other = UserFactory(username="sofia", role="sales")
    manager = UserFactory(username="morgan", role="sales_manager")
    agreement.sales_team.members.add(rep, other, manager)
    lead = LeadFactory(agreement=agreement, owner=rep, first_name="Ann", last_name="Lee")
    breach = FlagFactory(
        kind=Flag.Kind.FIRST_TOUCH_BREACHED,
        lead=lead,
        agreement=agreement,
        owner=rep,
        team=agreement.sales_team,
        detail="first touch due Mon passed untouched",
        raised_at=datetime(2026, 12, 7, 17, 0, tzinfo=UTC),
    )
    return {"rep": rep, "other": other, "manager": manager, "breach": breach}


def test_rep_sees_own_flags_and_cannot_resolve(client, flags):
    client.force_login(flags["rep"])
    html = client.get("/flags/").content.decode()
    assert "first touch due Mon passed untouched" in html
    assert "Resolution note" not in html
    response = client.post(f"/flags/{flags['breach'].pk}/resolve/", {"note": "x"})
    assert response.status_code == 403


def test_other_rep_does_not_see_the_flag(client, flags):
    client.force_login(flags["other"])
    assert "passed untouched" not in client.get("/flags/").content.decode()
    assert client.post(f"/flags/{flags['breach'].pk}/resolve/", {"note": "x"}).status_code == 404


def test_manager_resolves_with_a_note(client, flags):
    client.force_login(flags["manager"])
    response = client.post(
        f"/flags/{flags['breach'].pk}/resolve/", {"note": "Customer asked to wait"}, follow=True
    )
    assert "Resolved: First touch breached." in response.content.decode()
    flag = Flag.objects.get(pk=flags["breach"].pk)
    assert flag.state == "resolved" and flag.resolution_note == "Customer asked to wait"


def test_resolving_without_a_note_is_refused_and_changes_nothing(client, flags):
    client.force_login(flags["manager"])
    response = client.post(f"/flags/{flags['breach'].pk}/resolve/", {"note": " "}, follow=True)
    assert "Say how the flag was resolved." in response.content.decode()
    assert Flag.objects.get(pk=flags["breach"].pk).state == "open"


def test_resolved_flags_are_kept_and_listed_under_resolved(client, flags):
    client.force_login(flags["manager"])
    client.post(f"/flags/{flags['breach'].pk}/resolve/", {"note": "done"})
    assert "passed untouched" not in client.get("/flags/").content.decode()
    assert "passed untouched" in client.get("/flags/?state=resolved").content.decode()
