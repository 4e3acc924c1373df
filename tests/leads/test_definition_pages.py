"""The definition pages and the funnel page, rendered by Django's test client."""

from datetime import UTC, datetime

import pytest
import time_machine

from leads.models import LeadDefinition
from leads.services.definitions import definition_create, definition_update
from tests.factories import CalendarFactory, DefinitionFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(client, role, **extra):
    user = UserFactory(role=role, password="!", **extra)
    client.force_login(user)
    return user


def make_definition(by=None):
    return definition_create(
        by=by,
        name="Mid-market",
        good_lead="A company of 50 or more people.",
        not_a_lead="Students and job seekers.",
        handling="Call within four business hours.",
        qualify_at=50,
        criteria=[
            {"field": "company_size", "op": "gte", "value": 50, "points": 40, "label": "50+ staff"},
            {
                "field": "attributes.industry",
                "op": "in",
                "value": ["Software", "Fintech"],
                "points": 30,
                "label": "Target industry",
            },
        ],
        disqualifiers=[
            {"field": "attributes.student", "op": "eq", "value": True, "label": "Student"}
        ],
    )


def test_pages_need_a_signed_in_user(client):
    definition = DefinitionFactory()
    for url in ("/definitions/", f"/definitions/{definition.pk}/", "/funnel/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_list_shows_each_definition_with_its_version_and_bar(client):
    definition = make_definition()
    signed_in(client, "sales")
    html = client.get("/definitions/").content.decode()
    assert f'href="/definitions/{definition.pk}/"' in html
    assert "v1" in html
    assert "50 points" in html


def test_the_detail_shows_the_terms_criteria_disqualifiers_and_bar(client):
    definition = make_definition()
    signed_in(client, "sales")
    response = client.get(f"/definitions/{definition.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "A company of 50 or more people.",
        "Students and job seekers.",
        "Call within four business hours.",
        "50+ staff",
        "company_size",
        "is at least",
        "Target industry",
        "Software, Fintech",
        "Student",
        "attributes.student",
    ):
        assert text in html, text
    assert 'data-testid="qualify-at">50 points' in html


def test_an_unknown_definition_page_is_404(client):
    signed_in(client, "sales")
    assert client.get("/definitions/999999/").status_code == 404
    assert client.get("/definitions/99999999999999999999999/").status_code == 404


def test_the_history_lists_every_version_with_who_and_when_in_the_viewer_zone(client):
    calendar = CalendarFactory(timezone="America/New_York")
    viewer = signed_in(client, "sales")
    TeamFactory(name="East", calendar=calendar, members=[viewer])
    author = UserFactory(username="maria", role="marketing", password="!")
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        definition = make_definition(by=author)
    with time_machine.travel(datetime(2026, 12, 2, 15, 30, tzinfo=UTC), tick=False):
        definition_update(definition=definition, by=author, qualify_at=70)
    html = client.get(f"/definitions/{definition.pk}/").content.decode()
    assert 'data-testid="version-2"' in html
    assert 'data-testid="version-1"' in html
    assert "Tue 1 Dec 10:00 EST" in html
    assert "Wed 2 Dec 10:30 EST" in html
    assert "by maria" in html
    assert "qualifies at 50 points" in html  # version 1's terms are still shown


def test_times_are_in_utc_for_a_viewer_without_a_team_calendar(client):
    signed_in(client, "executive")
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        definition = make_definition()
    html = client.get(f"/definitions/{definition.pk}/").content.decode()
    assert "Tue 1 Dec 15:00 UTC" in html


def test_the_try_form_offers_the_attribute_keys_the_definition_reads(client):
    definition = make_definition()
    signed_in(client, "sales")
    html = client.get(f"/definitions/{definition.pk}/").content.decode()
    assert "industry = \nstudent = " in html


def try_lead(client, definition, **fields):
    return client.post(f"/definitions/{definition.pk}/try/", fields, HTTP_HX_REQUEST="true")


def test_trying_a_lead_shows_its_score_and_the_criteria_it_met(client):
    definition = make_definition()
    signed_in(client, "sales")
    response = try_lead(client, definition, company_size="120", attributes="industry = software")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a partial for htmx
    assert 'data-testid="score">70<' in html
    assert "Qualifies" in html
    assert "50+ staff" in html and "Target industry" in html


def test_trying_a_struck_lead_names_the_disqualifier(client):
    definition = make_definition()
    signed_in(client, "sales")
    html = try_lead(
        client, definition, company_size="120", attributes="industry = Software\nstudent = true"
    ).content.decode()
    assert "Does not qualify" in html
    assert "Struck by:" in html
    assert "<strong>Student</strong>" in html


def test_a_malformed_try_shows_the_errors_and_no_score(client):
    definition = make_definition()
    signed_in(client, "sales")
    html = try_lead(
        client, definition, company_size="many", attributes="industry software"
    ).content.decode()
    assert "Enter a whole number." in html
    assert "Line 1: write one attribute per line as key = value." in html
    assert 'data-testid="score"' not in html


def test_trying_without_htmx_renders_the_whole_page_with_the_result(client):
    definition = make_definition()
    signed_in(client, "sales")
    response = client.post(f"/definitions/{definition.pk}/try/", {"company_size": "120"})
    html = response.content.decode()
    assert "<html" in html
    assert 'data-testid="score">40<' in html


def test_an_expired_session_sends_htmx_to_the_login_page(client):
    definition = make_definition()
    response = client.post(
        f"/definitions/{definition.pk}/try/",
        {"company_size": "120"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/definitions/{definition.pk}/",
    )
    assert response["HX-Redirect"] == f"/login/?next=/definitions/{definition.pk}/"


def test_try_only_accepts_post(client):
    definition = make_definition()
    signed_in(client, "sales")
    assert client.get(f"/definitions/{definition.pk}/try/").status_code == 405


# --- who may edit -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["marketing", "admin"])
def test_marketing_and_admin_see_an_edit_link(client, role):
    definition = make_definition()
    signed_in(client, role)
    html = client.get(f"/definitions/{definition.pk}/").content.decode()
    assert f'href="/definitions/{definition.pk}/edit/"' in html


def test_the_admin_role_also_sees_a_link_to_the_admin(client):
    definition = make_definition()
    signed_in(client, "admin", is_staff=True, is_superuser=True)
    html = client.get(f"/definitions/{definition.pk}/").content.decode()
    assert f'href="/admin/leads/leaddefinition/{definition.pk}/change/"' in html


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive"])
def test_other_roles_see_no_edit_link_and_may_not_edit(client, role):
    definition = make_definition()
    signed_in(client, role)
    html = client.get(f"/definitions/{definition.pk}/").content.decode()
    assert "/edit/" not in html
    assert client.get(f"/definitions/{definition.pk}/edit/").status_code == 403
    assert client.post(f"/definitions/{definition.pk}/edit/", {"name": "x"}).status_code == 403
    assert client.get("/definitions/new/").status_code == 403


def edit_form(definition, **changes):
    import json

    form = {
        "name": definition.name,
        "good_lead": definition.good_lead,
        "not_a_lead": definition.not_a_lead,
        "handling": definition.handling,
        "qualify_at": definition.qualify_at,
        "criteria": json.dumps(definition.criteria),
        "disqualifiers": json.dumps(definition.disqualifiers),
    }
    return {**form, **changes}


def test_marketing_edits_a_definition_on_the_page_making_a_new_version(client):
    definition = make_definition()
    marketer = signed_in(client, "marketing")
    response = client.post(
        f"/definitions/{definition.pk}/edit/", edit_form(definition, qualify_at=60), follow=True
    )
    assert "Saved as version 2." in response.content.decode()
    definition.refresh_from_db()
    assert (definition.version, definition.qualify_at) == (2, 60)
    assert definition.current_version.created_by == marketer


def test_saving_the_edit_page_unchanged_makes_no_version(client):
    definition = make_definition()
    signed_in(client, "marketing")
    response = client.post(
        f"/definitions/{definition.pk}/edit/", edit_form(definition), follow=True
    )
    assert "Nothing changed: still version 1." in response.content.decode()
    assert definition.versions.count() == 1


def test_a_bad_rule_on_the_edit_page_is_shown_and_nothing_is_saved(client):
    definition = make_definition()
    signed_in(client, "marketing")
    bad = '[{"field": "salary", "op": "eq", "value": 1, "points": 80}]'
    response = client.post(
        f"/definitions/{definition.pk}/edit/", edit_form(definition, criteria=bad)
    )
    assert response.status_code == 200
    assert "rule 1: field &#x27;salary&#x27; is not a lead field" in response.content.decode()
    definition.refresh_from_db()
    assert definition.version == 1


def test_the_edit_page_refuses_json_that_does_not_parse(client):
    definition = make_definition()
    signed_in(client, "marketing")
    response = client.post(
        f"/definitions/{definition.pk}/edit/", edit_form(definition, criteria="[{oops")
    )
    assert "Enter a valid JSON." in response.content.decode()


def test_marketing_creates_a_definition_on_the_page(client):
    signed_in(client, "marketing")
    form = {
        "name": "Enterprise",
        "qualify_at": "40",
        "criteria": '[{"field": "company_size", "op": "gte", "value": 1000, "points": 40}]',
        "disqualifiers": "",
    }
    response = client.post("/definitions/new/", form, follow=True)
    assert "Created Enterprise, version 1." in response.content.decode()
    assert LeadDefinition.objects.get(name="Enterprise").versions.count() == 1


# --- the funnel page ------------------------------------------------------------------------------


def test_the_funnel_page_lists_the_stages_in_order_with_kinds_and_definitions(client):
    signed_in(client, "sales")
    html = client.get("/funnel/").content.decode()
    positions = [
        html.index(f'data-testid="stage-{slug}"')
        for slug in ("aware", "engaged", "customer", "recycled")
    ]
    assert positions == sorted(positions)
    assert 'text-bg-success">Won' in html
    assert 'text-bg-danger">Lost' in html
    assert "A two-way conversation with sales has started." in html


def test_only_the_admin_role_sees_the_edit_link_on_the_funnel_page(client):
    signed_in(client, "marketing")
    assert "/admin/funnel/stage/" not in client.get("/funnel/").content.decode()
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True, password="!"))
    assert "/admin/funnel/stage/" in client.get("/funnel/").content.decode()


