"""The admin calls the same services: editing an agreement there writes a new version."""

import pytest

from sla.models import Agreement, MonthlyCommitment
from tests.factories import AgreementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("ada", "admin"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "sla/agreement",
        "sla/monthlycommitment",
        "sla/clock",
        "sla/flag",
        "sla/notification",
        "calendars/businesscalendar",
    ],
)
def test_admin_lists_open_for_the_admin_role(admin_client, model):
    AgreementFactory()
    assert admin_client.get(f"/admin/{model}/").status_code == 200


def test_editing_an_agreement_in_the_admin_writes_a_new_version(admin_client):
    agreement = AgreementFactory(name="Inbound")
    page = admin_client.get(f"/admin/sla/agreement/{agreement.pk}/change/")
    form = page.context["adminform"].form
    data = {
        name: (value.pk if hasattr(value, "pk") else value)
        for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    data.update(
        {
            "first_touch_minutes": 120,
            "effective_from": "2026-01-01",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "1",
        }
    )
    response = admin_client.post(f"/admin/sla/agreement/{agreement.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    agreement = Agreement.objects.get(pk=agreement.pk)
    assert (agreement.version, agreement.first_touch_minutes) == (2, 120)
    assert agreement.versions.get(version=1).terms["first_touch_minutes"] == 240


def test_logging_a_commitment_in_the_admin_records_who(admin_client):
    agreement = AgreementFactory(name="Inbound")
    response = admin_client.post(
        "/admin/sla/monthlycommitment/add/",
        {"agreement": agreement.pk, "month": "2026-12", "quota": 90, "note": "admin"},
    )
    assert response.status_code == 302
    commitment = MonthlyCommitment.objects.get(agreement=agreement, month="2026-12")
    assert (commitment.quota, commitment.logged_by.username) == (90, "ada")


def test_a_malformed_month_in_the_admin_is_a_form_error_not_a_crash(admin_client):
    agreement = AgreementFactory(name="Inbound")
    response = admin_client.post(
        "/admin/sla/monthlycommitment/add/",
        {"agreement": agreement.pk, "month": "2026-13", "quota": 90, "note": ""},
    )
    assert response.status_code == 200
    assert "Give the month as YYYY-MM." in response.content.decode()
    assert not MonthlyCommitment.objects.exists()
