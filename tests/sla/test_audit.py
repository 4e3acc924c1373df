"""The audit page: who changed what and when, across the parts that keep history; read only,
for admins and executives, a constant number of queries per page."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, Team
from accounts.services import user_create_or_update
from leads.models import OwnerChange
from sla.agreements import commitment_log
from sla.audit import audit_entries
from sla.models import Flag
from tests.factories import AgreementFactory, LeadFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def entries(**filters):
    return audit_entries(**filters)


def test_a_role_change_is_recorded_with_who_made_it(client):
    ada = UserFactory(username="ada", role=Role.ADMIN, password="!")
    client.force_login(ada)
    user_create_or_update(username="rita", role=Role.SALES)
    user_create_or_update(username="rita", role=Role.SALES_MANAGER)
    [change, created] = [e for e in entries(kind="people") if e.subject.startswith("rita")][:2]
    assert created.action == "created"
    assert ("role", "sales", "sales_manager") in change.changes


def test_a_password_change_is_recorded_but_never_its_hash(client):
    user_create_or_update(username="rita", role=Role.SALES, password="first-Secret-1")
    user_create_or_update(username="rita", role=Role.SALES, password="other-Secret-2")
    [latest] = [e for e in entries(kind="people") if e.note == "password changed"][:1]
    assert latest.subject.startswith("rita")
    assert not any("pbkdf2" in str(change) or "md5" in str(change) for change in latest.changes)
    admin = UserFactory(username="ada", role=Role.ADMIN, password="!")
    client.force_login(admin)
    page = client.get("/audit/?kind=people").content.decode()
    assert "password changed" in page
    assert "pbkdf2_" not in page and "md5$" not in page


def test_team_members_joining_and_leaving_are_recorded():
    team = TeamFactory(name="East", kind=Team.Kind.SALES)
    sam, sofia = UserFactory(username="sam"), UserFactory(username="sofia")
    team.members.add(sam)
    team.members.add(sofia)
    team.members.remove(sam)
    changes = [c for e in entries(kind="teams") for c in e.changes if c[0] == "members"]
    assert ("members", "—", "sam") in changes
    assert ("members", "—", "sofia") in changes
    assert ("members", "sam", "—") in changes


def test_agreement_versions_commitments_reassignments_and_resolutions_are_there():
    agreement = AgreementFactory()
    maria = UserFactory(username="maria", role=Role.MARKETING)
    now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    commitment_log(agreement=agreement, month="2026-12", quota=30, by=maria, now=now)
    commitment_log(agreement=agreement, month="2026-12", quota=25, by=maria, now=now)
    lead = LeadFactory(agreement=agreement)
    sam, sofia, morgan = (
        UserFactory(username="sam"),
        UserFactory(username="sofia"),
        UserFactory(username="morgan", role=Role.SALES_MANAGER),
    )
    OwnerChange.objects.create(lead=lead, from_owner=sam, to_owner=sofia, at=now, by=morgan)
    flag = Flag.objects.create(
        kind=Flag.Kind.FIRST_TOUCH_BREACHED,
        raised_at=now,
        noticed_at=now,
        lead=lead,
        agreement=agreement,
        month="2026-12",
        state=Flag.State.RESOLVED,
        resolved_at=now,
        resolved_by=morgan,
        resolution_note="Customer asked for email only",
    )

    found = entries()
    kinds = {e.kind for e in found}
    assert {"commitments", "assignments", "flags"} <= kinds
    [quota] = [e for e in found if e.kind == "commitments" and e.action == "changed"]
    assert ("quota", "30", "25") in quota.changes
    [moved] = [e for e in found if e.kind == "assignments"]
    assert (moved.who, moved.changes) == ("morgan", [("owner", "sam", "sofia")])
    [resolved] = [e for e in found if e.kind == "flags"]
    assert resolved.who == "morgan" and resolved.note == flag.resolution_note


def test_who_filter_and_paging_by_time(client):
    ada = UserFactory(username="ada", role=Role.ADMIN, password="!")
    for i in range(60):
        user_create_or_update(username=f"user{i:02}", role=Role.SALES)
    client.force_login(ada)
    first = client.get("/audit/?kind=people")
    assert first.status_code == 200
    assert "Older changes" in first.content.decode()
    older = first.content.decode().split('href="?')[-1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/audit/?{older}")
    assert second.status_code == 200
    assert "user00 (Sales rep)" in second.content.decode()
    assert "user00 (Sales rep)" not in first.content.decode()
    unknown = client.get("/audit/?who=nobody")
    assert "Nobody is called nobody" in unknown.content.decode()


def test_a_page_costs_the_same_number_of_queries_however_long_the_history():
    for i in range(3):
        user_create_or_update(username=f"few{i}", role=Role.SALES)
        TeamFactory(name=f"F{i}").members.add(UserFactory(username=f"f{i}"))
    with CaptureQueriesContext(connection) as few:
        entries()
    for i in range(80):
        user_create_or_update(username=f"many{i}", role=Role.SALES)
        TeamFactory(name=f"T{i}").members.add(UserFactory(username=f"m{i}"))
    with CaptureQueriesContext(connection) as many:
        entries()
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 200),
        (Role.EXECUTIVE, 200),
        (Role.MARKETING, 403),
        (Role.SALES, 403),
        (Role.SALES_MANAGER, 403),
    ],
)
def test_only_admins_and_executives_read_it(client, role, status):
    client.force_login(UserFactory(role=role, password="!"))
    response = client.get("/audit/")
    assert response.status_code == status
    if status == 200:
        assert "<form" in response.content.decode()
        assert 'method="post"' not in response.content.decode().split("<main")[-1]


def test_the_who_and_period_filters_keep_only_what_they_name():
    agreement = AgreementFactory()
    maria = UserFactory(username="maria", role=Role.MARKETING)
    priya = UserFactory(username="priya", role=Role.MARKETING)
    old = datetime(2026, 9, 1, 15, 0, tzinfo=UTC)
    now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    lead = LeadFactory(agreement=agreement)
    OwnerChange.objects.create(lead=lead, at=old, by=maria)
    OwnerChange.objects.create(lead=lead, at=now, by=priya)
    by_priya = entries(kind="assignments", who=priya)
    assert [e.who for e in by_priya] == ["priya"]
    recent = entries(kind="assignments", since=datetime(2026, 11, 1, tzinfo=UTC))
    assert [e.at for e in recent] == [now]
    older = entries(kind="assignments", before=now)
    assert [e.at for e in older] == [old]


def test_a_reopened_month_is_recorded_with_who_and_why(client):
    from sla.books import month_reopen

    with time_machine.travel(datetime(2026, 11, 2, 14, 0, tzinfo=UTC), tick=False):
        agreement = AgreementFactory(name="NY")
    ada = UserFactory(username="ada", role=Role.ADMIN, password="!")
    at = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    month_reopen(agreement=agreement, month="2026-11", reason="late CRM sync", by=ada, now=at)

    [entry] = entries(kind="closed months")
    assert (entry.who, entry.subject, entry.action) == ("ada", "2026-11 of NY", "reopened")
    assert entry.note == "late CRM sync" and entry.at == at
    client.force_login(ada)
    page = client.get("/audit/?kind=closed months").content.decode()
    assert "late CRM sync" in page and "2026-11 of NY" in page
