"""Never lose a report, on a touch phone (390x844; issue 13 point 3): a report typed when
the session has ended survives signing in again and sends; signing out clears it; the sign-in
page gives the advice line and 999; staff are warned before a short session ends."""

from urllib.parse import urlparse

import pytest
from django.contrib.sessions.models import Session

from medications.models import SymptomReport
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD, NurseFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_report_typed_after_the_session_ended_is_kept_and_sent(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/new/")
        page.get_by_label("Temperature (°C)").fill("38.3")
        page.locator("input[name=symptom_diarrhoea][value='2']").check()
        page.get_by_label("Anything else you want to tell the team (optional)").fill("Since 6am")
        Session.objects.all().delete()  # the session ends on the server while they type
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Sign in", exact=True).wait_for()
        assert not SymptomReport.objects.exists()
        assert page.get_by_text("What you were typing is kept on this phone").is_visible()
        main = page.locator("main").inner_text()
        assert "0161 446 3658" in main and "999" in main
        assert_accessible(page)
        screenshot(page, "patient-login-draft-kept-phone")
        page.get_by_label("Username").fill(patient.user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").tap()
        page.get_by_role("heading", name="How are you feeling?").wait_for()
        assert page.get_by_text("We kept what you typed").is_visible()
        assert page.get_by_label("Temperature (°C)").input_value() == "38.3"
        assert page.locator("input[name=symptom_diarrhoea][value='2']").is_checked()
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Call your advice line now").wait_for()
        report = SymptomReport.objects.get(patient=patient)
        assert str(report.temperature_c) == "38.3" and report.notes == "Since 6am"
        assert (
            page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tracker-draft'))")
            == []
        )
    finally:
        context.close()


def test_signing_out_clears_what_was_typed(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/new/")
        page.get_by_label("Temperature (°C)").fill("37.9")
        page.get_by_role("button", name="Menu").tap()  # on a phone the links fold
        page.get_by_role("button", name="Sign out").tap()
        page.get_by_role("heading", name="Sign in", exact=True).wait_for()
        assert (
            page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tracker-draft'))")
            == []
        )
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/new/")
        assert page.get_by_label("Temperature (°C)").input_value() == ""
    finally:
        context.close()


def test_staff_are_warned_before_their_session_ends(live_server, browser, settings):
    settings.SESSION_COOKIE_AGE = 125
    settings.SESSION_WARNING_SECONDS = 122
    nurse = NurseFactory()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, nurse.username, PASSWORD)
        # The queue refreshes itself (htmx), and every refresh moves the session's end on,
        # so with a 125 s session the warning would come and go: watch a page that waits.
        page.goto(f"{live_server.url}/nurse/patients/")
        warning = page.get_by_role("alert").filter(has_text="You will be signed out in")
        warning.wait_for(timeout=10_000)
        assert_accessible(page)
        warning.get_by_role("button", name="Stay signed in").tap()
        warning.wait_for(state="hidden")
    finally:
        context.close()


def test_password_reset_and_one_time_link_pages_are_accessible(live_server, browser):
    patient, _ = sorafenib_patient()
    nurse = NurseFactory(teams=[patient.care_team])
    context, page = touch_phone(browser)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("link", name="Forgotten your password?").tap()
        page.get_by_role("heading", name="Forgotten your password").wait_for()
        assert_accessible(page)
        page.get_by_label("E-mail address").fill("nobody@example.org")
        page.get_by_role("button", name="Send me a link").tap()
        page.get_by_role("heading", name="Check your e-mail").wait_for()
        assert_accessible(page)

        sign_in(page, live_server, nurse.username, PASSWORD)
        page.goto(f"{live_server.url}/nurse/patients/{patient.pk}/")
        page.get_by_role("link", name="One-time sign-in link for this patient").tap()
        page.get_by_role("button", name="Make a one-time sign-in link").wait_for()
        assert_accessible(page)
        page.get_by_role("button", name="Make a one-time sign-in link").tap()
        shown = page.get_by_label("One-time sign-in link").input_value()
        link = live_server.url + urlparse(shown).path  # shown on SITE_URL
        assert_accessible(page)
        screenshot(page, "patient-sign-in-link-issued-phone")
        page.get_by_role("button", name="Menu").tap()
        page.get_by_role("button", name="Sign out").tap()
        page.get_by_role("heading", name="Sign in", exact=True).wait_for()
        page.goto(link)
        page.get_by_role("heading", name="Sign in with your link").wait_for()
        assert_accessible(page)
        page.get_by_role("button", name="Sign in", exact=True).tap()
        page.get_by_role("heading", name="Choose a new password").wait_for()
        assert_accessible(page)
        page.get_by_label("New password", exact=True).fill("a-fresh-password-2026")
        page.get_by_label("New password confirmation").fill("a-fresh-password-2026")
        page.get_by_role("button", name="Save my new password").tap()
        page.wait_for_url("**/me/")
        assert "Your new password is saved" in page.locator(".messages").inner_text()
        page.goto(link)
        page.get_by_role("heading", name="This link no longer works").wait_for()
    finally:
        context.close()
