"""Symptom report inputs of the second round (clinical/triage.md "Inputs of one report"):
`symptoms` may be left out when a measurement is given; notes up to 2,000 characters."""

import pytest
import time_machine

from medications.models import SymptomReport

from .conftest import utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 3, 2, 10)


def post(client, body):
    with time_machine.travel(NOW, tick=False):
        return client.post("/api/v1/symptom-reports/", body, format="json")


def test_a_temperature_alone_is_a_red_report(api, patient):
    response = post(api(patient.user), {"temperature_c": 38.2})
    assert response.status_code == 201, response.json()
    assert response.json()["triage"]["level"] == "red"
    report = SymptomReport.objects.get()
    assert report.symptoms == [] and str(report.temperature_c) == "38.2"


def test_a_blood_pressure_alone_is_a_report(api, patient):
    response = post(api(patient.user), {"systolic_bp": 182, "diastolic_bp": 95})
    assert response.status_code == 201, response.json()
    assert response.json()["triage"]["level"] in ("amber", "red")


def test_without_symptoms_or_a_measurement_the_400_names_symptoms(api, patient):
    response = post(api(patient.user), {"notes": "feeling off"})
    assert response.status_code == 400
    assert "unless a measurement is given" in response.json()["symptoms"][0]
    assert not SymptomReport.objects.exists()


def test_a_note_of_2000_characters_is_kept_whole(api, patient):
    note = "é" * 2000
    response = post(api(patient.user), {"temperature_c": 38.5, "notes": note})
    assert response.status_code == 201
    assert SymptomReport.objects.get().notes == note


def test_a_note_over_2000_characters_is_refused_naming_notes(api, patient):
    response = post(api(patient.user), {"temperature_c": 38.5, "notes": "x" * 2001})
    assert response.status_code == 400
    assert list(response.json()) == ["notes"]
    assert "2000 characters" in response.json()["notes"][0]
    assert not SymptomReport.objects.exists()
