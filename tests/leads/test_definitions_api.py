"""/api/definitions/ and /api/reason-codes/: the contract, validation, roles, versions, scoring."""

import pytest

from leads.models import LeadDefinition, LeadDefinitionVersion, ReasonCode
from tests.factories import DefinitionFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/definitions/"
BODY = {
    "name": "Mid-market",
    "good_lead": "A company of 50 or more.",
    "not_a_lead": "Students and job seekers.",
    "handling": "Call within four business hours.",
    "qualify_at": 50,
    "criteria": [
        {"field": "company_size", "op": "gte", "value": 50, "points": 40, "label": "50+ staff"},
        {
            "field": "attributes.industry",
            "op": "in",
            "value": ["Software"],
            "points": 20,
            "label": "Software",
        },
    ],
    "disqualifiers": [
        {"field": "attributes.student", "op": "eq", "value": True, "label": "Student"}
    ],
}


def client_as(api_client, role):
    api_client.user = UserFactory(role=role, password="!")  # no hashing: force-authenticated
    api_client.force_authenticate(api_client.user)
    return api_client


@pytest.fixture
def marketing(api_client):
    return client_as(api_client, "marketing")


# --- create and read -------------------------------------------------------------------------


def test_marketing_creates_a_definition_at_version_one(marketing):
    response = marketing.post(URL, BODY, format="json")
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in BODY} == BODY
    assert body["version"] == 1
    assert set(body) == {*BODY, "id", "team", "version", "updated_at", "versions"}
    (version,) = body["versions"]
    assert version["version"] == 1
    assert version["created_by"] == marketing.user.username
    assert version["created_at"]


def test_admin_creates_a_definition(api_client):
    response = client_as(api_client, "admin").post(URL, BODY, format="json")
    assert response.status_code == 201


def test_only_name_is_required_and_the_rest_takes_defaults(marketing):
    response = marketing.post(URL, {"name": "Anyone", "qualify_at": 0}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["criteria"], body["disqualifiers"], body["good_lead"]) == ([], [], "")


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive", "marketing", "admin"])
def test_every_signed_in_role_reads_definitions(api_client, role):
    definition = DefinitionFactory()
    client = client_as(api_client, role)
    listing = client.get(URL)
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    detail = client.get(f"{URL}{definition.pk}/")
    assert detail.json()["name"] == definition.name


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive"])
def test_roles_other_than_marketing_and_admin_may_not_create(api_client, role):
    response = client_as(api_client, role).post(URL, BODY, format="json")
    assert response.status_code == 403
    assert LeadDefinition.objects.count() == 0


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive"])
def test_roles_other_than_marketing_and_admin_may_not_edit(api_client, role):
    definition = DefinitionFactory()
    client = client_as(api_client, role)
    assert (
        client.patch(f"{URL}{definition.pk}/", {"qualify_at": 10}, format="json").status_code == 403
    )
    assert client.put(f"{URL}{definition.pk}/", BODY, format="json").status_code == 403
    definition.refresh_from_db()
    assert definition.version == 1


def test_anonymous_callers_get_401(api_client):
    definition = DefinitionFactory()
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, BODY, format="json").status_code == 401
    assert api_client.post(f"{URL}{definition.pk}/score/", {}, format="json").status_code == 401


def test_an_unknown_definition_is_404(marketing):
    assert marketing.get(f"{URL}999999/").status_code == 404
    assert marketing.get(f"{URL}nope/").status_code == 404
    assert marketing.get(f"{URL}99999999999999999999999/").status_code == 404
    assert marketing.patch(f"{URL}999999/", {"qualify_at": 1}, format="json").status_code == 404


def test_definitions_are_never_deleted(api_client):
    definition = DefinitionFactory()
    response = client_as(api_client, "admin").delete(f"{URL}{definition.pk}/")
    assert response.status_code == 405
    assert LeadDefinition.objects.filter(pk=definition.pk).exists()


# --- edits are versions ------------------------------------------------------------------------


def test_patch_creates_the_next_version_and_lists_it(marketing):
    definition_id = marketing.post(URL, BODY, format="json").json()["id"]
    response = marketing.patch(f"{URL}{definition_id}/", {"qualify_at": 60}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["qualify_at"], body["name"]) == (2, 60, "Mid-market")
    assert [v["version"] for v in body["versions"]] == [2, 1]


def test_put_replaces_the_terms_in_a_new_version(marketing):
    definition_id = marketing.post(URL, BODY, format="json").json()["id"]
    replacement = {"name": "Mid-market", "qualify_at": 40, "criteria": BODY["criteria"]}
    body = marketing.put(f"{URL}{definition_id}/", replacement, format="json").json()
    assert (body["version"], body["good_lead"], body["disqualifiers"]) == (2, "", [])


