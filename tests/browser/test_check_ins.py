"""Check-ins in the browser (clinical/checkins.md): the check-in card on the patient's
Today (a phone), answered through the symptom form; and a nurse setting an expected
symptom level from the patient page, then ending it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from medications.models import CheckIn, CheckInKind, CheckInStatus, ExpectedSymptom
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.patient_helpers import sorafenib_patient, touch_phone
from tests.factories import PASSWORD, NurseFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_check_in_card_on_today_leads_to_the_form_and_completes(live_server, browser):
    patient, _ = sorafenib_patient()
    opens = timezone.now() - timedelta(hours=2)
    check_in = CheckIn.objects.create(
        patient=patient,
        kind=CheckInKind.WEEKLY,
        source_key=f"browser:{patient.pk}",
        opens_at=opens,
        closes_at=opens + timedelta(hours=72),
        status=CheckInStatus.OPEN,
        reminders_sent=1,
        next_look_at=opens + timedelta(hours=24),
    )
    context, page = touch_phone(browser)
    try:
        sign_in(page, live_server, patient.user.username, PASSWORD)
        page.goto(f"{live_server.url}/me/")
        card = page.locator("#check-in")
        expect(card.get_by_role("heading")).to_have_text("Your weekly check-in: how have you been?")
        assert_accessible(page)
        card.get_by_role("link", name="Start your check-in").tap()
        expect(page.locator(".check-in-note")).to_contain_text("Your weekly check-in")
        page.locator('input[name="symptom_fatigue"][value="1"]').check()
        page.get_by_role("button", name="Send my report").tap()
        page.wait_for_url(re.compile(r"/me/symptoms/\d+/$"))
        check_in.refresh_from_db()
        assert check_in.status == CheckInStatus.COMPLETED and check_in.report_id
        page.goto(f"{live_server.url}/me/")
        expect(page.locator("#check-in")).to_have_count(0)
    finally:
        context.close()


def test_a_nurse_sets_and_ends_an_expected_symptom_level(live_server, page, team):
    from tests.factories import PatientFactory

    nurse = NurseFactory(teams=[team])
    patient = PatientFactory(care_team=team, given_name="Ada", family_name="Lovell")
    sign_in(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/nurse/patients/{patient.pk}/")
    section = page.locator("#expected-symptoms")
    expect(section).to_contain_text("None set.")
    section.locator("summary", has_text="Set an expected level").click()
    section.get_by_label("Symptom").select_option(label="Hand or foot skin reaction")
    section.get_by_label("Expected up to").select_option("2")
    section.get_by_label("Reason").fill("grade 2 hand-foot on regorafenib, managed with creams")
    section.get_by_role("button", name="Set expected level").click()
    expect(page.locator("#expected-symptoms")).to_contain_text("up to grade 2")
    baseline = ExpectedSymptom.objects.get(patient=patient)
    assert baseline.code == "hand_foot" and baseline.created_by == nurse
    assert_accessible(page)
    page.locator("#expected-symptoms").get_by_role("button", name="End").click()
    expect(page.locator("#expected-symptoms")).to_contain_text("None set.")
    baseline.refresh_from_db()
    assert baseline.ended_at is not None
