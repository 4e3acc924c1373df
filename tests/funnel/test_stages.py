"""Funnel stages: the default funnel, /api/stages/, and the funnel's counts and conversion."""

from datetime import UTC, datetime, timedelta

import pytest

from funnel.models import Stage, StageChange
from funnel.selectors import conversion, stage_counts
from leads.models import Lead
from tests.factories import LeadFactory, UserFactory, stage

pytestmark = pytest.mark.django_db

URL = "/api/stages/"
BODY = {
    "slug": "nurturing",
    "name": "Nurturing",
    "position": 95,
    "entry_definition": "Not ready to buy; marketing keeps in touch.",
    "exit_definition": "They re-engage.",
    "kind": "open",
}
T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def client_as(api_client, role):
    api_client.force_authenticate(UserFactory(role=role, password="!"))
    return api_client


# --- the default funnel ----------------------------------------------------------------------


def test_the_default_funnel_is_seeded_in_order_with_its_kinds():
    assert list(Stage.objects.values_list("slug", "kind")) == [
        ("aware", "open"),
        ("interacting", "open"),
        ("engaged", "open"),
        ("investigating", "open"),
        ("buying", "open"),
        ("customer", "won"),
        ("promoter", "won"),
        ("disqualified", "lost"),
        ("recycled", "lost"),
    ]


def test_every_default_open_stage_says_how_to_enter_and_leave_it():
    for open_stage in Stage.objects.filter(kind="open"):
        assert open_stage.entry_definition and open_stage.exit_definition, open_stage.slug


# --- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive", "marketing", "admin"])
def test_every_signed_in_role_reads_the_stages_in_order(api_client, role):
    response = client_as(api_client, role).get(URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["slug"] for item in results][:3] == ["aware", "interacting", "engaged"]
    assert set(results[0]) == {*BODY, "id", "is_active", "reopenable"}


def test_anonymous_callers_get_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_admin_adds_a_stage(api_client):
    response = client_as(api_client, "admin").post(URL, BODY, format="json")
    assert response.status_code == 201
    assert response.json() == {
        **BODY,
        "id": response.json()["id"],
        "is_active": True,
        "reopenable": False,
    }
    assert Stage.objects.get(slug="nurturing").position == 95


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive", "marketing"])
def test_only_the_admin_role_changes_stages(api_client, role):
    client = client_as(api_client, role)
    assert client.post(URL, BODY, format="json").status_code == 403
    engaged = stage("engaged")
    assert client.patch(f"{URL}{engaged.pk}/", {"name": "X"}, format="json").status_code == 403
    assert client.delete(f"{URL}{engaged.pk}/").status_code == 403
    assert Stage.objects.get(pk=engaged.pk).name == "Engaged"


