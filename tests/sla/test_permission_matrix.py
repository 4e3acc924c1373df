"""Who may do what: every leads and agreements endpoint × every role × whose object.

Relations, seen from the caller:
  own    — a lead the caller owns (marketing: one of their agreement's; executive,
           admin: sam's), or the agreement the caller's team is party to;
  team   — a lead of the caller's sales team owned by someone else (agreement A);
  other  — a lead or agreement of the other teams (agreement B).

Anonymous → 401; an object the caller may not see → 404; one they see but may not act
on → 403. No agreement asks for attempts, so an allowed abandon answers 200.
"""

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import LeadFactory
from tests.sla.lead_world import build_world, lead_body, ny

pytestmark = pytest.mark.django_db

NOW = ny(2026, 12, 7, 10, 0)
ROLES = {
    "marketing": "maria",
    "sales": "sam",
    "sales_manager": "morgan",
    "executive": "erin",
    "admin": "ada",
    "anonymous": None,
}
ROLE_NAMES = list(ROLES)

# --- lead endpoints on one lead: role -> (own, team, other) -------------------------------
READ = {
    "marketing": (200, 200, 404),
    "sales": (200, 404, 404),
    "sales_manager": (200, 200, 404),
    "executive": (200, 200, 200),
    "admin": (200, 200, 200),
    "anonymous": (401, 401, 401),
}


def work(ok: int) -> dict:
    """A sales action: the owner, the team's manager and admins; others see but may not."""
    return {
        "marketing": (403, 403, 404),
        "sales": (ok, 404, 404),
        "sales_manager": (ok, ok, 404),
        "executive": (403, 403, 403),
        "admin": (ok, ok, ok),
        "anonymous": (401, 401, 401),
    }


ASSIGN = {**work(200), "sales": (403, 404, 404)}

LEAD_ENDPOINTS = {
    "detail": ("get", "", None, READ),
    "touch list": ("get", "touches/", None, READ),
    "assign": ("post", "assign/", "ASSIGN", ASSIGN),
    "acknowledge": ("post", "acknowledge/", {}, work(200)),
    "reject": ("post", "reject/", {"reason": "not_icp"}, work(200)),
    "touch": ("post", "touches/", {"kind": "call", "outcome": "no_answer"}, work(201)),
    "stage": ("post", "stage/", {"stage": "engaged"}, work(200)),
    "abandon": ("post", "abandon/", {"reason": "gone quiet"}, work(200)),
}
RELATIONS = ("own", "team", "other")

# --- agreement endpoints: role -> (own, other) --------------------------------------------
AGREEMENT_READ = {
    "marketing": (200, 404),
    "sales": (200, 404),
    "sales_manager": (200, 404),
    "executive": (200, 200),
    "admin": (200, 200),
    "anonymous": (401, 401),
}
AGREEMENT_ENDPOINTS = {
    "detail": ("get", "", None, AGREEMENT_READ),
    "versions": ("get", "versions/", None, AGREEMENT_READ),
    "commitment list": ("get", "commitments/", None, AGREEMENT_READ),
    "edit": (
        "patch",
        "",
        {"sales": {"first_touch_minutes": 120}},
        {**{role: (403, 403) for role in ROLES}, "admin": (200, 200), "anonymous": (401, 401)},
    ),
    "log commitment": (
        "put",
        "commitments/2026-12/",
        {"quota": 150},
        {
            "marketing": (200, 404),
            "sales": (403, 404),
            "sales_manager": (403, 404),
            "executive": (403, 403),
            "admin": (200, 200),
            "anonymous": (401, 401),
        },
    ),
}

# --- collections: role -> status ---------------------------------------------------------
EVERYONE = {**{role: 200 for role in ROLES}, "anonymous": 401}
DELIVERERS = {
    **{role: 403 for role in ROLES},
    "marketing": 201,
    "admin": 201,
    "anonymous": 401,
}
COLLECTIONS = {
    "lead list": ("get", "/api/leads/", EVERYONE),
    "deliver": ("post", "/api/leads/", DELIVERERS),
    "import": ("post", "/api/leads/import/", {**DELIVERERS, "marketing": 200, "admin": 200}),
    "export": ("get", "/api/leads/export.csv", EVERYONE),
    "agreement list": ("get", "/api/agreements/", EVERYONE),
    "create agreement": (
        "post",
        "/api/agreements/",
        {**{role: 403 for role in ROLES}, "admin": 201, "anonymous": 401},
    ),
}


@pytest.fixture
def world():
    world = build_world(attempts_before_abandon=0)
    world.b.attempts_before_abandon = 0
    world.b.save()
    world.leads = {
        "sam": LeadFactory(agreement=world.a, owner=world.sam, created_by=world.maria),
        "morgan": LeadFactory(agreement=world.a, owner=world.morgan),
        "team": LeadFactory(agreement=world.a, owner=world.sofia),
        "other": LeadFactory(agreement=world.b, owner=world.olga),
    }
    return world


