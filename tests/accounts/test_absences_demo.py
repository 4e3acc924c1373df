"""The demo data has a rep away on holiday today whose open leads were moved, and a cap on
another rep, set once however often it is loaded; the team page shows them."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Absence, Team, User
from leads.models import Lead, OwnerChange

pytestmark = pytest.mark.django_db


def test_the_demo_has_raj_away_with_his_open_leads_moved_and_sofia_capped(client):
    call_command("seed_demo")
    call_command("seed_demo")

    now = timezone.now()
    [absence] = Absence.objects.select_related("user", "created_by")
    assert (absence.user.username, absence.reason) == ("raj", "Holiday")
    assert absence.starts_at <= now < absence.ends_at
    assert absence.created_by.username == "morgan"
    raj = absence.user
    assert not Lead.objects.filter(owner=raj, closed_at__isnull=True).exists()
    moved = OwnerChange.objects.filter(from_owner=raj, reason=OwnerChange.Reason.ABSENCE)
    assert moved.exists()
    assert {c.to_owner.username for c in moved} <= {"sam", "sofia"}
    assert User.objects.get(username="sofia").max_open_leads == 40

    client.force_login(User.objects.get(username="morgan"))
    team = Team.objects.get(name="Inside Sales")
    html = client.get(f"/teams/{team.pk}/").content.decode()
    assert "Holiday" in html and 'value="40"' in html
