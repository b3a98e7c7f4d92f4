import pytest

from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_login_page_renders_accessibly_in_real_chromium(live_server, page, phone_page):
    phone_page.goto(f"{live_server.url}/accounts/login/")
    assert phone_page.get_by_role("heading", name="Sign in").is_visible()
    assert_accessible(phone_page)
    screenshot(phone_page, "login-phone")


@pytest.mark.django_db(transaction=True)
def test_wrong_password_shows_a_message(live_server, page, patient):
    sign_in(page, live_server, patient.user.username, "not-the-password")
    assert page.get_by_role("alert").is_visible()
    assert "did not match" in page.get_by_role("alert").inner_text()
    sign_in(page, live_server, patient.user.username, PASSWORD)
    assert "/accounts/login/" not in page.url
