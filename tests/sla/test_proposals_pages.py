"""The pages of the negotiated agreement: propose, compare, sign; and a lead's dispute panel.

Agreement A (maria for marketing, morgan for sales, reps sam and sofia); today is Tue 8
Dec 2026, and October holds a lead touched after 180 business minutes.
"""

from datetime import UTC, datetime

import pytest
import time_machine

from sla.actions import lead_deliver, lead_reject, lead_touch
from sla.models import Dispute, Proposal
from sla.proposals import proposals_apply_due
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    world = build_world()
    at = ny(2026, 10, 5, 10, 0)
    lead, _ = lead_deliver(
        by=world.maria, data={**lead_body(), "received_at": at}, agreement=world.a, now=at
    )
    touched = ny(2026, 10, 5, 13, 0)
    lead_touch(
        lead=lead, by=world.morgan, kind="call", outcome="no_answer", at=touched, now=touched
    )
    return world


def page(client, user, path, data=None):
    client.force_login(user)
    return client.post(path, data) if data is not None else client.get(path)


def form(world, **changes):
    body = {"effective_from": "2027-01-01", "note": "Two hours is enough"}
    body.update({name: str(getattr(world.a, name)) for name in ("first_touch_minutes",)})
    body.update(changes)
    return body


def test_the_propose_form_is_prefilled_with_the_current_terms(client, world):
    response = page(client, world.maria, f"/agreements/{world.a.pk}/proposals/new/")
    assert response.status_code == 200
    assert 'name="first_touch_minutes" value="240"' in response.content.decode()


def test_a_rep_may_not_open_the_propose_form(client, world):
    response = page(client, world.sam, f"/agreements/{world.a.pk}/proposals/new/")
    assert response.status_code == 403


def test_proposing_from_the_form_shows_the_what_if(client, world):
    response = page(
        client,
        world.maria,
        f"/agreements/{world.a.pk}/proposals/new/",
        form(world, first_touch_minutes="120"),
    )
    proposal = Proposal.objects.get()
    assert response.status_code == 302
    assert proposal.changes == {"first_touch_minutes": 120}
    detail = page(client, world.maria, response["Location"]).content.decode()
    assert 'data-testid="whatif-2026-10"' in detail
    assert "1 / 0" in detail and "0 / 1" in detail  # measured kept, proposed breached
    assert 'data-testid="accept"' not in detail  # marketing has signed by proposing


def test_bad_terms_on_the_form_are_shown_and_nothing_is_proposed(client, world):
    response = page(
        client,
        world.maria,
        f"/agreements/{world.a.pk}/proposals/new/",
        form(world, at_risk_percent="150"),
    )
    assert response.status_code == 400
    assert "Nothing was proposed" in response.content.decode()
    assert not Proposal.objects.exists()


def test_the_sales_manager_accepts_and_the_terms_page_names_both_signatories(client, world):
    page(
        client,
        world.maria,
        f"/agreements/{world.a.pk}/proposals/new/",
        form(world, first_touch_minutes="120"),
    )
    proposal = Proposal.objects.get()
    detail = f"/agreements/{world.a.pk}/proposals/{proposal.pk}/"
    assert 'data-testid="accept"' in page(client, world.morgan, detail).content.decode()
    page(client, world.morgan, detail + "accept/", {})
    proposal.refresh_from_db()
    assert proposal.state == "accepted"
    proposals_apply_due(at=ny(2027, 1, 1, 0, 0))
    terms = page(client, world.erin, f"/agreements/{world.a.pk}/").content.decode()
    assert 'data-testid="signed-2"' in terms
    assert "Signed for marketing by maria" in terms and "for sales by morgan" in terms


def test_rejecting_from_the_page_needs_a_reason(client, world):
    page(
        client,
        world.maria,
        f"/agreements/{world.a.pk}/proposals/new/",
        form(world, first_touch_minutes="120"),
    )
    proposal = Proposal.objects.get()
    path = f"/agreements/{world.a.pk}/proposals/{proposal.pk}/reject/"
    page(client, world.morgan, path, {"reason": ""})
    proposal.refresh_from_db()
    assert proposal.state == "open"
    page(client, world.morgan, path, {"reason": "Too tight"})
    proposal.refresh_from_db()
    assert proposal.state == "rejected"


def test_the_proposals_page_lists_state_and_signatures(client, world):
    page(
        client,
        world.maria,
        f"/agreements/{world.a.pk}/proposals/new/",
        form(world, first_touch_minutes="120"),
    )
    listing = page(client, world.sam, f"/agreements/{world.a.pk}/proposals/").content.decode()
    assert "Open" in listing and "maria" in listing
    assert 'data-testid="propose"' not in listing  # a rep reads, does not propose


# --- the dispute panel ------------------------------------------------------------------------


@pytest.fixture
def rejected(world):
    at = ny(2026, 12, 7, 10, 0)
    lead, _ = lead_deliver(
        by=world.maria,
        data={**lead_body(email="bo@example.com"), "received_at": at},
        agreement=world.a,
        now=at,
    )
    return lead_reject(lead=lead, by=world.morgan, reason="not_icp", now=ny(2026, 12, 7, 11, 0))


def test_marketing_sees_dispute_this_rejection_and_disputes_it(client, world, rejected):
    panel = page(client, world.maria, f"/leads/{rejected.pk}/dispute/panel/").content.decode()
    assert "Dispute this rejection" in panel
    assert (
        'data-testid="dispute-slot"'
        in page(client, world.maria, f"/leads/{rejected.pk}/").content.decode()
    )
    page(client, world.maria, f"/leads/{rejected.pk}/dispute/", {"note": "300 staff"})
    assert Dispute.objects.get().state == "open"


def test_the_sales_manager_sees_the_ruling_form_and_overturns(client, world, rejected):
    page(client, world.maria, f"/leads/{rejected.pk}/dispute/", {"note": "300 staff"})
    panel = page(client, world.morgan, f"/leads/{rejected.pk}/dispute/panel/").content.decode()
    assert "Rule on the dispute" in panel and "Dispute this rejection" not in panel
    path = f"/leads/{rejected.pk}/dispute/ruling/"
    page(client, world.morgan, path, {"outcome": "overturned", "note": "Checked"})
    assert Dispute.objects.get().state == "overturned"


def test_a_rep_sees_no_dispute_form(client, world, rejected):
    rejected.owner = world.sam
    rejected.save(update_fields=["owner"])
    panel = page(client, world.sam, f"/leads/{rejected.pk}/dispute/panel/").content.decode()
    assert "Dispute this rejection" not in panel and "Rule on the dispute" not in panel
