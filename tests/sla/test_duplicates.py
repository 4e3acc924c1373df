"""Duplicate leads, external ids per marketing team, and who held a lead.

- A delivered lead whose e-mail matches an open lead of the same agreement within the
  agreement's `duplicate_window_days` is recorded as its duplicate: linked
  (`duplicate_of`), starting no clock, taking no round-robin turn, counted in
  `marketing.duplicates` and not as qualified; the first lead's owner is told.
- `external_id` is unique per marketing team: another team's id is not a duplicate.
- A lead answers `assignments`: who held it, from when to when, and who moved it.

New York calendar; Monday 7 Dec 2026 10:00 EST is 15:00 UTC.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from leads.models import Lead
from sla.compliance import compliance_for
from sla.delivery import leads_deliver
from sla.models import Clock, Notification
from tests.sla.lead_world import build_world, lead_body

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def world():
    world = build_world(duplicate_window_days=30, close_grace_business_days=3000)
    for name in ("sam", "sofia"):
        user = world.users[name]
        user.email = f"{name}@example.com"
        user.save(update_fields=["email"])
    return world


def post(api_client, user, body, **headers):
    api_client.force_authenticate(user)
    return api_client.post("/api/leads/", body, format="json", headers=headers)


def deliver(api_client, world, email, at, **fields):
    body = {
        **lead_body(email=email, **fields),
        "agreement": world.a.pk,
        "received_at": at.isoformat(),
    }
    with time_machine.travel(at, tick=False):
        return post(api_client, world.maria, body)


def test_a_lead_repeating_an_open_leads_e_mail_within_the_window_is_its_duplicate(
    api_client, world
):
    first = deliver(api_client, world, "ann@example.com", MONDAY)
    again = deliver(api_client, world, "Ann@Example.COM", MONDAY + timedelta(days=2))

    assert first.status_code == again.status_code == 201
    first, again = first.json(), again.json()
    assert again["id"] != first["id"]
    assert first["duplicate_of"] is None
    assert again["duplicate_of"] == first["id"]
    assert again["qualifies"] is False
    assert "duplicate of an open lead with this e-mail" in again["disqualified_by"]
    assert again["owner"] is None  # took no round-robin turn
    assert not Clock.objects.filter(lead_id=again["id"]).exists()  # started no clock
    # The next lead takes the turn the duplicate did not.
    third = deliver(api_client, world, "bob@example.com", MONDAY + timedelta(days=2, hours=1))
    assert (first["owner"], third.json()["owner"]) == ("sam", "sofia")


def test_a_duplicate_counts_in_the_figures_as_a_duplicate_not_as_qualified(api_client, world):
    deliver(api_client, world, "ann@example.com", MONDAY)
    deliver(api_client, world, "ann@example.com", MONDAY + timedelta(hours=1))
    deliver(api_client, world, "bob@example.com", MONDAY + timedelta(hours=2))

    figures = compliance_for(agreement=world.a, month="2026-12", at=MONDAY + timedelta(days=1))
    marketing = figures["marketing"]
    assert (marketing["delivered"], marketing["delivered_qualified"]) == (3, 2)
    assert marketing["duplicates"] == 1
    assert figures["sales"]["leads"] == 2


def test_the_owner_of_the_first_lead_is_told_once(api_client, world):
    first = deliver(api_client, world, "ann@example.com", MONDAY).json()
    again = deliver(api_client, world, "ann@example.com", MONDAY + timedelta(hours=3)).json()

    [told] = Notification.objects.filter(key__startswith="duplicate:")
    assert (told.address, told.recipient.username) == ("sam@example.com", "sam")
    assert f"#{first['id']}" in told.subject and f"#{again['id']}" in told.body


def test_a_lead_outside_the_window_is_no_duplicate(api_client, world):
    deliver(api_client, world, "ann@example.com", MONDAY - timedelta(days=31))
    again = deliver(api_client, world, "ann@example.com", MONDAY).json()
    assert again["duplicate_of"] is None and again["qualifies"] is True


def test_a_closed_first_lead_is_no_longer_matched(api_client, world):
    first = deliver(api_client, world, "ann@example.com", MONDAY).json()
    Lead.objects.filter(pk=first["id"]).update(closed_at=MONDAY + timedelta(hours=1))
    again = deliver(api_client, world, "ann@example.com", MONDAY + timedelta(hours=2)).json()
    assert again["duplicate_of"] is None and again["qualifies"] is True


def test_another_agreements_lead_is_no_duplicate(api_client, world):
    deliver(api_client, world, "ann@example.com", MONDAY)
    body = {**lead_body(email="ann@example.com"), "agreement": world.b.pk}
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        other = post(api_client, world.petra, body).json()
    assert other["duplicate_of"] is None and other["qualifies"] is True


def test_a_window_of_zero_days_turns_the_rule_off(api_client, world):
    world.a.duplicate_window_days = 0
    world.a.save()
    deliver(api_client, world, "ann@example.com", MONDAY)
    again = deliver(api_client, world, "ann@example.com", MONDAY + timedelta(hours=1)).json()
    assert again["duplicate_of"] is None and again["qualifies"] is True


def test_a_batch_links_a_repeat_of_its_own_earlier_lead(world, django_assert_max_num_queries):
    items = [
        lead_body(email=f"{name}@example.com", received_at=MONDAY + timedelta(minutes=i))
        for i, name in enumerate(["ann", "bob", "ann", "cy", "bob"])
    ]
    with django_assert_max_num_queries(40):  # a constant, whatever the batch's size
        results = leads_deliver(
            by=world.maria, items=items, agreement=world.a, now=MONDAY + timedelta(hours=1)
        )
    ids = [result.lead_id for result in results]
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=ids)}
    assert [leads[pk].duplicate_of_id for pk in ids] == [None, None, ids[0], None, ids[1]]
    assert [leads[pk].qualifies for pk in ids] == [True, True, False, True, False]
    assert Clock.objects.filter(lead_id__in=ids).count() == 3


def test_an_external_id_is_unique_per_marketing_team(api_client, world):
    mine = {**lead_body(email="a@example.com", external_id="crm-1"), "agreement": world.a.pk}
    theirs = {**lead_body(email="b@example.com", external_id="crm-1"), "agreement": world.b.pk}
    with time_machine.travel(MONDAY, tick=False):
        first = post(api_client, world.maria, mine)
        other = post(api_client, world.petra, theirs)
        repeat = post(api_client, world.maria, mine)

    assert (first.status_code, other.status_code, repeat.status_code) == (201, 201, 200)
    assert other.json()["id"] != first.json()["id"]  # not a duplicate, nothing leaked
    assert repeat.json()["id"] == first.json()["id"]


def test_a_batch_repeat_of_another_teams_external_id_is_created(api_client, world):
    with time_machine.travel(MONDAY, tick=False):
        post(
            api_client,
            world.maria,
            {**lead_body(email="a@example.com", external_id="x-9"), "agreement": world.a.pk},
        )
        api_client.force_authenticate(world.petra)
        body = {
            "leads": [
                {**lead_body(email="b@example.com", external_id="x-9"), "agreement": world.b.pk}
            ]
        }
        [result] = api_client.post("/api/leads/batch/", body, format="json").json()["results"]
    assert result["status"] == "created"


def test_a_lead_answers_who_held_it_from_when_to_when_and_who_moved_it(api_client, world):
    lead = deliver(api_client, world, "ann@example.com", MONDAY).json()
    moved = MONDAY + timedelta(hours=2)
    with time_machine.travel(moved, tick=False):
        api_client.force_authenticate(world.morgan)
        answer = api_client.post(
            f"/api/leads/{lead['id']}/assign/", {"owner": "sofia"}, format="json"
        )
        assert answer.status_code == 200
        detail = api_client.get(f"/api/leads/{lead['id']}/").json()

    assert detail["assignments"] == [
        {"owner": "sam", "from": "2026-12-07T15:00:00Z", "to": "2026-12-07T17:00:00Z", "by": None},
        {"owner": "sofia", "from": "2026-12-07T17:00:00Z", "to": None, "by": "morgan"},
    ]


def test_the_dashboard_counts_duplicates_linked_to_exactly_those_leads(api_client, client, world):
    deliver(api_client, world, "ann@example.com", MONDAY)
    deliver(api_client, world, "ann@example.com", MONDAY + timedelta(hours=1))
    deliver(api_client, world, "bob@example.com", MONDAY + timedelta(hours=1))
    client.force_login(world.erin)
    with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
        blocks = client.get("/compliance/", {"month": "2026-12"}).context["blocks"]
        [row] = [
            row
            for side in blocks[1]["sides"]
            for row in side["rows"]
            if row["label"] == "Duplicates"
        ]
        assert row["now"]["value"] == 1
        listed = client.get(row["now"]["url"]).context["page"].paginator.count
    assert listed == 1
