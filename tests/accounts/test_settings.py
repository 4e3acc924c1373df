"""A person's settings page: the time zone they read times in, and their notifications."""

import pytest

from accounts.models import FLAG_KINDS, NotificationPreference, Role
from sla.models import Flag
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(client):
    user = UserFactory(username="sam", role=Role.SALES)
    client.force_login(user)
    return user


def form_data(**changes) -> dict:
    data = {"time_zone": ""}
    for kind, _ in FLAG_KINDS:
        data[f"email_{kind}"] = "at_once"
        data[f"chat_{kind}"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_kinds_offered_are_exactly_the_kinds_of_flag():
    assert list(Flag.Kind.choices) == FLAG_KINDS


def test_every_role_opens_its_settings_page(client):
    for role in Role.values:
        client.force_login(UserFactory(username=f"p-{role}", role=role))
        response = client.get("/settings/")
        assert response.status_code == 200, role
        assert b'name="time_zone"' in response.content


def test_signed_out_visitors_are_sent_to_log_in(client):
    response = client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_valid_zone_is_saved_and_the_page_says_so(client, sam):
    response = client.post("/settings/", form_data(time_zone="Europe/Paris"), follow=True)
    sam.refresh_from_db()
    assert sam.time_zone == "Europe/Paris"
    assert b"Your settings are saved." in response.content


def test_an_unknown_zone_is_refused_beside_the_field_and_nothing_changes(client, sam):
    response = client.post(
        "/settings/", form_data(time_zone="Mars/Olympus", email_first_touch_at_risk="off")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Mars/Olympus is not a time zone" in html
    assert 'id="zone-error"' in html and "is-invalid" in html
    sam.refresh_from_db()
    assert sam.time_zone == ""
    assert not NotificationPreference.objects.exists()


def test_an_unknown_email_choice_is_refused_beside_its_field(client, sam):
    response = client.post("/settings/", form_data(email_first_touch_breached="sms"))
    assert response.status_code == 400
    assert "Select a valid choice. sms is not one of the available choices." in (
        response.content.decode()
    )


def test_only_the_choices_that_differ_from_the_default_are_stored(client, sam):
    client.post(
        "/settings/",
        form_data(email_first_touch_breached="digest", chat_premature_abandon=None),
    )
    stored = {(p.kind, p.email, p.chat) for p in sam.notification_preferences.all()}
    assert stored == {
        ("first_touch_breached", "digest", True),
        ("premature_abandon", "at_once", False),
    }


def test_each_role_is_offered_the_kinds_that_can_reach_it(client):
    offered = {}
    for role in Role.values:
        client.force_login(UserFactory(username=f"k-{role}", role=role))
        html = client.get("/settings/").content.decode()
        offered[role] = {kind for kind, _ in FLAG_KINDS if f'data-testid="pref-{kind}"' in html}
    month = {"quota_at_risk", "quota_shortfall", "quality_shortfall"}
    everything = {kind for kind, _ in FLAG_KINDS}
    assert offered["marketing"] == month
    assert offered["sales"] == offered["sales_manager"] == everything - month
    assert offered["executive"] == offered["admin"] == everything


def test_saving_leaves_the_kinds_not_offered_alone(client, sam):
    NotificationPreference.objects.create(user=sam, kind="quota_shortfall", email="off")
    client.post("/settings/", form_data())
    assert sam.notification_preferences.filter(kind="quota_shortfall", email="off").exists()


def test_the_page_shows_what_now_reads_in_the_chosen_zone(client, sam):
    sam.time_zone = "Asia/Tokyo"
    sam.save()
    html = client.get("/settings/").content.decode()
    assert "JST</time>" in html


def test_changing_back_to_the_default_removes_the_row_and_the_form_shows_what_is_stored(
    client, sam
):
    client.post("/settings/", form_data(email_premature_abandon="off", chat_premature_abandon=None))
    page = client.get("/settings/").content.decode()
    assert '<option value="off" selected>' in page
    client.post("/settings/", form_data())
    assert not sam.notification_preferences.exists()


def test_a_blank_zone_means_each_calendars_own_zone(client, sam):
    sam.time_zone = "Asia/Tokyo"
    sam.save()
    client.post("/settings/", form_data(time_zone="  "))
    sam.refresh_from_db()
    assert sam.time_zone == ""


def test_the_zone_validator_also_guards_the_model():
    from django.core.exceptions import ValidationError

    user = UserFactory(username="erin", role=Role.EXECUTIVE)
    user.time_zone = "Not/AZone"
    with pytest.raises(ValidationError) as error:
        user.full_clean(exclude=["password"])
    assert "time_zone" in error.value.message_dict
