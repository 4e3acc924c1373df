"""The lead list filters by the tier a lead matched and by whether it is a duplicate."""

from datetime import UTC, datetime

import pytest
import time_machine

from tests.sla.lead_world import build_world, lead_body

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
TIERS = [
    {
        "name": "Demo request",
        "when": [{"field": "source", "op": "eq", "value": "demo_request"}],
        "first_touch_minutes": 15,
    }
]


def test_the_list_filters_by_tier_and_by_duplicate(api_client):
    with time_machine.travel(MONDAY, tick=False):
        world = build_world(tiers=TIERS, duplicate_window_days=30, close_grace_business_days=3000)
        api_client.force_authenticate(world.maria)
        for email, source in [
            ("a@x.com", "demo_request"),
            ("b@x.com", "webinar"),
            ("a@x.com", "x"),
        ]:
            body = {**lead_body(email=email, source=source), "agreement": world.a.pk}
            assert api_client.post("/api/leads/", body, format="json").status_code == 201
        api_client.force_authenticate(world.erin)

        def emails(query):
            answer = api_client.get(f"/api/leads/?{query}")
            assert answer.status_code == 200
            return sorted((r["email"], r["sla"]["tier"]) for r in answer.json()["results"])

        assert emails("tier=Demo%20request") == [("a@x.com", "Demo request")]
        assert emails("duplicate=true") == [("a@x.com", None)]
        assert len(emails("duplicate=false")) == 2
        too_long = api_client.get("/api/leads/?tier=" + "x" * 101)
        assert too_long.status_code == 400 and "tier" in too_long.json()
