"""What-if on history: the last closed months replayed under a proposal's terms.

Agreement A on a New York 09:00-17:00 weekday calendar, 240 business minutes to the first
touch. October 2026 holds, by rep, leads touched after 60, 180 and 480 business minutes,
one never touched, one rejected within the hour, and one that does not qualify (10 staff);
November a lead touched after 30 minutes. Today is Tue 8 Dec 2026: both months are closed.
"""

from datetime import UTC, datetime

import pytest
import time_machine

from sla.actions import lead_acknowledge, lead_deliver, lead_reject, lead_touch
from sla.compliance import compliance_for
from sla.proposals import proposal_create, terms_with
from sla.whatif import whatif
from tests.factories import DefinitionFactory
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)


@pytest.fixture
def world():
    world = build_world()
    history(world)
    return world


def deliver(world, at, **overrides):
    data = {**lead_body(email=f"{at:%m%d%H%M}{len(overrides)}@example.com", **overrides)}
    lead, _ = lead_deliver(
        by=world.maria, data={**data, "received_at": at}, agreement=world.a, now=at
    )
    return lead


def touch(world, lead, at):
    lead_touch(lead=lead, by=world.morgan, kind="call", outcome="no_answer", at=at, now=at)


def history(world):
    touch(world, deliver(world, ny(2026, 10, 5, 10, 0)), ny(2026, 10, 5, 11, 0))  # 60
    touch(world, deliver(world, ny(2026, 10, 5, 10, 30)), ny(2026, 10, 5, 13, 30))  # 180
    touch(world, deliver(world, ny(2026, 10, 6, 10, 0)), ny(2026, 10, 7, 10, 0))  # 480
    deliver(world, ny(2026, 10, 7, 10, 0))  # never touched
    rejected = deliver(world, ny(2026, 10, 8, 10, 0))
    lead_reject(lead=rejected, by=world.morgan, reason="not_icp", now=ny(2026, 10, 8, 10, 45))
    deliver(world, ny(2026, 10, 9, 10, 0), company_size=10)  # does not qualify
    accepted = deliver(world, ny(2026, 11, 10, 10, 0))
    lead_acknowledge(lead=accepted, by=world.morgan, now=ny(2026, 11, 10, 10, 15))
    touch(world, accepted, ny(2026, 11, 10, 10, 30))


def replay(world, **changes):
    return whatif(agreement=world.a, candidate=terms_with(world.a, changes), months=3, at=NOW)


def month(body, name):
    return next(entry for entry in body["months"] if entry["month"] == name)


def test_the_what_if_of_the_current_terms_is_what_was_measured(world):
    body = whatif(agreement=world.a, candidate=world.a, months=3, at=NOW)
    assert [entry["month"] for entry in body["months"]] == ["2026-11", "2026-10", "2026-09"]
    for entry in body["months"]:
        assert entry["proposed"] == entry["measured"], entry["month"]
        live = compliance_for(agreement=world.a, month=entry["month"], at=NOW)
        assert entry["measured"]["marketing"] == live["marketing"]
        assert entry["measured"]["sales"] == live["sales"]
        assert entry["measured"]["by_rep"] == live["by_rep"]


def test_a_shorter_window_breaches_the_touch_made_after_180_minutes(world):
    october = month(replay(world, first_touch_minutes=120), "2026-10")
    measured, proposed = october["measured"]["sales"], october["proposed"]["sales"]
    assert (measured["touched_within_sla"], measured["breached"]) == (3, 2)
    assert (proposed["touched_within_sla"], proposed["breached"]) == (2, 3)
    assert proposed["compliance_percent"] == 40.0
    # The touches themselves did not move.
    assert proposed["median_first_touch_minutes"] == measured["median_first_touch_minutes"]


def test_breaches_per_rep_are_replayed_too(world):
    october = month(replay(world, first_touch_minutes=120), "2026-10")
    measured = {row["owner"]: row["breached"] for row in october["measured"]["by_rep"]}
    proposed = {row["owner"]: row["breached"] for row in october["proposed"]["by_rep"]}
    assert sum(proposed.values()) == sum(measured.values()) + 1
    assert set(proposed) == set(measured)


