"""`manage.py adduser USERNAME --role ROLE [--team NAME] [--password P]`."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role, Team, User
from tests.accounts.login import log_in

pytestmark = pytest.mark.django_db


def test_adduser_creates_user_with_role_team_and_password():
    call_command(
        "adduser", "rita", "--role", "sales", "--team", "East", "--password", "s3cret-Pass"
    )
    user = User.objects.get(username="rita")
    assert user.role == Role.SALES
    assert user.check_password("s3cret-Pass") is True
    team = Team.objects.get(name="East")
    assert team.kind == Team.Kind.SALES
    assert list(team.members.all()) == [user]


def test_adduser_admin_role_can_use_the_admin_site(client):
    call_command("adduser", "boss", "--role", "admin", "--password", "s3cret-Pass")
    assert log_in(client, "boss", "s3cret-Pass")
    assert client.get("/admin/").status_code == 200


def test_adduser_rerun_updates_instead_of_duplicating():
    call_command("adduser", "rita", "--role", "sales", "--password", "one-Pass-1")
    call_command("adduser", "rita", "--role", "sales_manager", "--password", "two-Pass-2")
    user = User.objects.get(username="rita")
    assert user.role == Role.SALES_MANAGER
    assert user.check_password("two-Pass-2") is True


def test_adduser_refuses_unknown_role():
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("adduser", "rita", "--role", "wizard")
    assert not User.objects.filter(username="rita").exists()


def test_marketing_user_joins_a_marketing_team():
    call_command(
        "adduser", "mia", "--role", "marketing", "--team", "Demand", "--password", "x-Pass-123"
    )
    assert Team.objects.get(name="Demand").kind == Team.Kind.MARKETING
