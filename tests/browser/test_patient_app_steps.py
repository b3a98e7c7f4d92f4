"""The symptom report in steps on a touch phone (390x844; issue 13 point 6): one symptom
in at most 3 screens, a temperature in 3, a warning sign sent from the second, the answers
kept across an expired session; the whole form stays one link away. axe on every step."""

import pytest
from django.contrib.sessions.models import Session

from medications.models import SymptomReport
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_symptom_report_in_three_screens(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    screens = []  # the report's screens, by their heading, before the answer
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.get_by_role("link", name="Report symptoms").tap()
        page.get_by_role("heading", name="Do you have any of these now?").wait_for()
        screens.append(page.locator("h1").inner_text())
        assert_accessible(page)
        screenshot(page, "patient-steps-1-signs-phone")
        page.get_by_role("button", name="Next").tap()
        page.get_by_role("heading", name="What is bothering you?").wait_for()
        screens.append(page.locator("h1").inner_text())
        assert_accessible(page)
        screenshot(page, "patient-steps-2-pick-phone")
        page.get_by_label("Diarrhoea").check()
        page.get_by_role("button", name="Next").tap()
        page.get_by_role("heading", name="How bad is it?").wait_for()
        screens.append(page.locator("h1").inner_text())
        assert_accessible(page)
        screenshot(page, "patient-steps-3-grade-phone")
        page.locator("input[name=symptom_diarrhoea][value='2']").check()
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Thank you: your team will check this").wait_for()
        assert len(screens) == 3, screens  # signs, pick, grade (with Send): then the answer
        report = SymptomReport.objects.get(patient=patient)
        assert report.triage_level == "amber"
    finally:
        context.close()


def test_a_temperature_in_three_screens_and_a_warning_sign_in_two(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/report/")
        page.get_by_role("button", name="Next").tap()
        page.get_by_label("My temperature (I have measured it)").check()
        page.get_by_role("button", name="Next").tap()
        page.get_by_role("heading", name="Your measurements").wait_for()
        assert_accessible(page)
        screenshot(page, "patient-steps-measure-phone")
        page.get_by_label("Temperature (°C)").fill("38.3")
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Call your advice line now").wait_for()

        page.goto(f"{live_server.url}/me/symptoms/report/")
        page.get_by_label("Chest pain or tightness").check()
        page.get_by_role("button", name="Next").tap()
        page.get_by_role("button", name="Send my report now").tap()
        page.get_by_role("heading", name="Call 999 if it is severe").wait_for()
        assert SymptomReport.objects.filter(patient=patient).count() == 2
    finally:
        context.close()


def test_the_steps_survive_an_expired_session(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/report/")
        page.get_by_role("button", name="Next").tap()
        page.get_by_label("Nausea").check()
        page.get_by_role("button", name="Next").tap()
        page.locator("input[name=symptom_nausea][value='2']").check()
        Session.objects.all().delete()
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Sign in", exact=True).wait_for()
        page.get_by_label("Username").fill(patient.user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").tap()
        page.get_by_role("heading", name="Do you have any of these now?").wait_for()
        page.get_by_role("button", name="Carry on with your report").tap()
        page.get_by_role("heading", name="How bad is it?").wait_for()
        assert page.locator("input[name=symptom_nausea][value='2']").is_checked()
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Thank you: your team will check this").wait_for()
        report = SymptomReport.objects.get(patient=patient)
        assert {i["code"]: i["grade"] for i in report.symptoms}["nausea"] == 2
    finally:
        context.close()


def test_the_whole_form_is_one_link_away(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/report/")
        page.get_by_role("link", name="Prefer one page? Use the whole form").tap()
        page.get_by_role("heading", name="How are you feeling?").wait_for()
    finally:
        context.close()
