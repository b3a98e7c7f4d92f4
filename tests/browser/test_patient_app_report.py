"""The symptom report on a touch phone (390x844): the notes count down and stop at 2,000
characters (issue 13, point 2; clinical/triage.md "Inputs of one report")."""

import pytest

from medications.models import SymptomReport
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_notes_count_down_and_stop_at_2000_characters(live_server, browser):
    patient, _ = sorafenib_patient()
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/symptoms/new/")
        notes = page.get_by_label("Anything else you want to tell the team (optional)")
        assert notes.get_attribute("maxlength") == "2000"
        assert page.locator("#id_notes-count").inner_text() == "2000 characters left"
        notes.fill("x" * 1990)
        assert page.locator("#id_notes-count").inner_text() == "10 characters left"
        assert page.locator("#id_notes-count").get_attribute("aria-live") == "polite"
        notes.press("End")
        page.keyboard.type("y" * 20)  # typing stops at the limit
        assert len(notes.input_value()) == 2000
        assert page.locator("#id_notes-count").inner_text() == "0 characters left"
        assert_accessible(page)
        page.get_by_label("Temperature (°C)").fill("38.4")
        page.get_by_role("button", name="Send my report").tap()
        page.get_by_role("heading", name="Call your advice line now").wait_for()
        report = SymptomReport.objects.get(patient=patient)
        assert report.triage_level == "red" and len(report.notes) == 2000
    finally:
        context.close()
