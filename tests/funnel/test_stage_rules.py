"""The funnel's rules of movement: forward always, back only to a re-openable stage, never out
of a won or lost stage except by a manager with a reason; a refusal is 409 naming the rule.

Default funnel: aware, interacting (entry), engaged and investigating (re-openable), buying,
then customer and promoter (won), disqualified and recycled (lost).
"""

import pytest

from funnel.models import Stage, StageChange
from leads.models import Lead
from sla.actions import lead_deliver
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

FRIDAY = ny(2026, 12, 4, 10, 0)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def lead(world):
    data = {**lead_body(), "received_at": FRIDAY}
    lead, _ = lead_deliver(by=world.maria, data=data, agreement=world.a, now=FRIDAY)
    return lead


def move(api_client, world, lead, who, stage, note=""):
    api_client.force_authenticate(world.users[who])
    return api_client.post(
        f"/api/leads/{lead.pk}/stage/", {"stage": stage, "note": note}, format="json"
    )


def stage_of(lead) -> str:
    return Lead.objects.select_related("stage").get(pk=lead.pk).stage.slug


def test_forward_one_stage_or_several(api_client, world, lead):
    assert move(api_client, world, lead, "sam", "engaged").status_code == 200
    assert move(api_client, world, lead, "sam", "buying").status_code == 200
    assert stage_of(lead) == "buying"


def test_back_only_to_a_reopenable_stage(api_client, world, lead):
    move(api_client, world, lead, "sam", "buying")
    refused = move(api_client, world, lead, "sam", "interacting")
    assert refused.status_code == 409
    assert refused.json()["rule"] == "backward_move"
    assert "Interacting" in refused.json()["detail"]
    assert stage_of(lead) == "buying"
    assert move(api_client, world, lead, "sam", "engaged").status_code == 200


def test_a_stage_marked_reopenable_by_the_admin_may_be_moved_back_to(api_client, world, lead):
    move(api_client, world, lead, "sam", "buying")
    Stage.objects.filter(slug="interacting").update(reopenable=True)
    assert move(api_client, world, lead, "sam", "interacting").status_code == 200


def test_a_won_lead_never_returns_to_an_open_stage(api_client, world, lead):
    move(api_client, world, lead, "sam", "customer")
    for who in ("sam", "morgan"):
        refused = move(api_client, world, lead, who, "engaged", note="They churned")
        assert refused.status_code == 409
        assert refused.json()["rule"] in {"closed_lead", "closed_stage"}
    assert stage_of(lead) == "customer"


def test_out_of_a_won_stage_only_by_a_manager_with_a_reason(api_client, world, lead):
    move(api_client, world, lead, "sam", "customer")
    changes = StageChange.objects.filter(lead=lead).count()

    by_rep = move(api_client, world, lead, "sam", "recycled", note="Cancelled")
    assert by_rep.status_code == 409 and by_rep.json()["rule"] == "closed_stage"
    no_reason = move(api_client, world, lead, "morgan", "recycled")
    assert no_reason.status_code == 409 and "say why" in no_reason.json()["detail"]
    assert StageChange.objects.filter(lead=lead).count() == changes

    done = move(api_client, world, lead, "morgan", "recycled", note="Cancelled in the trial")
    assert done.status_code == 200
    assert stage_of(lead) == "recycled"
    assert StageChange.objects.filter(lead=lead).latest("id").note == "Cancelled in the trial"


def test_the_stage_api_lists_which_stages_are_reopenable(api_client, world):
    api_client.force_authenticate(world.users["sam"])
    stages = {s["slug"]: s["reopenable"] for s in api_client.get("/api/stages/").json()["results"]}
    assert stages["engaged"] and stages["investigating"]
    assert not stages["interacting"] and not stages["customer"]


def test_the_rule_is_pure_and_says_which_stages_are_open_to_a_lead():
    from funnel.rules import stage_move_refusal, stages_open_to

    stages = list(Stage.objects.filter(is_active=True))
    by = {s.slug: s for s in stages}
    assert stage_move_refusal(
        from_stage=by["buying"], to_stage=by["aware"], manager=True, note="x"
    ).rule == ("backward_move")
    rep = {s.slug for s in stages_open_to(from_stage=by["buying"], stages=stages, manager=False)}
    assert rep == {"engaged", "investigating", "customer", "promoter", "disqualified", "recycled"}
    won = {s.slug for s in stages_open_to(from_stage=by["customer"], stages=stages, manager=True)}
    assert won == {"promoter", "disqualified", "recycled"}
    assert stages_open_to(from_stage=by["customer"], stages=stages, manager=False) == []


def test_the_lead_page_offers_only_the_moves_the_funnel_allows(api_client, client, world, lead):
    move(api_client, world, lead, "sam", "buying")
    client.force_login(world.users["sam"])
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    form = page.split('name="stage"')[1].split("</select>")[0]
    assert 'value="engaged"' in form and 'value="customer"' in form
    assert 'value="aware"' not in form and 'value="interacting"' not in form
