"""Fuzz every API operation from our own OpenAPI schema: no input may answer 500.

Schemathesis generates requests (valid and invalid) for each operation and sends them
to the app in-process, as an admin (who reaches every code path), over a small world
whose ids exist. Each operation gets a handful of examples to keep the suite quick;
run `schemathesis run` against a live server for a long soak.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from slaops.wsgi import application  # noqa: E402  (after pytest-django set Django up)
from tests.factories import AgreementFactory, UserFactory

# Serving the schema reads no table, so it loads at collection time.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the WSGI handler, which closes old connections at each end;
    Django's test client suspends that for the test transaction, and so do we."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db):
    agreement = AgreementFactory(name="Fuzzed")
    rep = UserFactory(username="fuzz-rep", role="sales")
    agreement.sales_team.members.add(rep)
    admin = UserFactory(username="fuzz-admin", role="admin", is_staff=True, is_superuser=True)
    return Token.objects.create(user=admin).key


@schema.parametrize()
@pytest.mark.django_db
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_answers_500(case, admin_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {admin_token}"}, checks=[not_a_server_error]
    )