def test_admin_renames_and_deactivates_a_stage(api_client):
    engaged = stage("engaged")
    response = client_as(api_client, "admin").patch(
        f"{URL}{engaged.pk}/", {"name": "In conversation", "is_active": False}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["is_active"]) == ("In conversation", False)


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("slug", {"slug": "Not a slug!"}),
        ("slug", {"slug": "engaged"}),
        ("slug", {"slug": ""}),
        ("slug", {"slug": "x" * 51}),
        ("name", {"name": ""}),
        ("position", {"position": -1}),
        ("position", {"position": "first"}),
        ("kind", {"kind": "maybe"}),
        ("is_active", {"is_active": "perhaps"}),
        ("entry_definition", {"entry_definition": None}),
    ],
)
def test_a_bad_stage_answers_400_naming_the_field_and_changes_nothing(api_client, field, change):
    response = client_as(api_client, "admin").post(URL, {**BODY, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Stage.objects.filter(slug=BODY["slug"]).exists()
    assert Stage.objects.count() == 9


def test_a_slug_taken_by_another_stage_is_refused_on_edit(api_client):
    engaged = stage("engaged")
    response = client_as(api_client, "admin").patch(
        f"{URL}{engaged.pk}/", {"slug": "buying"}, format="json"
    )
    assert response.status_code == 400
    assert "slug" in response.json()
    assert Stage.objects.get(pk=engaged.pk).slug == "engaged"


def test_an_unused_stage_can_be_deleted(api_client):
    admin = client_as(api_client, "admin")
    created = admin.post(URL, BODY, format="json").json()
    assert admin.delete(f"{URL}{created['id']}/").status_code == 204
    assert not Stage.objects.filter(slug="nurturing").exists()


def test_deleting_a_stage_with_leads_in_it_is_409_suggesting_to_deactivate(api_client):
    LeadFactory(stage=stage("engaged"))
    response = client_as(api_client, "admin").delete(f"{URL}{stage('engaged').pk}/")
    assert response.status_code == 409
    assert "1 lead is in stage 'engaged'" in response.json()["detail"]
    assert "deactivate" in response.json()["detail"]
    assert Stage.objects.filter(slug="engaged").exists()


def test_deleting_a_stage_named_in_the_history_is_409(api_client):
    lead = LeadFactory(stage=stage("buying"))
    StageChange.objects.create(
        lead=lead, from_stage=stage("engaged"), to_stage=stage("buying"), at=T0
    )
    response = client_as(api_client, "admin").delete(f"{URL}{stage('engaged').pk}/")
    assert response.status_code == 409
    assert "history" in response.json()["detail"]


def test_an_unknown_stage_is_404(api_client):
    admin = client_as(api_client, "admin")
    assert admin.get(f"{URL}999999/").status_code == 404
    assert admin.delete(f"{URL}999999/").status_code == 404
    assert admin.get(f"{URL}99999999999999999999999/").status_code == 404


# --- selectors ---------------------------------------------------------------------------------


def test_stage_counts_gives_every_active_stage_in_order_with_its_leads():
    LeadFactory.create_batch(2, stage=stage("engaged"))
    LeadFactory(stage=stage("customer"))
    counts = stage_counts(Lead.objects.all())
    assert [(c.stage.slug, c.count) for c in counts] == [
        ("aware", 0),
        ("interacting", 0),
        ("engaged", 2),
        ("investigating", 0),
        ("buying", 0),
        ("customer", 1),
        ("promoter", 0),
        ("disqualified", 0),
        ("recycled", 0),
    ]


def test_stage_counts_counts_only_the_leads_it_is_given():
    mine = LeadFactory(stage=stage("engaged"))
    LeadFactory(stage=stage("engaged"))
    counts = {c.stage.slug: c.count for c in stage_counts(Lead.objects.filter(pk=mine.pk))}
    assert counts["engaged"] == 1


def test_an_inactive_stage_is_counted_only_while_leads_are_in_it():
    Stage.objects.filter(slug__in=["promoter", "recycled"]).update(is_active=False)
    LeadFactory(stage=stage("recycled"))
    slugs = [c.stage.slug for c in stage_counts(Lead.objects.all())]
    assert "promoter" not in slugs
    assert "recycled" in slugs


def move(lead, to_slug, minutes, from_slug=None):
    return StageChange.objects.create(
        lead=lead,
        from_stage=stage(from_slug) if from_slug else None,
        to_stage=stage(to_slug),
        at=T0 + timedelta(minutes=minutes),
    )


def test_conversion_is_the_share_of_leads_entering_one_stage_that_later_reach_another():
    leads = LeadFactory.create_batch(4)
    for lead in leads:
        move(lead, "interacting", 0)
    move(leads[0], "engaged", 10, "interacting")
    move(leads[1], "engaged", 20, "interacting")
    move(leads[1], "customer", 30, "engaged")
    result = conversion(StageChange.objects.all(), "interacting", "engaged")
    assert (result.entered, result.reached, result.percent) == (4, 2, 50.0)


def test_reaching_the_target_before_entering_the_start_does_not_count():
    lead = LeadFactory()
    move(lead, "engaged", 0)
    move(lead, "interacting", 10, "engaged")
    result = conversion(StageChange.objects.all(), "interacting", "engaged")
    assert (result.entered, result.reached) == (1, 0)


def test_a_lead_that_enters_both_stages_repeatedly_counts_once():
    lead = LeadFactory()
    for minutes in (0, 20):
        move(lead, "interacting", minutes)
        move(lead, "engaged", minutes + 10, "interacting")
    result = conversion(StageChange.objects.all(), "interacting", "engaged")
    assert (result.entered, result.reached, result.percent) == (1, 1, 100.0)


def test_moves_at_the_same_instant_are_ordered_as_they_were_recorded():
    lead = LeadFactory()
    move(lead, "interacting", 0)
    move(lead, "engaged", 0, "interacting")
    assert conversion(StageChange.objects.all(), "interacting", "engaged").reached == 1


def test_conversion_counts_only_the_history_it_is_given():
    mine, other = LeadFactory(), LeadFactory()
    for lead in (mine, other):
        move(lead, "interacting", 0)
    move(other, "engaged", 5, "interacting")
    result = conversion(StageChange.objects.filter(lead=mine), "interacting", "engaged")
    assert (result.entered, result.reached, result.percent) == (1, 0, 0.0)


def test_conversion_with_nobody_entering_has_no_percentage():
    result = conversion(StageChange.objects.all(), "interacting", "engaged")
    assert (result.entered, result.reached, result.percent) == (0, 0, None)


def test_conversion_percent_has_one_decimal():
    leads = LeadFactory.create_batch(3)
    for lead in leads:
        move(lead, "interacting", 0)
    move(leads[0], "engaged", 5, "interacting")
    assert conversion(StageChange.objects.all(), "interacting", "engaged").percent == 33.3
