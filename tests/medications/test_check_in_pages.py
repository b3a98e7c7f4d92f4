"""The check-in on the patient's pages (clinical/checkins.md): Today shows an open check-in
first; a follow-up's symptom form asks first about the items that were amber; blood
pressure is asked for when the schedule says so; answering completes it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from medications.models import CheckIn, CheckInKind, CheckInStatus

from .test_patient_pages import report_form

pytestmark = pytest.mark.django_db


def open_check_in(patient, **fields):
    now = timezone.now()
    opens = now - timedelta(hours=1)
    return CheckIn.objects.create(
        patient=patient,
        kind=fields.pop("kind", CheckInKind.WEEKLY),
        source_key=f"test:{patient.pk}:{fields.get('focus_codes')}",
        opens_at=opens,
        closes_at=opens + timedelta(hours=72),
        status=CheckInStatus.OPEN,
        next_look_at=opens + timedelta(hours=24),
        **fields,
    )


def test_today_shows_the_open_weekly_check_in_first(client, patient):
    open_check_in(patient)
    client.force_login(patient.user)
    page = client.get("/me/").content.decode()
    assert "Your weekly check-in: how have you been?" in page
    assert "Start your check-in" in page
    assert "blood pressure reading" not in page


def test_no_card_without_an_open_check_in(client, patient):
    client.force_login(patient.user)
    assert "check-in" not in client.get("/me/").content.decode().lower()


def test_a_follow_up_asks_about_the_amber_items_first_and_for_blood_pressure(client, patient):
    open_check_in(patient, kind=CheckInKind.FOLLOW_UP, focus_codes=["hand_foot"], asks_bp=True)
    client.force_login(patient.user)
    today = client.get("/me/").content.decode()
    assert "Your follow-up check-in: how is your" in today
    assert "blood pressure reading from your home monitor" in today
    form = client.get("/me/symptoms/new/").content.decode()
    # Hand-foot comes before every other graded symptom (normally it is not first).
    hand_foot = form.index('name="symptom_hand_foot"')
    assert hand_foot < form.index('name="symptom_diarrhoea"')
    assert hand_foot < form.index('name="symptom_fatigue"')


def test_answering_from_the_form_completes_the_check_in(client, patient):
    check_in = open_check_in(patient)
    client.force_login(patient.user)
    form = client.get("/me/symptoms/new/").content.decode()
    assert "Your weekly check-in" in form
    answer = client.post("/me/symptoms/new/", report_form(symptom_fatigue="1"))
    assert answer.status_code == 302
    check_in.refresh_from_db()
    assert check_in.status == CheckInStatus.COMPLETED and check_in.report_id is not None
    assert "Your weekly check-in" not in client.get("/me/").content.decode()
