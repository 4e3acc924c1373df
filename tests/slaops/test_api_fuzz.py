"""Fuzz every API operation from our own OpenAPI schema, as every role, and hold the
answers to the schema: no 500, and every answer one the schema promises.

Schemathesis generates requests (valid and invalid) for each operation and sends them
to the app in-process, with the token of each role, over a small world whose ids exist
(an agreement, its teams, a lead, a flag). The checks:

- not_a_server_error: no 5xx, whatever the input;
- status_code_conformance: the status is one the operation documents (the common
  errors come from core/schema.py's hook, the rest from each view's extend_schema);
- content_type_conformance: the body's media type is a documented one;
- response_schema_conformance: the body matches the documented schema (nullable
  fields marked so, every required field there);
- response_headers_conformance: documented headers are sent.

Each operation gets a handful of examples to keep the suite quick (`schemathesis run`
against a live server is the long soak). On PostgreSQL, as production runs.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from slaops.wsgi import application  # noqa: E402  (after pytest-django set Django up)
from tests.factories import (
    AgreementFactory,
    ClockFactory,
    FlagFactory,
    LeadFactory,
    TeamFactory,
    UserFactory,
)

# Serving the schema reads no table, so it loads at collection time. The admin, who
# reaches every code path, gets schemathesis' coverage phase too (boundaries, missing
# and wrong-typed fields); the other roles, mostly refused or scoped, a few fuzzed cases.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
scoped = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
scoped.config.phases.update(phases=["examples", "fuzzing"])

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the WSGI handler, which closes old connections at each end;
    Django's test client suspends that for the test transaction, and so do we."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def world() -> dict[str, object]:
    """An agreement with both teams staffed, one person per role, a lead with a flag."""
    marketing = TeamFactory(name="Fuzz Marketing", kind="marketing")
    sales = TeamFactory(name="Fuzz Sales", kind="sales")
    agreement = AgreementFactory(name="Fuzzed", marketing_team=marketing, sales_team=sales)
    people = {
        Role.ADMIN: UserFactory(
            username="fuzz-admin", role=Role.ADMIN, is_staff=True, is_superuser=True
        ),
        Role.MARKETING: UserFactory(username="fuzz-marketing", role=Role.MARKETING),
        Role.SALES_MANAGER: UserFactory(username="fuzz-manager", role=Role.SALES_MANAGER),
        Role.SALES: UserFactory(username="fuzz-rep", role=Role.SALES),
        Role.EXECUTIVE: UserFactory(username="fuzz-exec", role=Role.EXECUTIVE),
    }
    marketing.members.add(people[Role.MARKETING])
    sales.members.add(people[Role.SALES_MANAGER], people[Role.SALES])
    received = timezone.now() - timedelta(hours=2)
    lead = LeadFactory(agreement=agreement, owner=people[Role.SALES], received_at=received)
    ClockFactory(lead=lead, started_at=received)
    FlagFactory(agreement=agreement, lead=lead, team=sales, owner=people[Role.SALES])
    return people


@pytest.fixture
def admin_token(db):
    return Token.objects.create(user=world()[Role.ADMIN]).key


@pytest.fixture(params=[Role.MARKETING, Role.SALES_MANAGER, Role.SALES, Role.EXECUTIVE])
def token(request, db):
    return Token.objects.create(user=world()[request.param]).key


@schema.parametrize()
@pytest.mark.django_db
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_answer_to_an_admin_is_one_the_schema_promises(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)


@scoped.parametrize()
@pytest.mark.django_db
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_every_answer_to_each_other_role_is_one_the_schema_promises(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
