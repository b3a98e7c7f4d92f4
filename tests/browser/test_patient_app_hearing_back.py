"""Hearing back, on a touch phone (390x844; issue 13 point 4): after a red report the answer
page, Today and History say what the team did once a nurse resolves it; chest pain puts
Call 999 first as a full-size button."""

import pytest

from medications.models import SymptomReport
from notifications.models import Alert
from notifications.services import alert_acknowledge, alert_resolve
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD, NurseFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_outcome_appears_after_a_nurse_resolves(live_server, browser):
    patient, _ = sorafenib_patient()
    nurse = NurseFactory(teams=[patient.care_team])
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/new/")
        page.get_by_label("Temperature (°C)").fill("38.2")
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Call your advice line now").wait_for()
        assert "They have not looked at it yet" in page.locator("main").inner_text()
        result_url = page.url

        report = SymptomReport.objects.get(patient=patient)
        alert = Alert.objects.get(symptom_report=report)
        alert_acknowledge(alert=alert, user=nurse)
        page.reload()
        page.get_by_role("heading", name="Your team has seen this report", level=1).wait_for()
        alert_resolve(
            alert=alert,
            user=nurse,
            outcome="advice_given_by_phone",
            note="Paracetamol, recheck in 1 h (internal)",
            message_to_patient="Take your temperature again at 6pm.",
        )
        page.goto(result_url)
        page.get_by_role("heading", name="Your team has dealt with this report", level=1).wait_for()
        main = page.locator("main").inner_text()
        assert "A nurse gave you advice by phone." in main
        assert "Take your temperature again at 6pm." in main
        assert "internal" not in main  # the nurse's note stays internal
        assert_accessible(page)
        screenshot(page, "patient-result-closed-phone")

        page.goto(f"{live_server.url}/me/")
        recent = page.get_by_role("region", name="Your recent reports").inner_text()
        assert "Closed" in recent and "A nurse gave you advice by phone." in recent
        assert_accessible(page)
        page.goto(f"{live_server.url}/me/history/")
        page.get_by_text("Show your reports as a table").tap()
        assert "A nurse gave you advice by phone." in page.locator(".report-table").inner_text()
    finally:
        context.close()


def test_chest_pain_puts_999_first(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/new/")
        page.locator("input[name=symptom_chest_pain][value='1']").check()
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Call 999 if it is severe").wait_for()
        call_999 = page.get_by_role("link", name="Call 999", exact=True)
        advice = page.get_by_role("link", name="Call 0161 446 3658")
        box_999, box_advice = call_999.bounding_box(), advice.bounding_box()
        assert box_999["y"] < box_advice["y"]  # 999 first
        assert box_999["height"] >= 44 and box_999["width"] >= 300  # full size
        assert call_999.get_attribute("href") == "tel:999"
        assert_accessible(page)
        screenshot(page, "patient-result-999-phone")
    finally:
        context.close()
