"""The pages show the tiers: their table and history on the agreement, the tier and its
windows on the lead, first touch by tier on the dashboard; the demo data has a fast tier.

The world is tests/sla/test_tiers.py's: agreement A (New York, 240 minutes to first
touch) with a "Demo request" tier of 15 minutes and an "Enterprise" tier of 60.
"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from sla.agreements import agreement_update
from sla.models import AgreementVersion, Clock, LeadTerms
from tests.sla.test_tiers import BIG, DEMO, MONDAY_10AM, deliver
from tests.sla.test_tiers import world as world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def page(client, user, url) -> str:
    client.force_login(user)
    with time_machine.travel(MONDAY_10AM + timedelta(minutes=3), tick=False):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_lead_page_shows_its_tier_and_its_windows(client, world):
    lead = deliver(world, source="demo_request")

    html = page(client, world.sam, f"/leads/{lead.pk}/")

    assert 'data-testid="lead-tier"' in html
    assert "<strong>Demo request</strong> — first touch within 15 business minutes" in html
    assert "next touch within 120 business minutes, 1 attempt before abandoning" in html
    assert "version 1" in html


def test_the_lead_page_names_the_default_terms_of_a_lead_without_tier(client, world):
    lead = deliver(world, source="webinar")
    html = page(client, world.sam, f"/leads/{lead.pk}/")
    assert "<strong>Default terms</strong> — first touch within 240 business minutes" in html


def test_the_lead_page_shows_the_windows_of_its_own_version_after_an_edit(client, world):
    lead = deliver(world, source="demo_request")
    agreement_update(
        agreement=world.a,
        by=world.ada,
        now=MONDAY_10AM,
        tiers=[{**DEMO, "first_touch_minutes": 5}, BIG],
    )
    html = page(client, world.sam, f"/leads/{lead.pk}/")
    assert "first touch within 15 business minutes" in html


def test_a_lead_that_starts_no_clock_shows_no_tier(client, world):
    lead = deliver(world, source="demo_request", company_size=10)
    assert 'data-testid="lead-tier"' not in page(client, world.ada, f"/leads/{lead.pk}/")


def test_the_agreement_page_shows_its_tiers_in_order_with_their_own_and_default_windows(
    client, world
):
    html = page(client, world.sam, f"/agreements/{world.a.pk}/")

    assert 'data-testid="tier-1"' in html and 'data-testid="tier-2"' in html
    assert html.index(">Demo request<") < html.index(">Enterprise<")
    assert "source in [&quot;demo_request&quot;, &quot;trial&quot;]" in html
    assert "score gte 60" in html and "company_size gte 1000" in html
    assert "15 business minutes (15 min)" in html
    assert "1440 business minutes (24 h) (default)" in html  # Enterprise's next touch


def test_the_version_history_marks_a_change_of_tiers(client, world):
    agreement_update(agreement=world.a, by=world.ada, now=MONDAY_10AM, tiers=[BIG])

    html = page(client, world.sam, f"/agreements/{world.a.pk}/")

    assert 'data-testid="changed-tiers"' in html
    assert "(was 1. Demo request — when source in" in html
    assert (
        "1. Enterprise — when score gte 60 and company_size gte 1000: first touch minutes 60"
        in html
    )


def test_an_agreement_without_tiers_says_so(client, world):
    html = page(client, world.olga, f"/agreements/{world.b.pk}/")
    assert 'data-testid="no-tiers"' in html


def test_the_agreement_list_names_the_tiers(client, world):
    html = page(client, world.sam, "/agreements/")
    assert "Demo request, Enterprise" in html


def test_the_dashboard_shows_first_touch_by_tier(client, world):
    deliver(world, source="demo_request")
    deliver(world, source="webinar", email="w@example.com")

    html = page(client, world.erin, "/compliance/?month=2026-12")

    assert "First touch by tier, 2026-12" in html
    assert 'data-table="sales_by_tier"' in html
    table = html[html.index('data-table="sales_by_tier"') :]
    assert table.index("Demo request") < table.index("default terms")


def test_the_dashboard_leaves_out_tiers_when_no_agreement_has_any(client, world):
    for agreement in (world.a, world.b):
        agreement_update(agreement=agreement, by=world.ada, now=MONDAY_10AM, tiers=[])
    html = page(client, world.erin, "/compliance/?month=2026-12")
    assert "First touch by tier" not in html


def test_the_demo_data_has_a_fast_tier_for_demo_requests(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo")

    fast = LeadTerms.objects.filter(tier="Demo request", agreement__name="Inbound NY")
    assert fast.exists()
    clocks = Clock.objects.filter(lead__terms__in=fast, kind=Clock.Kind.FIRST_TOUCH)
    assert set(clocks.values_list("business_minutes", flat=True)) == {15}


def admin_form_data(client, agreement, **changes) -> dict:
    page = client.get(f"/admin/sla/agreement/{agreement.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: (value.pk if hasattr(value, "pk") else value)
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name != "tiers"
    }
    data.update(
        {
            "effective_from": "2026-01-01",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "1",
            **changes,
        }
    )
    return data


def test_bad_tiers_in_the_admin_are_a_form_error_and_write_nothing(client, world, make_user):
    client.force_login(make_user("root", "admin"))
    bad = json.dumps([DEMO, {**DEMO, "name": "demo request"}])
    data = admin_form_data(client, world.a, tiers=bad, max_callbacks=500)

    response = client.post(f"/admin/sla/agreement/{world.a.pk}/change/", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "is already the name of tiers[0]" in errors["tiers"][0]
    assert "from 0 to 100" in errors["max_callbacks"][0]
    world.a.refresh_from_db()
    assert world.a.version == 1


def test_tiers_edited_in_the_admin_are_a_new_version(client, world, make_user):
    client.force_login(make_user("root", "admin"))
    data = admin_form_data(client, world.a, tiers=json.dumps([BIG]))

    response = client.post(f"/admin/sla/agreement/{world.a.pk}/change/", data)

    assert response.status_code == 302
    world.a.refresh_from_db()
    assert (world.a.version, world.a.tiers) == (2, [BIG])


def test_a_version_frozen_before_tiers_existed_is_not_a_change_of_tiers(client, world):
    first = AgreementVersion.objects.get(agreement=world.b, version=1)
    first.terms = {k: v for k, v in first.terms.items() if k != "tiers"}
    first.save()
    agreement_update(agreement=world.b, by=world.ada, now=MONDAY_10AM, first_touch_minutes=100)

    html = page(client, world.olga, f"/agreements/{world.b.pk}/")

    assert 'data-testid="changed-first_touch_minutes"' in html
    assert 'data-testid="changed-tiers"' not in html
