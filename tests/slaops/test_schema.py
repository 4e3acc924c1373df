"""The OpenAPI schema describes every endpoint and validates without warnings."""

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    paths = yaml.safe_load(out.read_text())["paths"]
    for endpoint in (
        "/api/calendars/",
        "/api/teams/",
        "/api/stages/",
        "/api/definitions/",
        "/api/agreements/",
        "/api/agreements/{id}/commitments/{month}/",
        "/api/leads/",
        "/api/leads/{id}/touches/",
        "/api/leads/import/",
        "/api/leads/export.csv",
        "/api/flags/",
        "/api/flags/{id}/resolve/",
        "/api/compliance/",
    ):
        assert endpoint in paths, endpoint