def test_a_patch_that_changes_nothing_keeps_the_version(marketing):
    definition_id = marketing.post(URL, BODY, format="json").json()["id"]
    body = marketing.patch(f"{URL}{definition_id}/", {"qualify_at": 50}, format="json").json()
    assert body["version"] == 1
    assert len(body["versions"]) == 1


def test_a_frozen_version_is_served_as_it_was(marketing):
    definition_id = marketing.post(URL, BODY, format="json").json()["id"]
    marketing.patch(f"{URL}{definition_id}/", {"qualify_at": 60, "handling": "Now"}, format="json")
    response = marketing.get(f"{URL}{definition_id}/versions/1/")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in BODY} == BODY
    assert (body["definition"], body["version"]) == (definition_id, 1)
    assert body["created_by"] == marketing.user.username
    assert marketing.get(f"{URL}{definition_id}/versions/2/").json()["qualify_at"] == 60


def test_a_version_that_does_not_exist_is_404(marketing):
    definition = DefinitionFactory()
    assert marketing.get(f"{URL}{definition.pk}/versions/2/").status_code == 404
    assert marketing.get(f"{URL}{definition.pk}/versions/99999999999999/").status_code == 404


def test_versions_of_another_definition_are_not_served_under_this_one(marketing):
    mine, other = DefinitionFactory(), DefinitionFactory()
    response = marketing.get(f"{URL}{mine.pk}/versions/1/")
    assert response.json()["definition"] == mine.pk
    assert response.json()["name"] != other.name


# --- validation: 400 naming the field, nothing changed -----------------------------------------


BAD_FIELDS = [
    ("name", {"name": ""}),
    ("name", {"name": None}),
    ("name", {"name": "x" * 201}),
    ("good_lead", {"good_lead": None}),
    ("not_a_lead", {"not_a_lead": ["a"]}),
    ("handling", {"handling": {"a": 1}}),
    ("qualify_at", {"qualify_at": -1}),
    ("qualify_at", {"qualify_at": "lots"}),
    ("qualify_at", {"qualify_at": 10**12}),
    ("qualify_at", {"qualify_at": 61}),
    ("criteria", {"criteria": "company_size >= 50"}),
    ("criteria", {"criteria": [{"field": "salary", "op": "eq", "value": 1, "points": 1}]}),
    ("criteria", {"criteria": [{"field": "country", "op": "near", "value": 1, "points": 1}]}),
    ("criteria", {"criteria": [{"field": "country", "op": "eq", "value": "CA"}]}),
    (
        "criteria",
        {"criteria": [{"field": "company_size", "op": "gte", "value": "many", "points": 60}]},
    ),
    ("criteria", {"criteria": None}),
    ("disqualifiers", {"disqualifiers": [{"field": "country", "op": "in", "value": "CA"}]}),
    ("disqualifiers", {"disqualifiers": {"field": "country"}}),
    (
        "disqualifiers",
        {"disqualifiers": [{"field": "country", "op": "eq", "value": "CA", "label": 3}]},
    ),
]


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS)
def test_a_bad_create_answers_400_naming_the_field_and_creates_nothing(marketing, field, change):
    body = {**BODY, "criteria": [{**BODY["criteria"][0], "points": 60}], **change}
    response = marketing.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert LeadDefinition.objects.count() == 0


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS)
def test_a_bad_edit_answers_400_naming_the_field_and_changes_nothing(marketing, field, change):
    definition = DefinitionFactory()
    response = marketing.patch(f"{URL}{definition.pk}/", change, format="json")
    assert response.status_code == 400
    assert field in response.json()
    definition.refresh_from_db()
    assert (definition.version, definition.versions.count()) == (1, 1)


def test_rule_errors_name_the_rule_and_what_is_wrong(marketing):
    bad = [BODY["criteria"][0], {"field": "country", "op": "near", "value": "CA", "points": 1}]
    response = marketing.post(URL, {**BODY, "criteria": bad}, format="json")
    assert response.json() == {
        "criteria": ["rule 2: op 'near' is not one of eq, neq, in, contains, gte, lte, exists"]
    }


