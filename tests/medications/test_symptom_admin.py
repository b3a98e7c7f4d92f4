"""Symptom reports in the Django admin: read-only clinical records, searchable by NHS number;
one added here is graded at once by the same service as the API."""

import json

import pytest
from django.utils import timezone

from medications.models import SymptomReport
from medications.symptoms.services import symptom_report_create

pytestmark = pytest.mark.django_db
ADMIN = "/admin/medications/symptomreport/"


@pytest.fixture
def admin_site(client, admin_user):
    client.force_login(admin_user)
    return client


def test_list_filters_and_search_by_nhs_number(admin_site, patient, other_patient):
    mine = symptom_report_create(
        patient=patient, data={"symptoms": [{"code": "rash", "grade": 2}]}, entered_by=None
    )
    symptom_report_create(patient=other_patient, data={"symptoms": []}, entered_by=None)

    listing = admin_site.get(ADMIN)
    assert listing.status_code == 200
    assert "Alert raised" in listing.content.decode()

    spaced = f"{patient.nhs_number[:3]} {patient.nhs_number[3:6]} {patient.nhs_number[6:]}"
    found = admin_site.get(ADMIN, {"q": spaced})
    assert list(found.context["cl"].result_list) == [mine]
    assert (
        list(admin_site.get(ADMIN, {"q": patient.nhs_number[:6]}).context["cl"].result_list) == []
    )
    amber = admin_site.get(ADMIN, {"triage_level__exact": "amber"}).context["cl"].result_list
    assert list(amber) == [mine]
    team = admin_site.get(ADMIN, {"patient__care_team__id__exact": other_patient.care_team_id})
    assert [r.patient_id for r in team.context["cl"].result_list] == [other_patient.pk]


def test_a_stored_report_is_read_only_and_cannot_be_deleted(admin_site, patient):
    report = symptom_report_create(patient=patient, data={"symptoms": []}, entered_by=None)
    page = admin_site.get(f"{ADMIN}{report.pk}/change/")
    assert page.status_code == 200
    assert 'name="symptoms"' not in page.content.decode()
    admin_site.post(f"{ADMIN}{report.pk}/change/", {"notes": "changed"})
    report.refresh_from_db()
    assert report.notes == ""
    assert admin_site.get(f"{ADMIN}{report.pk}/delete/").status_code == 403


def test_a_report_added_in_admin_is_graded_at_once(admin_site, admin_user, patient):
    now = timezone.now()
    response = admin_site.post(
        f"{ADMIN}add/",
        {
            "patient": patient.pk,
            "reported_at_0": now.strftime("%Y-%m-%d"),
            "reported_at_1": now.strftime("%H:%M:%S"),
            "symptoms": json.dumps([{"code": "fainting", "grade": 1}]),
            "temperature_c": "",
            "systolic_bp": "",
            "diastolic_bp": "",
            "notes": "Phoned the advice line",
        },
        follow=True,
    )
    assert response.status_code == 200
    report = SymptomReport.objects.get()
    assert report.triage_level == "red" and report.ruleset_version == 1
    assert report.entered_by == admin_user and report.entered_by_staff is True
    assert "Graded red" in response.content.decode()


def test_a_bad_report_is_refused_in_admin(admin_site, patient):
    now = timezone.now()
    response = admin_site.post(
        f"{ADMIN}add/",
        {
            "patient": patient.pk,
            "reported_at_0": now.strftime("%Y-%m-%d"),
            "reported_at_1": now.strftime("%H:%M:%S"),
            "symptoms": json.dumps([{"code": "hiccups", "grade": 1}]),
            "systolic_bp": "150",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unknown symptom code" in page and "Give both blood pressure figures" in page
    assert SymptomReport.objects.count() == 0


def test_grade_now_action_grades_reports_entered_without_a_result(admin_site, patient):
    report = SymptomReport.objects.create(patient=patient, symptoms=[{"code": "cough", "grade": 2}])
    response = admin_site.post(
        ADMIN, {"action": "grade_now", "_selected_action": [report.pk]}, follow=True
    )
    assert "1 graded now" in response.content.decode()
    report.refresh_from_db()
    assert report.triage_level == "amber"
