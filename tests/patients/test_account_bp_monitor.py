"""A patient says whether they have a home blood pressure monitor (clinical/checkins.md,
"Blood pressure": a yes/no on the patient record, which the patient can set)."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_patient_sets_and_clears_their_monitor(client, patient):
    client.force_login(patient.user)
    page = client.get("/accounts/").content.decode()
    assert "Do you have a blood pressure monitor at home?" in page
    answer = client.post(
        "/accounts/", {"action": "bp_monitor", "has_bp_monitor": "yes"}, follow=True
    )
    assert "will ask for a blood pressure reading" in answer.content.decode()
    patient.refresh_from_db()
    assert patient.has_bp_monitor is True
    client.post("/accounts/", {"action": "bp_monitor", "has_bp_monitor": "no"})
    patient.refresh_from_db()
    assert patient.has_bp_monitor is False


def test_anything_else_changes_nothing(client, patient):
    client.force_login(patient.user)
    answer = client.post(
        "/accounts/", {"action": "bp_monitor", "has_bp_monitor": "maybe"}, follow=True
    )
    assert "Choose yes or no." in answer.content.decode()
    patient.refresh_from_db()
    assert patient.has_bp_monitor is False


def test_staff_have_no_such_setting(client, nurse):
    client.force_login(nurse)
    assert (
        client.post("/accounts/", {"action": "bp_monitor", "has_bp_monitor": "yes"}).status_code
        == 405
    )
