"""When a dose was taken (clinical/adherence.md "When it was taken"; issue 17 finding 7):
the time given decides the state, it must lie between 2 hours before the due time and now,
in ASCII digits with an offset; a patient logs doses due in the last 72 hours, older ones
only staff, with a reason."""

from datetime import timedelta

import pytest
import time_machine

from medications.models import DoseLog, DoseState, ExpectedDose

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # sorafenib 08:00 and 20:00 London (= UTC in early March)
DUE = utc(2026, 3, 2, 8)


@pytest.fixture
def dose(patient):
    prescription = prescribe(patient, now=START)
    return prescription.expected_doses.get(due_at=DUE)


def log(client, dose, when, **body):
    with time_machine.travel(when, tick=False):
        return client.post(f"/api/v1/doses/{dose.pk}/log/", body, format="json")


def refused(response, field, text):
    assert response.status_code == 400, response.json()
    assert text in " ".join(response.json()[field])
    assert not DoseLog.objects.exists()


def test_the_year_1900_is_refused(api, patient, dose):
    response = log(
        api(patient.user), dose, utc(2026, 3, 2, 9), action="taken", at="1900-01-01T08:00:00Z"
    )
    refused(response, "at", "more than 2 hours before this dose was due (02 Mar 08:00)")


def test_the_year_1900_is_refused_for_a_dose_not_taken_too(api, patient, dose):
    response = log(
        api(patient.user),
        dose,
        utc(2026, 3, 2, 9),
        action="skipped",
        reason="forgot",
        at="1900-01-01T08:00:00Z",
    )
    refused(response, "at", "more than 2 hours before")


def test_fourteen_hours_before_due_is_refused(api, patient, dose):
    response = log(
        api(patient.user),
        dose,
        utc(2026, 3, 2, 9),
        action="skipped",
        reason="forgot",
        at="2026-03-01T18:00:00Z",
    )
    refused(response, "at", "more than 2 hours before")


def test_two_hours_before_due_is_accepted(api, patient, dose):
    response = log(
        api(patient.user), dose, utc(2026, 3, 2, 9), action="taken", at="2026-03-02T06:00:00Z"
    )
    assert response.status_code == 201
    assert response.json()["state"] == "taken"


def test_full_width_digits_are_refused(api, patient, dose):
    response = log(
        api(patient.user),
        dose,
        utc(2026, 3, 2, 9),
        action="taken",
        at="２０２６-０３-０２T０８:３０:００Z",
    )
    refused(response, "at", "ordinary digits")


def test_a_time_without_its_offset_is_refused(api, patient, dose):
    response = log(
        api(patient.user), dose, utc(2026, 3, 2, 9), action="taken", at="2026-03-02T08:30:00"
    )
    refused(response, "at", "UTC offset")


def test_more_than_two_minutes_ahead_is_the_future(api, patient, dose):
    response = log(
        api(patient.user), dose, utc(2026, 3, 2, 9), action="taken", at="2026-03-02T09:02:30Z"
    )
    refused(response, "at", "in the future")


def test_a_phone_clock_a_minute_ahead_is_accepted(api, patient, dose):
    response = log(
        api(patient.user), dose, utc(2026, 3, 2, 9), action="taken", at="2026-03-02T09:01:00Z"
    )
    assert response.status_code == 201


def test_the_state_follows_the_time_taken_not_the_time_logged(api, nurse, patient, dose):
    # The sweep marked it missed at 14:00; at 18:00 the patient says they took it at 08:30.
    assert ExpectedDose.objects.filter(pk=dose.pk, state="pending").update(state="missed") == 1
    body = log(
        api(patient.user), dose, utc(2026, 3, 2, 18), action="taken", at="2026-03-02T08:30:00Z"
    ).json()
    assert body["state"] == "taken" and body["taken_outside_window"] is False
    assert body["logged_later"] is True  # what staff see
    listed = api(nurse).get(f"/api/v1/doses/{dose.pk}/").json()
    assert listed["state"] == "taken" and listed["logged_later"] is True


def test_taken_after_the_window_is_taken_late_whenever_logged(api, patient, dose):
    body = log(
        api(patient.user), dose, utc(2026, 3, 2, 18), action="taken", at="2026-03-02T15:00:00Z"
    ).json()
    assert body["state"] == "taken_late" and body["logged_later"] is True


def test_logged_at_once_is_not_logged_later(api, patient, dose):
    body = log(api(patient.user), dose, utc(2026, 3, 2, 8, 5), action="taken").json()
    assert body["state"] == "taken" and body["logged_later"] is False


def test_a_patient_logs_a_dose_due_71_hours_ago(api, patient, dose):
    response = log(
        api(patient.user), dose, DUE + timedelta(hours=71), action="taken", at="2026-03-02T08:10Z"
    )
    assert response.status_code == 201
    assert response.json()["state"] == DoseState.TAKEN


def test_a_patient_cannot_log_a_dose_due_over_72_hours_ago(api, patient, dose):
    response = log(
        api(patient.user), dose, DUE + timedelta(hours=73), action="taken", at="2026-03-02T08:10Z"
    )
    refused(response, "non_field_errors", "more than 3 days ago")


def test_staff_log_an_older_dose_only_with_a_reason(api, nurse, patient, dose):
    later = DUE + timedelta(days=5)
    body = {"action": "taken", "at": "2026-03-02T08:10Z"}
    refused(log(api(nurse), dose, later, **body), "note", "say why it is logged now")
    response = log(api(nurse), dose, later, note="Patient told me on the phone", **body)
    assert response.status_code == 201
    assert response.json()["state"] == "taken" and response.json()["logged_later"] is True


def test_the_nurse_timeline_says_logged_later(api, client, nurse, patient, dose):
    log(api(patient.user), dose, utc(2026, 3, 2, 18), action="taken", at="2026-03-02T08:30:00Z")
    client.force_login(nurse)
    with time_machine.travel(utc(2026, 3, 2, 19), tick=False):
        page = client.get(f"/nurse/patients/{patient.pk}/").content.decode()
    assert "Taken at 08:30, logged later" in page or "at 08:30, logged later" in page