# --- the admin ------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True, password="!"))
    return client


def admin_form(definition, **changes):
    form = edit_form(definition, **changes)
    form.update({"versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0"})
    return form


def test_saving_a_definition_in_the_admin_writes_a_version(admin_client):
    definition = make_definition()
    url = f"/admin/leads/leaddefinition/{definition.pk}/change/"
    response = admin_client.post(url, admin_form(definition, qualify_at=65))
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.version, definition.versions.count()) == (2, 2)
    assert definition.current_version.qualify_at == 65


def test_adding_a_definition_in_the_admin_writes_version_one(admin_client):
    form = admin_form(DefinitionFactory.build(name="Enterprise"))
    response = admin_client.post("/admin/leads/leaddefinition/add/", form)
    assert response.status_code == 302
    assert LeadDefinition.objects.get(name="Enterprise").versions.count() == 1


def test_a_bad_rule_in_the_admin_is_a_form_error_and_saves_nothing(admin_client):
    definition = make_definition()
    url = f"/admin/leads/leaddefinition/{definition.pk}/change/"
    bad = '[{"field": "company_size", "op": "gte", "value": "many", "points": 90}]'
    response = admin_client.post(url, admin_form(definition, criteria=bad))
    assert response.status_code == 200
    assert "rule 1: gte needs a number as value" in response.content.decode()
    definition.refresh_from_db()
    assert definition.version == 1


