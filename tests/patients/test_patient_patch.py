"""PATCH /api/v1/patients/{id}/ (API.md, second round): staff change contact details, the
home blood pressure monitor (checkins.md), weight, Child-Pugh, performance status and time
zone; each field checked; audited; out of reach is a 404; patients cannot."""

import pytest

from patients.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(patient):
    return f"/api/v1/patients/{patient.pk}/"


def test_a_nurse_changes_details_and_the_answer_shows_them(api, nurse, patient):
    answer = api(nurse).patch(
        url(patient),
        {"has_bp_monitor": True, "mobile_phone": "07700 900123", "weight_kg": "61.5"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["has_bp_monitor"] is True
    patient.refresh_from_db()
    assert patient.has_bp_monitor and patient.mobile_phone == "07700 900123"
    assert str(patient.weight_kg) == "61.5"
    assert AuditEvent.objects.filter(patient=patient, actor=nurse).exists()


def test_email_is_the_sign_in_users(api, admin_user, patient):
    answer = api(admin_user).patch(url(patient), {"email": "a@example.org"}, format="json")
    assert answer.status_code == 200
    patient.user.refresh_from_db()
    assert patient.user.email == "a@example.org"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"performance_status": 5}, "performance_status"),
        ({"child_pugh_class": "D"}, "child_pugh_class"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"weight_kg": 5}, "weight_kg"),
        ({"nhs_number": "9990000018"}, "nhs_number"),  # not changeable here
        ({}, "non_field_errors"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api, nurse, patient, body, field):
    answer = api(nurse).patch(url(patient), body, format="json")
    assert answer.status_code == 400 and field in answer.json()
    before = patient.performance_status
    patient.refresh_from_db()
    assert patient.performance_status == before


def test_out_of_reach_and_patients(api, other_nurse, patient):
    assert (
        api(other_nurse).patch(url(patient), {"has_bp_monitor": True}, format="json").status_code
        == 404
    )
    assert (
        api(patient.user).patch(url(patient), {"has_bp_monitor": True}, format="json").status_code
        == 403
    )
    patient.refresh_from_db()
    assert patient.has_bp_monitor is False


def test_put_is_not_offered(api, nurse, patient):
    assert api(nurse).put(url(patient), {"has_bp_monitor": True}, format="json").status_code == 405