def test_a_higher_quota_lowers_attainment_and_misses_the_month(world):
    november = month(replay(world, monthly_quota=400), "2026-11")
    assert november["measured"]["marketing"]["attainment_percent"] == 0.5  # 1 of 200
    assert november["proposed"]["marketing"]["committed"] == 400
    assert november["proposed"]["marketing"]["attainment_percent"] == 0.3


def test_a_lower_acceptance_bar_is_judged_against_the_same_verdicts(world):
    october = month(replay(world, min_acceptance_percent=0), "2026-10")
    assert october["proposed"]["marketing"]["rejected"] == 1
    assert october["proposed"]["marketing"]["acceptance_percent"] == 0.0


def test_a_new_definition_rescores_the_leads(world):
    everyone = DefinitionFactory(
        name="Everyone", team=world.a.marketing_team, criteria=[], qualify_at=0, disqualifiers=[]
    )
    october = month(replay(world, definition=everyone.pk), "2026-10")
    assert october["measured"]["marketing"]["delivered_qualified"] == 5
    assert october["proposed"]["marketing"]["delivered_qualified"] == 6
    # The lead that now qualifies was never touched: its first touch is breached.
    assert october["proposed"]["sales"]["breached"] == october["measured"]["sales"]["breached"] + 1


def test_a_month_still_in_grace_is_skipped(world):
    body = whatif(
        agreement=world.a, candidate=world.a, months=2, at=datetime(2026, 12, 2, 15, tzinfo=UTC)
    )
    assert [entry["month"] for entry in body["months"]] == ["2026-10", "2026-09"]


# --- the API ------------------------------------------------------------------------------


def open_proposal(world):
    return proposal_create(
        agreement=world.a,
        by=world.maria,
        note="Two hours",
        effective_from=datetime(2027, 1, 1).date(),
        changes={"first_touch_minutes": 120},
        now=NOW,
    )


def test_the_api_answers_the_what_if_of_a_proposal(api_client, world):
    proposal = open_proposal(world)
    api_client.force_authenticate(world.sam)
    with time_machine.travel(NOW, tick=False):
        response = api_client.get(
            f"/api/agreements/{world.a.pk}/proposals/{proposal.pk}/whatif/?months=2"
        )
    assert response.status_code == 200
    body = response.json()
    assert body["proposal"] == proposal.pk
    assert [entry["month"] for entry in body["months"]] == ["2026-11", "2026-10"]
    assert body["months"][1]["proposed"]["sales"]["breached"] == 3


@pytest.mark.parametrize("months", ["0", "13", "three"])
def test_months_out_of_range_are_400_naming_months(api_client, world, months):
    proposal = open_proposal(world)
    api_client.force_authenticate(world.sam)
    response = api_client.get(
        f"/api/agreements/{world.a.pk}/proposals/{proposal.pk}/whatif/?months={months}"
    )
    assert response.status_code == 400
    assert "months" in response.json()


def test_the_what_if_reads_a_constant_number_of_queries(world, django_assert_max_num_queries):
    for day in range(12, 24):
        deliver(world, ny(2026, 10, day, 11, 0))
    candidate = terms_with(world.a, {"first_touch_minutes": 120})
    with django_assert_max_num_queries(12):
        whatif(agreement=world.a, candidate=candidate, months=3, at=NOW)


def test_pending_and_disputed_rejections_replay_as_they_were_measured(world):
    from sla.disputes import dispute_open

    late = deliver(world, ny(2026, 11, 30, 10, 0))
    lead_reject(lead=late, by=world.morgan, reason="not_icp", now=ny(2026, 12, 2, 10, 0))
    disputed = deliver(world, ny(2026, 11, 30, 11, 0), title="VP Sales")
    lead_reject(lead=disputed, by=world.morgan, reason="not_icp", now=ny(2026, 12, 2, 11, 0))
    dispute_open(lead=disputed, by=world.maria, note="They are a fit", now=ny(2026, 12, 3, 9, 0))
    november = month(whatif(agreement=world.a, candidate=world.a, months=1, at=NOW), "2026-11")
    assert november["proposed"] == november["measured"]
    assert november["measured"]["marketing"]["rejections_pending"] == 2
    assert november["measured"]["marketing"]["disputes_open"] == 1
