"""The clinic summary page and its PDF: nurses and admins only, scoped (404 outside the
team), audited; the default period; a chosen period; the PDF (WeasyPrint) holds the
patient's name and the adherence figures; the page stays usable without WeasyPrint."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from interop import views
from medications import adherence, selectors, services
from patients.models import AuditEvent

from .summary_data import twenty_eight_days

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def url(patient, suffix="") -> str:
    return f"/nurse/patients/{patient.pk}/summary/{suffix}"


def expected_figures(patient) -> adherence.DoseSummary:
    """The product's own 28-day adherence (the summary's default period is the same)."""
    return selectors.adherence_for_patient(patient, days=28).overall


def test_who_may_see_it(patient, other_patient, nurse, other_nurse, admin_user):
    twenty_eight_days(patient, nurse)
    assert signed_in(nurse).get(url(patient)).status_code == 200
    assert signed_in(admin_user).get(url(patient)).status_code == 200
    assert signed_in(other_nurse).get(url(patient)).status_code == 404
    assert signed_in(patient.user).get(url(patient)).status_code == 404
    assert signed_in(other_patient.user).get(url(patient, "pdf/")).status_code == 404
    anonymous = signed_in(None).get(url(patient))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    events = AuditEvent.objects.filter(patient=patient)
    assert {e.actor_id for e in events} == {nurse.pk, admin_user.pk}
    assert all("clinic summary" in e.what for e in events)


def test_the_summary_shows_treatment_adherence_symptoms_and_alerts(patient, nurse):
    prescription, _doses = twenty_eight_days(patient, nurse)
    services.prescription_change_dose(
        prescription=prescription,
        dose_mg=prescription.dose_mg,
        times=["08:00"],
        reason="Hand-foot grade 2",
        recorded_by=nurse,
    )
    page = signed_in(nurse).get(url(patient)).content.decode()
    assert patient.full_name in page and "the last 28 days" in page
    assert "Sorafenib" in page and "400 mg once daily at 08:00" in page
    assert "Dose changed (Hand-foot grade 2)" in page
    # Two dose periods (the change): the whole period's row is the 28-day figure.
    figures = expected_figures(patient)
    assert f"{figures.dose_taking:g}%" in page
    assert "Symptoms by week" in page and "Hand or foot skin reaction" in page
    assert "Blood pressure, highest (mmHg)" in page
    # Amber blood pressure readings (140+ systolic or 90+ diastolic) are listed.
    assert "Readings outside the normal range" in page and "Amber" in page


def test_default_period_is_since_the_last_infusion(patient, nurse):
    course = services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=timezone.now() - timedelta(days=10),
        override_reason="test",
        recorded_by=nurse,
        now=timezone.now() - timedelta(days=20),
    )
    first = course.appointments.order_by("cycle_number").first()
    services.infusion_mark_given(
        appointment=first, given_at=first.scheduled_at, recorded_by=nurse, now=first.scheduled_at
    )
    page = signed_in(nurse).get(url(patient)).content.decode()
    assert "since the last infusion" in page and "Cycle 1: given" in page
    assert "Next: cycle 2 planned" in page


def test_a_chosen_period_and_a_bad_one(patient, nurse):
    twenty_eight_days(patient, nurse)
    today = timezone.localdate()
    chosen = signed_in(nurse).get(
        url(patient), {"first": (today - timedelta(days=6)).isoformat(), "last": today.isoformat()}
    )
    assert chosen.status_code == 200 and "(7 days, chosen period)" in chosen.content.decode()
    backwards = signed_in(nurse).get(
        url(patient), {"first": today.isoformat(), "last": (today - timedelta(days=3)).isoformat()}
    )
    assert backwards.status_code == 400
    assert "&#x27;From&#x27; must be on or before &#x27;To&#x27;." in backwards.content.decode()
    too_long = signed_in(nurse).get(
        url(patient), {"first": (today - timedelta(days=200)).isoformat()}
    )
    assert too_long.status_code == 400 and "at most 92 days" in too_long.content.decode()


def test_the_pdf_holds_the_name_and_the_adherence_figures(patient, nurse):
    _prescription, _doses = twenty_eight_days(patient, nurse)
    response = signed_in(nurse).get(url(patient, "pdf/"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    figures = expected_figures(patient)
    assert patient.full_name in text
    assert f"{figures.dose_taking:g}%" in text and f"{figures.timing:g}%" in text
    assert f"{figures.days_covered:g}%" in text
    assert AuditEvent.objects.filter(patient=patient, path=url(patient, "pdf/")).exists()


def test_without_weasyprint_the_page_still_works(patient, nurse, monkeypatch):
    twenty_eight_days(patient, nurse)
    monkeypatch.setattr(views, "weasyprint", lambda: None)
    page = signed_in(nurse).get(url(patient))
    assert page.status_code == 200
    assert "Download PDF" not in page.content.decode()
    assert "use your browser's Print" in page.content.decode()
    pdf = signed_in(nurse).get(url(patient, "pdf/"))
    assert pdf.status_code == 503 and "cannot make PDF files" in pdf.content.decode()


def test_the_patient_page_links_to_the_summary(patient, nurse):
    page = signed_in(nurse).get(f"/nurse/patients/{patient.pk}/").content.decode()
    assert url(patient) in page