def client_for(api_client, world, role):
    if ROLES[role]:
        api_client.force_authenticate(user=world.users[ROLES[role]])
    return api_client


def lead_for(world, role, relation):
    if relation == "own":
        return world.leads["morgan" if role == "sales_manager" else "sam"]
    return world.leads[relation]


def call(client, method, url, body):
    with time_machine.travel(NOW, tick=False):
        return getattr(client, method)(url, body, format="json")


LEAD_CASES = [
    pytest.param(name, role, i, id=f"{name}-{role}-{relation}")
    for name, (_, _, _, table) in LEAD_ENDPOINTS.items()
    for role in ROLE_NAMES
    for i, relation in enumerate(RELATIONS)
]


@pytest.mark.parametrize(("endpoint", "role", "relation"), LEAD_CASES)
def test_lead_endpoint_answers_each_role_as_the_matrix_says(
    api_client, world, endpoint, role, relation
):
    method, path, body, table = LEAD_ENDPOINTS[endpoint]
    lead = lead_for(world, role, RELATIONS[relation])
    if body == "ASSIGN":
        body = {"owner": "olga" if lead.team_id == world.b.sales_team_id else "sofia"}
    response = call(
        client_for(api_client, world, role), method, f"/api/leads/{lead.pk}/{path}", body
    )
    assert response.status_code == table[role][relation], response.content


AGREEMENT_CASES = [
    pytest.param(name, role, i, id=f"{name}-{role}-{relation}")
    for name in AGREEMENT_ENDPOINTS
    for role in ROLE_NAMES
    for i, relation in enumerate(("own", "other"))
]


@pytest.mark.parametrize(("endpoint", "role", "relation"), AGREEMENT_CASES)
def test_agreement_endpoint_answers_each_role_as_the_matrix_says(
    api_client, world, endpoint, role, relation
):
    method, path, body, table = AGREEMENT_ENDPOINTS[endpoint]
    agreement = world.b if relation else world.a
    url = f"/api/agreements/{agreement.pk}/{path}"
    response = call(client_for(api_client, world, role), method, url, body)
    assert response.status_code == table[role][relation], response.content


def collection_body(world, endpoint):
    if endpoint == "deliver":
        return lead_body(agreement=world.a.pk, email="new@example.com")
    if endpoint == "import":
        data = f"email,company_size,agreement\nnew@example.com,120,{world.a.pk}\n".encode()
        return {"file": SimpleUploadedFile("leads.csv", data)}
    if endpoint == "create agreement":
        return {
            "name": "C",
            "marketing_team": world.a.marketing_team_id,
            "sales_team": world.a.sales_team_id,
            "calendar": world.calendar.pk,
            "definition": world.a.definition_id,
            "effective_from": "2027-01-01",
        }
    return None


@pytest.mark.parametrize(
    ("endpoint", "role"),
    [pytest.param(name, role, id=f"{name}-{role}") for name in COLLECTIONS for role in ROLES],
)
def test_collection_endpoint_answers_each_role_as_the_matrix_says(
    api_client, world, endpoint, role
):
    method, url, table = COLLECTIONS[endpoint]
    client = client_for(api_client, world, role)
    body = collection_body(world, endpoint)
    with time_machine.travel(NOW, tick=False):
        if endpoint == "import":
            response = client.post(url, body, format="multipart")
        else:
            response = getattr(client, method)(url, body, format="json")
    assert response.status_code == table[role], response.content


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("marketing", {"sam", "morgan", "team"}),
        ("sales", {"sam"}),
        ("sales_manager", {"sam", "morgan", "team"}),
        ("executive", {"sam", "morgan", "team", "other"}),
        ("admin", {"sam", "morgan", "team", "other"}),
    ],
)
def test_the_lead_list_holds_only_the_leads_the_role_may_see(api_client, world, role, visible):
    response = call(client_for(api_client, world, role), "get", "/api/leads/", None)
    ids = {lead["id"] for lead in response.json()["results"]}
    assert ids == {world.leads[name].pk for name in visible}


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("marketing", {"A"}),
        ("sales", {"A"}),
        ("sales_manager", {"A"}),
        ("executive", {"A", "B"}),
        ("admin", {"A", "B"}),
    ],
)
def test_the_agreement_list_holds_only_the_agreements_the_role_is_party_to(
    api_client, world, role, visible
):
    response = call(client_for(api_client, world, role), "get", "/api/agreements/", None)
    assert {agreement["name"] for agreement in response.json()["results"]} == visible
