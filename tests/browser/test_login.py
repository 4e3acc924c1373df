"""The login page in a real browser: log in, see the role's navigation, log out."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sales_rep_logs_in_and_out_in_a_real_browser(page, make_user, tmp_path):
    make_user("sam", "sales", team="East", password="pw-Secret-123")
    page.goto("/")
    assert "/login/" in page.url
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    assert "Sales rep" in page.get_by_test_id("whoami").inner_text()
    page.screenshot(path=str(tmp_path / "home.png"))
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")


def test_wrong_password_shows_an_error_in_the_browser(page, make_user):
    make_user("sam", "sales", password="pw-Secret-123")
    page.goto("/login/")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert (
        page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")
    )
