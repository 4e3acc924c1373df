"""The demo data holds one change both sides accepted, one open proposal whose what-if
shows, and a disputed rejection, set once however often it is loaded."""

import pytest
from django.core.management import call_command

from sla.models import Dispute, Proposal

pytestmark = pytest.mark.django_db


def test_the_demo_holds_an_accepted_change_an_open_proposal_and_a_dispute(client):
    call_command("seed_demo")
    call_command("seed_demo")

    accepted = Proposal.objects.get(state="accepted")
    assert accepted.marketing_signed_by and accepted.sales_signed_by
    proposal = Proposal.objects.get(state="open")
    assert proposal.side == "sales"
    [dispute] = Dispute.objects.select_related("lead")
    assert dispute.state == "open" and dispute.lead.verdict == "rejected"

    client.force_login(proposal.proposed_by)
    page = client.get(f"/agreements/{proposal.agreement_id}/proposals/{proposal.pk}/")
    assert page.status_code == 200
    assert 'data-testid="whatif-' in page.content.decode()
