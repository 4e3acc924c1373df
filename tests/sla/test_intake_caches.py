"""The single-lead POST reads what it needs fresh on every request: nothing is kept
between requests, so a change made by another worker (another connection) is honoured
by the very next delivery. These tests warm a delivery first, change a term elsewhere,
and check the next one.

The hand-written paths (agreement lookup, entry stage, one-statement round robin) run
on PostgreSQL; elsewhere the ORM's. Either way the answers are the ones below.
"""

import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Role
from funnel.models import Stage
from leads.models import AssignmentCursor, Lead
from leads.services.definitions import definition_update
from leads.services.leads import entry_stage, reps_take
from sla.agreements import agreement_update
from sla.models import Agreement
from tests.factories import UserFactory
from tests.sla.lead_world import UNUSABLE, build_world, lead_body

# The next definition version: only companies of 200 or more score.
_BIGGER = [{"field": "company_size", "op": "gte", "value": 200, "points": 60, "label": "200+"}]


def _post(client, world, n, **overrides):
    body = lead_body(agreement=world.a.pk, email=f"c{n}@example.com", external_id=f"c-{n}")
    body.update(overrides)
    return client.post("/api/leads/", body, format="json")


@pytest.fixture
def maria(api_client):
    def login(world):
        api_client.force_authenticate(user=world.maria)
        return api_client

    return login


def _elsewhere(work):
    """Run `work` on another thread, with its own database connection (another worker)."""
    failures = []

    def run():
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not failures, failures


@pytest.mark.django_db
def test_a_changed_first_touch_window_is_honoured_by_the_next_delivery(maria):
    world = build_world()
    client = maria(world)
    before = _post(client, world, 1).json()["sla"]["first_touch_due_at"]
    agreement_update(agreement=world.a, by=world.ada, now=timezone.now(), first_touch_minutes=30)
    after = _post(client, world, 2).json()
    assert after["sla"]["first_touch_due_at"] != before
    lead = Lead.objects.get(pk=after["id"])
    assert lead.clocks.get().business_minutes == 30
    assert lead.terms.agreement_version.version == 2


@pytest.mark.django_db
def test_a_new_definition_version_scores_the_next_delivery(maria):
    world = build_world()
    client = maria(world)
    assert _post(client, world, 1).json()["qualifies"] is True
    definition_update(definition=world.a.definition, by=world.ada, criteria=_BIGGER)
    answer = _post(client, world, 2).json()
    assert answer["qualifies"] is False
    assert answer["definition_version"] == 2


@pytest.mark.django_db
def test_a_deactivated_rep_gets_no_further_leads(maria):
    world = build_world()
    client = maria(world)
    assert _post(client, world, 1).json()["owner"] == "sam"
    world.sofia.is_active = False
    world.sofia.save()
    owners = [_post(client, world, n).json()["owner"] for n in range(2, 5)]
    assert owners == ["sam", "sam", "sam"]


@pytest.mark.django_db
def test_an_agreement_that_ended_refuses_the_next_delivery(maria):
    world = build_world()
    client = maria(world)
    assert _post(client, world, 1).status_code == 201
    Agreement.objects.filter(pk=world.a.pk).update(
        effective_to=timezone.localdate().replace(year=2000)
    )
    answer = _post(client, world, 2)
    assert answer.status_code == 400
    assert "agreement" in answer.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_changes_made_by_another_connection_are_honoured_by_the_next_delivery(maria):
    world = build_world()
    client = maria(world)
    first = _post(client, world, 1).json()
    assert (first["owner"], first["qualifies"]) == ("sam", True)

    def change():
        agreement_update(
            agreement=Agreement.objects.get(pk=world.a.pk),
            by=None,
            now=timezone.now(),
            first_touch_minutes=45,
        )
        definition_update(definition=world.a.definition, by=None, criteria=_BIGGER)
        type(world.sofia).objects.filter(pk=world.sofia.pk).update(is_active=False)

    _elsewhere(change)
    answers = [_post(client, world, n, company_size=250).json() for n in (2, 3)]
    assert [a["owner"] for a in answers] == ["sam", "sam"]  # sofia is no longer a rep
    assert all(a["definition_version"] == 2 for a in answers)
    assert _post(client, world, 4).json()["qualifies"] is False  # 120 staff: no longer
    lead = Lead.objects.get(pk=answers[0]["id"])
    assert lead.clocks.get().business_minutes == 45


@pytest.mark.django_db
def test_round_robin_passes_a_departed_last_rep_by_name():
    world = build_world()
    team = world.a.sales_team
    team.members.add(UserFactory(username="sandy", role=Role.SALES, password=UNUSABLE))
    [first] = reps_take(team=team, count=1)
    assert first.username == "sam"
    [second] = reps_take(team=team, count=1)
    assert second.username == "sandy"
    team.members.remove(second)  # the cursor now names someone who left
    assert [reps_take(team=team, count=1)[0].username for _ in range(3)] == [
        "sofia",
        "sam",
        "sofia",
    ]
    assert AssignmentCursor.objects.get(team=team).last_user.username == "sofia"


@pytest.mark.django_db
def test_round_robin_of_a_team_without_reps_gives_no_one():
    world = build_world()
    team = world.b.sales_team
    team.members.filter(role=Role.SALES).update(is_active=False)
    assert reps_take(team=team, count=1) == [None]
    assert reps_take(team=team, count=1) == [None]


@pytest.mark.django_db
def test_the_entry_stage_is_interacting_else_the_first_open_stage():
    interacting = Stage.objects.get(slug="interacting")
    assert entry_stage() == interacting
    interacting.slug = "talking"
    interacting.save()
    first_open = (
        Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True).order_by("position").first()
    )
    assert entry_stage() == first_open


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("agreement", "field"),
    [(999_999, "agreement"), ("1", None), (True, "agreement")],
)
def test_a_body_off_the_plain_path_answers_as_the_serializer_says(maria, agreement, field):
    world = build_world()
    client = maria(world)
    value = world.a.pk if agreement == "1" else agreement
    value = str(value) if agreement == "1" else value
    answer = client.post(
        "/api/leads/", lead_body(agreement=value, external_id="x-1"), format="json"
    )
    if field is None:  # the agreement's id as text: accepted by the serializer
        assert answer.status_code == 201
        assert answer.json()["agreement"] == world.a.pk
    else:
        assert answer.status_code == 400
        assert field in answer.json()
        assert "Invalid pk" in answer.json()["agreement"][0] or "Incorrect type" in str(
            answer.json()
        )


@pytest.mark.django_db
def test_a_token_is_checked_on_every_request(client):
    world = build_world()
    token = Token.objects.create(user=world.maria)
    body = lead_body(agreement=world.a.pk, external_id="t-1")

    def post(key):
        return client.post(
            "/api/leads/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
        )

    assert post(token.key).status_code == 201
    assert post("0" * 40).status_code == 401
    type(world.maria).objects.filter(pk=world.maria.pk).update(is_active=False)
    refused = post(token.key)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "User inactive or deleted."


@pytest.mark.django_db
def test_marketing_delivers_only_while_on_the_agreements_team(maria):
    world = build_world()
    client = maria(world)
    assert _post(client, world, 1).status_code == 201
    world.a.marketing_team.members.remove(world.maria)
    refused = _post(client, world, 2)
    assert refused.status_code == 400
    assert refused.json()["agreement"] == ["You deliver only to your marketing team's agreements."]