def test_a_taken_name_answers_400_naming_name(marketing):
    DefinitionFactory(name="Mid-market")
    response = marketing.post(URL, BODY, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_a_body_that_is_not_json_is_400_not_500(marketing):
    response = marketing.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


# --- try a lead ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive", "marketing", "admin"])
def test_any_signed_in_role_may_try_a_lead_against_a_definition(api_client, role):
    definition = DefinitionFactory()
    response = client_as(api_client, role).post(
        f"{URL}{definition.pk}/score/", {"company_size": 75}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "version": 1,
        "score": 60,
        "qualifies": True,
        "score_explanation": [{"label": "50+ staff", "points": 60}],
        "disqualified_by": [],
    }


def test_trying_a_lead_shows_the_disqualifier_that_struck_it(marketing):
    definition = DefinitionFactory()
    body = {"company_size": 500, "attributes": {"student": True}}
    result = marketing.post(f"{URL}{definition.pk}/score/", body, format="json").json()
    assert (result["score"], result["qualifies"], result["disqualified_by"]) == (
        60,
        False,
        ["Student"],
    )


def test_trying_a_lead_scores_against_the_current_version(marketing):
    definition = DefinitionFactory()
    marketing.patch(
        f"{URL}{definition.pk}/",
        {
            "qualify_at": 61,
            "criteria": [
                {"field": "company_size", "op": "gte", "value": 50, "points": 70, "label": "Big"}
            ],
        },
        format="json",
    )
    result = marketing.post(f"{URL}{definition.pk}/score/", {"company_size": 60}, format="json")
    assert result.json()["version"] == 2
    assert result.json()["score_explanation"] == [{"label": "Big", "points": 70}]


def test_trying_a_lead_saves_nothing(marketing):
    definition = DefinitionFactory()
    marketing.post(f"{URL}{definition.pk}/score/", {"company_size": 60}, format="json")
    assert LeadDefinitionVersion.objects.count() == 1
    from leads.models import Lead

    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("company_size", {"company_size": "lots"}),
        ("company_size", {"company_size": -3}),
        ("attributes", {"attributes": ["student"]}),
        ("email", {"email": "x" * 255}),
    ],
)
def test_trying_a_malformed_lead_answers_400_naming_the_field(marketing, field, body):
    definition = DefinitionFactory()
    response = marketing.post(f"{URL}{definition.pk}/score/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_trying_a_lead_on_an_unknown_definition_is_404(marketing):
    assert marketing.post(f"{URL}999999/score/", {}, format="json").status_code == 404


# --- reason codes -------------------------------------------------------------------------------

CODES = "/api/reason-codes/"


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive", "marketing", "admin"])
def test_every_signed_in_role_lists_reason_codes(api_client, role):
    response = client_as(api_client, role).get(CODES)
    assert response.status_code == 200
    codes = {item["code"] for item in response.json()["results"]}
    assert {"not_icp", "no_budget", "bad_contact", "duplicate", "student_or_job_seeker"} <= codes


def test_reason_codes_can_be_listed_active_only(api_client):
    ReasonCode.objects.filter(code="duplicate").update(is_active=False)
    response = client_as(api_client, "sales").get(CODES, {"is_active": "true"})
    assert "duplicate" not in {item["code"] for item in response.json()["results"]}


def test_admin_adds_and_retires_a_reason_code(api_client):
    admin = client_as(api_client, "admin")
    created = admin.post(CODES, {"code": "wrong_region", "label": "Wrong region"}, format="json")
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "code": "wrong_region",
        "label": "Wrong region",
        "is_active": True,
        "position": 0,
    }
    retired = admin.patch(f"{CODES}{created.json()['id']}/", {"is_active": False}, format="json")
    assert retired.json()["is_active"] is False


@pytest.mark.parametrize("role", ["sales", "sales_manager", "executive", "marketing"])
def test_only_the_admin_role_writes_reason_codes(api_client, role):
    client = client_as(api_client, role)
    response = client.post(CODES, {"code": "wrong_region", "label": "Wrong region"}, format="json")
    assert response.status_code == 403
    code = ReasonCode.objects.get(code="no_budget")
    assert client.patch(f"{CODES}{code.pk}/", {"label": "x"}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("code", {"code": "not a slug", "label": "x"}),
        ("code", {"code": "no_budget", "label": "x"}),
        ("code", {"label": "x"}),
        ("label", {"code": "fine"}),
        ("position", {"code": "fine", "label": "x", "position": -1}),
    ],
)
def test_a_bad_reason_code_answers_400_naming_the_field(api_client, field, body):
    response = client_as(api_client, "admin").post(CODES, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_reason_codes_are_not_deleted(api_client):
    code = ReasonCode.objects.get(code="no_budget")
    assert client_as(api_client, "admin").delete(f"{CODES}{code.pk}/").status_code == 405
