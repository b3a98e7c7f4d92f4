"""History, second round (issue 13 point 5): adherence counts only doses whose window has
closed (or that were taken), infusion-only patients see their infusion calendar, dose
changes and holds in plain words, brand text cleaned."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from medications import services
from medications.models import DoseState, ExpectedDose
from medications.pages.words import brand_name, brand_note
from tests.factories import PatientFactory

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _long_sessions(settings):
    settings.SESSION_COOKIE_AGE = 60 * 60 * 24 * 30


def text_of(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def page(client, user, path, when):
    client.force_login(user)
    with time_machine.travel(when, tick=False):
        return text_of(client.get(path))


def test_a_dose_still_inside_its_window_is_not_counted_as_not_taken(client, patient):
    # Once daily at 08:00 from 2 March; 2-7 March taken; at 08:52 on 8 March the day's dose
    # may still be taken: "6 of 6", not "6 of 7, 86%".
    prescription = prescribe(patient, times=("08:00",), now=utc(2026, 3, 2, 7))
    ExpectedDose.objects.filter(prescription=prescription, due_at__lt=utc(2026, 3, 8)).update(
        state=DoseState.TAKEN, taken_at=utc(2026, 3, 2, 8)
    )
    text = page(client, patient.user, "/me/history/", utc(2026, 3, 8, 8, 52))
    assert "6 of 6 doses taken" in text and "86%" not in text
    later = page(client, patient.user, "/me/history/", utc(2026, 3, 8, 14, 30))
    assert "6 of 7 doses taken" in later  # the window closed at 14:00 with nothing logged


def test_an_infusion_only_patient_sees_their_infusion_calendar(client, team):
    patient = PatientFactory(care_team=team, last_upper_endoscopy_on=date(2026, 2, 1))
    services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=utc(2026, 3, 3, 9, 30),
        now=utc(2026, 3, 2, 9),
    )
    text = page(client, patient.user, "/me/history/", utc(2026, 3, 10, 12))
    assert "no tablets planned" not in text
    assert "Your infusions: the last 6 weeks and the next 3" in text
    assert "Tuesday 3 March: Infusion planned." in text or "Tuesday 3 March: Infusion" in text
    assert "Tuesday 24 March: Infusion planned." in text  # the next one, 21 days later
    assert "The last 7 days, dose by dose" not in text


def test_a_dose_change_and_a_hold_are_told_in_plain_words(client, patient, nurse):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    services.prescription_change_dose(
        prescription=prescription,
        dose_mg=Decimal(400),
        times=["08:00"],
        reason="Hand-foot skin reaction grade 2 (staff only)",
        effective_at=utc(2026, 3, 5, 0),
        recorded_by=nurse,
        now=utc(2026, 3, 4, 12),
    )
    services.prescription_hold(
        prescription=prescription,
        reason="BP high (staff only)",
        starts_at=utc(2026, 3, 9, 0),
        ends_at=utc(2026, 3, 16, 0),
        recorded_by=nurse,
        now=utc(2026, 3, 8, 12),
    )
    text = page(client, patient.user, "/me/history/", utc(2026, 3, 10, 12))
    assert "Changes to your treatment" in text
    assert "From 5 Mar your team changed sorafenib to once a day at 08:00." in text
    assert "From 9 Mar your team paused sorafenib until 16 Mar." in text
    assert "staff only" not in text


@pytest.mark.parametrize(
    ("brand", "name", "note"),
    [
        (
            "Cabometyx (tablets; not interchangeable with Cometriq capsules)",
            "Cabometyx",
            "Tablets; not interchangeable with Cometriq capsules.",
        ),
        ("Nexavar", "Nexavar", ""),
        ("", "", ""),
    ],
)
def test_brand_text_is_cleaned(brand, name, note):
    assert (brand_name(brand), brand_note(brand)) == (name, note)


def test_cabozantinib_brand_is_not_nested_on_my_treatment(client, patient):
    prescribe(
        patient,
        "cabozantinib",
        times=("08:00",),
        dose="60",
        now=utc(2026, 3, 2, 7),
        override_reason="Sorafenib given elsewhere",
    )
    text = page(client, patient.user, "/me/treatment/", utc(2026, 3, 3, 12))
    assert "Cabozantinib (Cabometyx)" in text
    assert "Cabometyx (tablets" not in text
    assert "Tablets; not interchangeable with Cometriq capsules." in text


def test_history_shows_no_change_list_without_changes(client, patient):
    prescribe(patient, now=utc(2026, 3, 2, 7))
    text = page(client, patient.user, "/me/history/", utc(2026, 3, 3, 12) + timedelta(hours=1))
    assert "Changes to your treatment" not in text
