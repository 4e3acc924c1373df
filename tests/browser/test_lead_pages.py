"""A sales rep works a lead from the inbox in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from sla.actions import lead_deliver
from tests.factories import AgreementFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_rep_opens_a_lead_from_the_inbox_and_logs_a_touch(page, tmp_path):
    agreement = AgreementFactory(name="Inbound")
    rep = UserFactory(username="sam", role="sales", first_name="Sam")
    agreement.sales_team.members.add(rep)
    now = timezone.now()
    lead_deliver(
        by=None,
        data={
            "email": "ann@acme.test",
            "first_name": "Ann",
            "last_name": "Lee",
            "company": "Acme",
            "company_size": 100,
            "received_at": now - timedelta(hours=1),
        },
        agreement=agreement,
        now=now,
    )
    page.goto("/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="Ann Lee").click()
    assert re.search(r"\d\d:\d\d E[SD]T", page.get_by_test_id("first-touch-due").inner_text())
    page.get_by_label("Kind").select_option("email")
    page.get_by_label("Outcome").select_option("left_message")
    page.get_by_role("button", name="Log touch").click()
    assert "Touch logged." in page.get_by_role("alert").inner_text()
    assert "Left message" in page.locator("body").inner_text()
    page.screenshot(path=str(tmp_path / "lead.png"), full_page=True)
