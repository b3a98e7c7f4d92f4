"""Issue 16 in real headless Chromium: the alert page in its context (tap-to-call phone, the
whole report, the last 7 days of doses), resolving with "Treatment held" (the prescription
is held in the same step and the patient's Today page says not to take tonight's dose), the
no-phone warning and the sortable patient list; axe finds no serious or critical problem on
any nurse page used. Screenshots for docs/nurse-dashboard.md.

The patient lives in a fixed-offset zone where it is mid-morning now, so "tonight's dose"
is still to come whenever the suite runs (no clock travel: the browser's cookies use the
real clock)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from medications.models import DoseState, ExpectedDose, PrescriptionStatus
from notifications.models import Alert, AlertOutcome, AlertStatus
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import PASSWORD, NurseFactory, PatientFactory
from tests.notifications.dashboard_helpers import make_alert
from tests.notifications.helpers import prescribe, red_report


def _mid_morning_zone() -> str:
    """An IANA fixed-offset zone where the local time now is between 10:00 and 11:00."""
    hour = timezone.now().hour
    offset = (10 - hour + 12) % 24 - 12  # UTC+offset hours, -12..+11
    # Etc/GMT zones are named with the sign reversed (Etc/GMT-5 is UTC+5).
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _patient_with_history(team):
    zone = _mid_morning_zone()
    patient = PatientFactory(
        care_team=team,
        given_name="Rose",
        family_name="Okafor",
        timezone=zone,
        mobile_phone="07700 900123",
    )
    now = timezone.now()
    rx = prescribe(patient, "sorafenib", now=now - timedelta(days=6), times=("08:00", "20:00"))
    past = list(ExpectedDose.objects.filter(prescription=rx, due_at__lt=now).order_by("due_at"))
    for dose in past:
        dose.state, dose.taken_at = DoseState.TAKEN, dose.due_at + timedelta(minutes=5)
    past[-2].state, past[-2].taken_at = DoseState.MISSED, None  # last night's
    ExpectedDose.objects.bulk_update(past, ["state", "taken_at"])
    report = red_report(
        patient,
        notes="Shivery since last night, feet sore.",
        symptoms=[
            {"code": "shivering", "grade": 1},
            {"code": "hand_foot", "grade": 2},
            {"code": "diarrhoea", "grade": 0},
        ],
    )
    return patient, rx, Alert.objects.get(symptom_report=report)


@pytest.mark.django_db(transaction=True)
def test_alert_page_context_then_resolve_with_treatment_held(live_server, page, new_page, team):
    nurse = NurseFactory(teams=[team], first_name="Nia", last_name="Evans")
    patient, rx, alert = _patient_with_history(team)

    sign_in(page, live_server, nurse.username, PASSWORD)
    page.goto(f"{live_server.url}/nurse/alerts/{alert.pk}/")

    # Tap to call.
    call = page.get_by_role("link", name=re.compile("Call mobile"))
    expect(call).to_have_attribute("href", "tel:07700900123")
    expect(call).to_contain_text("07700 900123")
    expect(page.locator(".no-phone")).to_have_count(0)
    # The treatment now with its cycle day.
    treatment = page.locator("section[aria-labelledby=treatment-title]")
    expect(treatment).to_contain_text("Sorafenib")
    expect(treatment).to_contain_text("400 mg twice daily")
    expect(treatment).to_contain_text(re.compile(r"Day \d+ of treatment"))
    # The whole report: every item (grade 0 too), its level, the patient's note.
    report = page.locator("section[aria-labelledby=report-title]")
    expect(report).to_contain_text("grade 2")
    expect(report).to_contain_text("grade 0")
    expect(report).to_contain_text("present")
    expect(report).to_contain_text("Shivery since last night, feet sore.")
    # The last 7 days of doses, last night's missed.
    doses = page.locator("section[aria-labelledby=doses-title]")
    expect(doses).to_contain_text("Missed")
    expect(doses).to_contain_text("Taken")
    expect(doses).to_contain_text("To come")
    assert_accessible(page)
    screenshot(page, "nurse-alert-desktop")

    # Resolve with "Treatment held": the prescriptions to hold show for that outcome only.
    form = page.locator("form.resolve-form")
    hold_box = form.get_by_label(re.compile("Sorafenib 400 mg"))
    expect(hold_box).to_be_hidden()
    form.get_by_label("Treatment held", exact=True).check()
    expect(hold_box).to_be_visible()
    expect(form.get_by_label("Sorafenib: 400 mg once daily")).to_be_hidden()
    hold_box.check()
    form.get_by_label("Note", exact=True).fill(
        "Rigors and grade 2 HFSR: hold sorafenib, review Monday."
    )
    form.get_by_label("Message to the patient").fill("Please stop your tablets until we call you.")
    assert_accessible(page)
    screenshot(page, "nurse-resolve-hold-desktop")
    form.get_by_role("button", name="Resolve alert").click()
    expect(page.locator(".message-success")).to_contain_text("Treatment held")

    rx.refresh_from_db()
    alert.refresh_from_db()
    assert rx.status == PrescriptionStatus.HELD
    assert alert.status == AlertStatus.RESOLVED and alert.outcome == AlertOutcome.TREATMENT_HELD

    # The patient: tonight's dose says not to take it; the report says what happened.
    phone = new_page({"width": 390, "height": 844})
    sign_in(phone, live_server, patient.user.username, PASSWORD)
    phone.goto(f"{live_server.url}/me/")
    expect(phone.get_by_text("Do not take this dose").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_no_phone_warning_and_the_patient_list(live_server, page, team):
    nurse = NurseFactory(teams=[team])
    patient, _rx, _alert = _patient_with_history(team)
    quiet = PatientFactory(care_team=team, given_name="Ken", family_name="Adeyemi")
    quiet.mobile_phone = ""
    quiet.save()
    amber = make_alert(quiet, level="amber", kind="supply", summary="Ran out of lenvatinib")
    sign_in(page, live_server, nurse.username, PASSWORD)

    page.goto(f"{live_server.url}/nurse/alerts/{amber.pk}/")
    warning = page.locator(".no-phone")
    expect(warning).to_contain_text("No phone number recorded")
    expect(warning).to_have_css("color", "rgb(176, 0, 32)")
    assert_accessible(page)

    page.goto(f"{live_server.url}/nurse/patients/")
    table = page.locator("table.patients")
    expect(table).to_contain_text("Sorafenib")
    expect(table).to_contain_text("Red")  # Rose's last report
    page.get_by_role("link", name="Open alerts").click()
    expect(page.locator("th[aria-sort]")).to_contain_text("Open alerts")
    names = page.locator("table.patients tbody tr td:first-child a")
    expect(names.first).to_have_text("Okafor, Rose")  # a red alert before an amber one
    assert_accessible(page)
    screenshot(page, "nurse-patients-desktop")

    page.goto(f"{live_server.url}/nurse/")
    expect(page.locator("#red-alert-notify")).to_be_visible()
    expect(page.get_by_label("Play a sound")).not_to_be_checked()
    page.get_by_label("Play a sound").check()
    page.reload()
    expect(page.get_by_label("Play a sound")).to_be_checked()  # remembered in this browser
    assert_accessible(page)
    screenshot(page, "nurse-queue-notify-desktop")
