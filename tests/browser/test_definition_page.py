"""A lead definition in a real browser: read it, try a lead, see why it scored what it did."""

import pytest

from leads.services.definitions import definition_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def test_a_sales_rep_tries_a_lead_and_sees_the_score_explained(page, make_user):
    make_user("sam", "sales", team="East")
    definition = definition_create(
        by=make_user("maria", "marketing"),
        name="Mid-market",
        good_lead="A company of 50 or more people in our industries.",
        not_a_lead="Students and job seekers.",
        handling="Call within four business hours.",
        qualify_at=50,
        criteria=[
            {"field": "company_size", "op": "gte", "value": 50, "points": 40, "label": "50+ staff"},
            {
                "field": "attributes.industry",
                "op": "in",
                "value": ["Software", "Fintech"],
                "points": 30,
                "label": "Target industry",
            },
        ],
        disqualifiers=[
            {"field": "attributes.student", "op": "eq", "value": True, "label": "Student"}
        ],
    )
    log_in(page, "sam")
    page.get_by_role("link", name="Definitions").first.click()
    page.get_by_role("link", name="Mid-market").click()
    page.wait_for_url(f"**/definitions/{definition.pk}/")
    assert page.get_by_test_id("qualify-at").inner_text() == "50 points"
    assert page.get_by_role("link", name="Edit").count() == 0

    page.get_by_label("Company size").fill("120")
    page.get_by_label("Attributes").fill("industry = software\nstudent = ")
    page.get_by_role("button", name="Score this lead").click()

    result = page.get_by_test_id("score-result")
    result.wait_for()
    assert page.get_by_test_id("score").inner_text() == "70"
    assert "Qualifies" in result.inner_text()
    explanation = page.get_by_test_id("score-explanation").inner_text()
    assert "50+ staff" in explanation and "Target industry" in explanation
    assert page.url.endswith(f"/definitions/{definition.pk}/")  # swapped in place by htmx
    result.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/definition.png", full_page=True)

    page.get_by_label("Attributes").fill("industry = software\nstudent = true")
    page.get_by_role("button", name="Score this lead").click()
    page.get_by_test_id("disqualified-by").wait_for()
    assert "Student" in page.get_by_test_id("disqualified-by").inner_text()
    assert "Does not qualify" in page.get_by_test_id("score-result").inner_text()


def test_the_version_history_expands_to_show_the_terms_of_a_past_version(page, make_user):
    from leads.services.definitions import definition_update

    maria = make_user("maria", "marketing")
    definition = definition_create(
        by=maria,
        name="Mid-market",
        qualify_at=40,
        criteria=[
            {"field": "company_size", "op": "gte", "value": 50, "points": 40, "label": "50+ staff"}
        ],
    )
    definition_update(
        definition=definition,
        by=maria,
        criteria=[
            {
                "field": "company_size",
                "op": "gte",
                "value": 200,
                "points": 40,
                "label": "200+ staff",
            }
        ],
    )
    log_in(page, "maria")
    page.goto(f"/definitions/{definition.pk}/")
    first = page.get_by_test_id("version-1")
    assert not first.get_by_text("50+ staff").is_visible()
    first.locator("summary").click()
    assert first.get_by_text("50+ staff").is_visible()
    assert "by maria" in first.locator("summary").inner_text()
    assert page.get_by_role("link", name="Edit", exact=True).is_visible()
