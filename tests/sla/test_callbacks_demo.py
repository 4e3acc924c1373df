"""The demo data holds one callback a rep's prospect asked for, set once however often
it is loaded, and shown in that rep's inbox."""

import pytest
from django.core.management import call_command

from accounts.models import Role
from sla.models import Callback

pytestmark = pytest.mark.django_db


def test_the_demo_has_one_pending_callback_on_a_reps_lead_shown_in_their_inbox(client):
    call_command("seed_demo")
    call_command("seed_demo")

    [callback] = Callback.objects.select_related("lead__owner")
    lead = callback.lead
    assert lead.owner.role == Role.SALES
    assert callback.set_by == lead.owner and callback.approved_by is None
    assert lead.sla_callback_at == callback.at > callback.set_at
    assert callback.note
    client.force_login(lead.owner)
    # Searched for, so on the first page however many leads the rep has; the only lead
    # with a callback, so the badge is its row's.
    html = client.get("/inbox/", {"q": lead.email}).content.decode()
    assert html.count('data-testid="callback-badge"') == 1
