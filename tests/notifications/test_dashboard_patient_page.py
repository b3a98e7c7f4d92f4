"""The nurse's patient page: header, treatment line, timeline, adherence, calendar and
charts, and the prescription and infusion actions on it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from medications import services as medication_services
from medications.models import (
    AppointmentState,
    PrescriptionEventKind,
    PrescriptionStatus,
)
from tests.factories import PatientFactory
from tests.notifications.dashboard_helpers import HTMX, make_alert, report, text
from tests.notifications.helpers import prescribe

# --- the patient page ------------------------------------------------------------------------


@pytest.mark.django_db
def test_patient_page_header(client, nurse, team):
    patient = PatientFactory(
        care_team=team,
        given_name="Priya",
        family_name="Shah",
        child_pugh_class="B",
        performance_status=2,
        weight_kg=Decimal("58.5"),
        prior_systemic_therapies=["sorafenib"],
        clinical_notes="Prefers calls after 10:00.",
    )
    prescribe(patient, "cabozantinib", now=timezone.now(), times=("10:00",))
    client.force_login(nurse)
    page = text(client.get(f"/nurse/patients/{patient.pk}/"))
    assert "Priya Shah" in page and f"NHS {patient.formatted_nhs_number}" in page
    assert f"age {patient.age_on(timezone.localdate())}" in page
    assert "Child-Pugh B" in page
    assert "Performance status (ECOG) 2" in page
    assert "Weight 58.5 kg" in page
    assert "Second line: cabozantinib" in page and "before: sorafenib" in page
    assert "Prefers calls after 10:00." in page


@pytest.mark.django_db
def test_first_line_and_no_treatment(client, nurse, patient):
    client.force_login(nurse)
    assert "No current systemic treatment" in text(client.get(f"/nurse/patients/{patient.pk}/"))
    prescribe(patient, "sorafenib", now=timezone.now())
    assert "First line: sorafenib" in text(client.get(f"/nurse/patients/{patient.pk}/"))


@pytest.mark.django_db
def test_patient_page_timeline_adherence_calendar_and_charts(client, nurse, patient):
    now = timezone.now()
    prescription = prescribe(patient, "sorafenib", now=now - timedelta(days=10))
    medication_services.expected_doses_generate(now=now, prescription_ids=[prescription.pk])
    report(patient, days_ago=3, symptoms={"diarrhoea": 2}, temperature_c=38.0)
    report(patient, days_ago=1, symptoms={"fatigue": 1}, systolic_bp=150, diastolic_bp=95)
    client.force_login(nurse)
    response = client.get(f"/nurse/patients/{patient.pk}/")
    html, page = response.content.decode(), text(response)
    # Timeline: reports with their triage, alerts, doses, newest first.
    assert "Red Symptom report" in page  # temperature 38.0 is red
    assert "Amber Symptom report" in page
    assert "Red Alert: Symptom report" in page
    assert page.index("fatigue") < page.index("Diarrhoea 2")
    assert "sorafenib 400 mg" in page
    # Adherence 7 and 28 days, and the calendar.
    assert "Doses taken" in page and "7 days" in page and "28 days" in page
    assert 'class="calendar"' in html and "of 2 taken" in page
    # Charts: inline SVG with title and description, and the data as a table.
    assert html.count("<svg") == 3
    assert '<title id="chart-temperature-title">Temperature</title>' in html
    assert "highest 38.0 °C" in html
    assert "Show the 2 reports as a table" in page
    assert "<script" not in html.split("</main>")[0].split("<main")[1]


@pytest.mark.django_db
def test_timeline_show_more(client, nurse, patient):
    for minutes in range(40):
        make_alert(patient, level="green", minutes_ago=minutes * 10 + 1)
    client.force_login(nurse)
    page = client.get(f"/nurse/patients/{patient.pk}/").content.decode()
    assert page.count('class="timeline-entry') == 30
    assert f"/nurse/patients/{patient.pk}/?shown=60#timeline" in page
    more = client.get(f"/nurse/patients/{patient.pk}/timeline/?shown=60", **HTMX)
    assert more.content.decode().count('class="timeline-entry') == 40
    assert "That is everything since" in text(more)


def post_action(client, patient, prescription, action, data):
    key = {"change-dose": "dose"}.get(action, action)
    prefix = f"rx{prescription.pk}-{key}"
    return client.post(
        f"/nurse/patients/{patient.pk}/prescriptions/{prescription.pk}/{action}/",
        {f"{prefix}-{name}": value for name, value in data.items()},
    )


@pytest.mark.django_db
def test_hold_needs_a_reason_shown_next_to_the_field(client, nurse, patient):
    prescription = prescribe(patient, now=timezone.now())
    client.force_login(nurse)
    response = post_action(client, patient, prescription, "hold", {"reason": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_rx{prescription.pk}-hold-reason-error"' in html
    assert "Give the reason." in text(response)
    assert '<details class="action" open>' in html
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.ACTIVE


@pytest.mark.django_db
def test_hold_then_resume_through_the_service(client, nurse, patient):
    prescription = prescribe(patient, now=timezone.now())
    client.force_login(nurse)
    response = post_action(client, patient, prescription, "hold", {"reason": "Grade 3 diarrhoea"})
    assert response.status_code == 302
    assert response["Location"] == f"/nurse/patients/{patient.pk}/#treatment"
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.HELD
    event = prescription.events.get(kind=PrescriptionEventKind.HOLD)
    assert event.recorded_by == nurse and event.reason == "Grade 3 diarrhoea"
    assert "On hold since" in text(client.get(f"/nurse/patients/{patient.pk}/"))
    response = post_action(client, patient, prescription, "resume", {"reason": "Settled"})
    assert response.status_code == 302
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.ACTIVE


@pytest.mark.django_db
def test_hold_errors_from_the_service_are_shown_next_to_the_field(client, nurse, patient):
    prescription = prescribe(patient, now=timezone.now())
    client.force_login(nurse)
    past = (timezone.now() - timedelta(days=2)).astimezone(patient.zone)
    response = post_action(
        client,
        patient,
        prescription,
        "hold",
        {"reason": "BP", "ends_at": past.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 400
    assert f'id="id_rx{prescription.pk}-hold-ends_at-error"' in response.content.decode()


@pytest.mark.django_db
def test_change_dose_offers_the_ladder(client, nurse, patient):
    prescription = prescribe(patient, "sorafenib", now=timezone.now())
    client.force_login(nurse)
    page = text(client.get(f"/nurse/patients/{patient.pk}/"))
    assert "400 mg twice daily (current)" in page
    assert "400 mg once daily" in page and "200 mg once daily" in page
    response = post_action(
        client,
        patient,
        prescription,
        "change-dose",
        {"step": "400-once-daily", "reason": "Hand-foot skin reaction grade 2"},
    )
    assert response.status_code == 302, text(response)[:2000]
    prescription.refresh_from_db()
    assert prescription.times == ["08:00"]
    assert prescription.events.get(kind=PrescriptionEventKind.DOSE_CHANGE).recorded_by == nurse


@pytest.mark.django_db
def test_a_dose_off_the_ladder_needs_an_override_reason(client, nurse, patient):
    prescription = prescribe(patient, "sorafenib", now=timezone.now())
    client.force_login(nurse)
    data = {"step": "other", "dose_mg": "300", "reason": "Renal function"}
    response = post_action(client, patient, prescription, "change-dose", data)
    assert response.status_code == 400
    assert f'id="id_rx{prescription.pk}-dose-override_reason-error"' in response.content.decode()
    data["override_reason"] = "Agreed with the consultant"
    response = post_action(client, patient, prescription, "change-dose", data)
    assert response.status_code == 302
    prescription.refresh_from_db()
    assert prescription.dose_mg == Decimal("300")


@pytest.mark.django_db
def test_stop_needs_a_reason_and_stops(client, nurse, patient):
    prescription = prescribe(patient, now=timezone.now())
    client.force_login(nurse)
    assert post_action(client, patient, prescription, "stop", {"reason": ""}).status_code == 400
    response = post_action(client, patient, prescription, "stop", {"reason": "Progression"})
    assert response.status_code == 302
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.STOPPED
    # A stopped prescription takes no more actions.
    response = post_action(client, patient, prescription, "hold", {"reason": "x"})
    assert response.status_code == 404


@pytest.mark.django_db
def test_infusion_given_and_rescheduled(client, nurse, patient):
    now = timezone.now()
    patient.last_upper_endoscopy_on = now.date() - timedelta(days=30)
    patient.save()
    course = medication_services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=now - timedelta(hours=3),
        now=now - timedelta(days=7),
    )
    first, second = course.appointments.order_by("cycle_number")[:2]
    client.force_login(nurse)
    page = text(client.get(f"/nurse/patients/{patient.pk}/"))
    assert "Cycle 1" in page and "Mark given" in page

    url = f"/nurse/patients/{patient.pk}/infusions/{first.pk}"
    given_at = (now - timedelta(hours=2)).astimezone(patient.zone).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"{url}/given/", {f"inf{first.pk}-given-given_at": given_at})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == AppointmentState.GIVEN
    # Entered as the patient's local time.
    assert first.given_at.astimezone(patient.zone).strftime("%Y-%m-%dT%H:%M") == given_at

    second.refresh_from_db()
    url = f"/nurse/patients/{patient.pk}/infusions/{second.pk}"
    new_time = (second.scheduled_at + timedelta(days=2)).astimezone(patient.zone)
    prefix = f"inf{second.pk}-move"
    response = client.post(
        f"{url}/reschedule/", {f"{prefix}-scheduled_at": new_time.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 400
    assert f'id="id_{prefix}-reason-error"' in response.content.decode()
    response = client.post(
        f"{url}/reschedule/",
        {
            f"{prefix}-scheduled_at": new_time.strftime("%Y-%m-%dT%H:%M"),
            f"{prefix}-reason": "No chair free",
        },
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.scheduled_at == new_time.replace(second=0, microsecond=0)
    assert second.reschedule_reason == "No chair free"


@pytest.mark.django_db
def test_patients_list_finds_by_name_or_nhs_number(client, nurse, team, other_patient):
    rose = PatientFactory(care_team=team, given_name="Rose", family_name="Okafor")
    make_alert(rose, level="red")
    client.force_login(nurse)
    page = text(client.get("/nurse/patients/"))
    assert "Okafor, Rose" in page and "1 red" in page
    assert other_patient.family_name not in page
    assert "Okafor" in text(client.get(f"/nurse/patients/?q={rose.formatted_nhs_number}"))
    assert "No patient of your teams matches" in text(client.get("/nurse/patients/?q=zzz"))
