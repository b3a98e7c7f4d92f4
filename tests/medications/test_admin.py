"""Admin pages for the medications app load and the add form runs the prescribing checks."""

from datetime import date

import pytest
from django.test import Client

from medications import services
from medications.models import Drug, Prescription

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_changelists_and_change_pages_load(admin_client_, patient, team):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    dose = prescription.expected_doses.first()
    services.dose_log(dose=dose, action="taken", recorded_by=patient.user, now=dose.due_at)
    patient.last_upper_endoscopy_on = date(2026, 1, 1)
    course = services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=utc(2026, 3, 3, 9),
        override_reason="test",
        now=utc(2026, 3, 2, 7),
    )
    pages = [
        "/admin/medications/drug/",
        f"/admin/medications/drug/{Drug.objects.get(code='regorafenib').pk}/change/",
        "/admin/medications/prescription/",
        f"/admin/medications/prescription/?drug__id__exact={prescription.drug_id}&status=active",
        f"/admin/medications/prescription/?patient__care_team__id__exact={team.pk}",
        f"/admin/medications/prescription/{prescription.pk}/change/",
        "/admin/medications/prescription/add/",
        "/admin/medications/expecteddose/",
        f"/admin/medications/expecteddose/{dose.pk}/change/",
        "/admin/medications/doselog/",
        "/admin/medications/infusioncourse/",
        f"/admin/medications/infusioncourse/{course.pk}/change/",
        "/admin/medications/infusionappointment/",
    ]
    for page in pages:
        assert admin_client_.get(page).status_code == 200, page


def test_admin_add_form_runs_the_checks(admin_client_, team):
    from tests.factories import PatientFactory

    patient = PatientFactory(care_team=team, child_pugh_class="B")
    form = {
        "patient": patient.pk,
        "drug": Drug.objects.get(code="sorafenib").pk,
        "dose_mg": "400",
        "times_text": "08:00, 20:00",
        "start_date": "2026-03-02",
    }
    refused = admin_client_.post("/admin/medications/prescription/add/", form)
    assert refused.status_code == 200
    assert b"Child-Pugh class A" in refused.content
    assert not Prescription.objects.exists()
    bad_time = admin_client_.post(
        "/admin/medications/prescription/add/",
        {**form, "times_text": "8am", "override_reason": "x"},
    )
    assert b"HH:MM" in bad_time.content and not Prescription.objects.exists()
    done = admin_client_.post(
        "/admin/medications/prescription/add/", {**form, "override_reason": "MDT decision"}
    )
    assert done.status_code == 302
    prescription = Prescription.objects.get()
    assert prescription.warnings[0]["code"] == "child_pugh_not_a"
    assert prescription.expected_doses.exists()
    assert prescription.events.get().kind == "created"


def test_admin_plans_an_infusion_course_through_the_same_checks(admin_client_, team):
    from medications.models import InfusionCourse
    from tests.factories import PatientFactory

    patient = PatientFactory(care_team=team, weight_kg=70, last_upper_endoscopy_on=None)
    url = "/admin/medications/infusioncourse/add/"
    page = admin_client_.get(url)
    assert page.status_code == 200 and b"Atezolizumab" in page.content
    form = {
        "patient": patient.pk,
        "drug_codes": ["atezolizumab", "bevacizumab"],
        "first_infusion_at_0": "2026-03-03",
        "first_infusion_at_1": "09:30",
        "interval_days": "21",
        "location": "Day treatment unit",
    }
    refused = admin_client_.post(url, form)
    assert refused.status_code == 200
    assert b"No upper endoscopy is recorded" in refused.content
    assert b"Give a reason to plan the course anyway." in refused.content
    assert not InfusionCourse.objects.exists()

    too_often = admin_client_.post(url, {**form, "interval_days": "3", "override_reason": "x"})
    assert too_often.status_code == 200 and not InfusionCourse.objects.exists()
    assert b"The interval is 7 to 84 days." in too_often.content

    done = admin_client_.post(url, {**form, "override_reason": "Endoscopy booked, MDT agreed"})
    assert done.status_code == 302, done.content.decode()[:2000]
    course = InfusionCourse.objects.get()
    assert course.drugs == ["atezolizumab", "bevacizumab"]
    assert course.warnings[0]["code"] == "no_recent_endoscopy"
    first = course.appointments.order_by("cycle_number").first()
    assert first.scheduled_at == utc(2026, 3, 3, 9, 30)  # GMT in March: UK time is UTC
    assert {d["drug"]: d["dose_mg"] for d in first.doses}["bevacizumab"] == "1050"  # 15 mg/kg
    change_page = admin_client_.get(f"/admin/medications/infusioncourse/{course.pk}/change/")
    assert change_page.status_code == 200