def test_the_admin_shows_versions_and_never_deletes_a_definition(admin_client):
    definition = make_definition()
    html = admin_client.get(f"/admin/leads/leaddefinition/{definition.pk}/change/")
    assert "Lead definition versions" in html.content.decode()
    assert (
        admin_client.get(f"/admin/leads/leaddefinition/{definition.pk}/delete/").status_code == 403
    )


@pytest.mark.parametrize(
    "path",
    ["leads/lead", "leads/touch", "funnel/stagechange", "leads/reasoncode", "funnel/stage"],
)
def test_admin_lists_open(admin_client, path):
    assert admin_client.get(f"/admin/{path}/", {"q": "acme"}).status_code == 200


@pytest.mark.parametrize("path", ["leads/lead", "leads/touch", "funnel/stagechange"])
def test_leads_touches_and_history_are_read_only_in_the_admin(admin_client, path):
    assert admin_client.get(f"/admin/{path}/add/").status_code == 403


def test_a_stage_saved_in_the_admin_is_checked_by_the_model_rules(admin_client):
    from funnel.models import Stage

    engaged = Stage.objects.get(slug="engaged")
    form = {
        "slug": "buying",
        "name": engaged.name,
        "position": engaged.position,
        "kind": "open",
        "is_active": "on",
    }
    response = admin_client.post(f"/admin/funnel/stage/{engaged.pk}/change/", form)
    assert response.status_code == 200
    assert Stage.objects.get(pk=engaged.pk).slug == "engaged"
    form["slug"] = "conversation"
    assert admin_client.post(f"/admin/funnel/stage/{engaged.pk}/change/", form).status_code == 302
    assert Stage.objects.get(pk=engaged.pk).slug == "conversation"
