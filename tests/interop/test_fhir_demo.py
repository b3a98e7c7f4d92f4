"""Acceptance (issue 18): every resource the FHIR API can return, for every demo patient,
parses with the fhir.resources R4B models; references resolve inside the $everything
Bundle; counts match the database; each resource reads back alone and through its search."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from medications.models import (
    AppointmentState,
    DoseState,
    ExpectedDose,
    InfusionAppointment,
    SymptomReport,
)
from notifications.models import Alert
from patients.models import Patient
from tracker.demo import seed_demo

from .helpers import FHIR, by_type, fhir_client, parse, references

pytestmark = pytest.mark.django_db


def _observation_count(patient: Patient) -> int:
    total = 0
    for report in SymptomReport.objects.filter(patient=patient):
        total += report.temperature_c is not None
        total += report.systolic_bp is not None and report.diastolic_bp is not None
        total += len([i for i in report.symptoms if isinstance(i, dict)])
    return total


def _statement_count(patient: Patient) -> int:
    outcomes = [DoseState.TAKEN, DoseState.TAKEN_LATE, DoseState.SKIPPED, DoseState.MISSED]
    done = ExpectedDose.objects.filter(patient=patient, state__in=outcomes).count()
    overdue = ExpectedDose.objects.filter(
        patient=patient, state=DoseState.PENDING, late_until__lte=timezone.now()
    ).count()
    return done + overdue


def _administration_count(patient: Patient) -> int:
    given = InfusionAppointment.objects.filter(patient=patient, state=AppointmentState.GIVEN)
    return sum(len(a.doses) for a in given)


def test_every_demo_patients_record_is_valid_fhir_with_resolving_references_and_true_counts():
    seed_demo()
    admin = fhir_client(User.objects.get(username="admin"))
    seen_types: set[str] = set()
    for patient in Patient.objects.all():
        response = admin.get(f"{FHIR}/Patient/{patient.pk}/$everything")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/fhir+json")
        body = response.json()
        Bundle.model_validate(body)
        resources = [entry["resource"] for entry in body["entry"]]
        for resource in resources:
            parse(resource)
        present = {f"{r['resourceType']}/{r['id']}" for r in resources}
        for resource in resources:
            dangling = references(resource) - present
            assert not dangling, f"{resource['resourceType']}/{resource['id']}: {dangling}"
        for entry in body["entry"]:
            assert entry["fullUrl"].endswith(
                f"/{entry['resource']['resourceType']}/{entry['resource']['id']}"
            )
        assert body["total"] == len(resources) == len(present)

        typed = by_type(body)
        seen_types |= set(typed)
        assert len(typed["Patient"]) == 1
        assert typed["Patient"][0]["identifier"][0] == {
            "system": "https://fhir.nhs.uk/Id/nhs-number",
            "value": patient.nhs_number,
        }
        assert len(typed.get("MedicationStatement", [])) == _statement_count(patient)
        assert len(typed.get("QuestionnaireResponse", [])) == patient.symptom_reports.count()
        assert len(typed.get("Observation", [])) == _observation_count(patient)
        assert (
            len(typed.get("Flag", [])) == Alert.objects.unresolved().filter(patient=patient).count()
        )
        assert len(typed.get("MedicationAdministration", [])) == _administration_count(patient)

        # Each resource reads back alone, identical; each search by patient finds them all.
        for resource in resources:
            alone = admin.get(f"{FHIR}/{resource['resourceType']}/{resource['id']}")
            assert alone.status_code == 200, resource["id"]
            assert alone.json() == resource
        for type_name, items in typed.items():
            if type_name in ("Organization", "Medication", "Questionnaire", "Patient"):
                continue
            found = admin.get(
                f"{FHIR}/{type_name}", {"patient": f"Patient/{patient.pk}", "_count": 500}
            )
            assert found.status_code == 200
            assert found.json()["total"] == len(items)
            assert {e["resource"]["id"] for e in found.json()["entry"]} == {i["id"] for i in items}
    assert seen_types == {
        "Patient",
        "Organization",
        "Medication",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationAdministration",
        "Questionnaire",
        "QuestionnaireResponse",
        "Observation",
        "Flag",
    }


def test_demo_drug_codes_and_measurements_use_the_published_code_systems():
    seed_demo()
    admin = fhir_client(User.objects.get(username="admin"))
    sam = Patient.objects.get(user__username="sam")
    requests = admin.get(f"{FHIR}/MedicationRequest", {"patient": sam.pk}).json()["entry"]
    assert requests[0]["resource"]["medicationReference"] == {"reference": "Medication/sorafenib"}
    codings = admin.get(f"{FHIR}/Medication/sorafenib").json()["code"]["coding"]
    assert {
        "system": "http://snomed.info/sct",
        "code": "422042001",
        "display": "Sorafenib",
    } in codings
    assert any(c["system"] == "http://www.whocc.no/atc" and c["code"] == "L01EX02" for c in codings)

    priya = Patient.objects.get(user__username="priya")
    panels = admin.get(
        f"{FHIR}/Observation", {"patient": priya.pk, "code": "http://loinc.org|85354-9"}
    ).json()
    assert panels["total"] == priya.symptom_reports.filter(systolic_bp__isnull=False).count() > 0
    latest = max(panels["entry"], key=lambda e: e["resource"]["effectiveDateTime"])["resource"]
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in latest["component"]}
    assert components["8480-6"] == {
        "value": 148,
        "unit": "mmHg",
        "system": "http://unitsofmeasure.org",
        "code": "mm[Hg]",
    }
    assert components["8462-4"]["value"] == 92
    # The demo's one amber: blood pressure 148/92, its triage level the interpretation.
    interpretation = latest["interpretation"][0]["coding"]
    assert interpretation[0]["code"] == "amber"
    assert {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": "A",
        "display": "Abnormal",
    } in interpretation

    mary = Patient.objects.get(user__username="mary")
    temperature = admin.get(f"{FHIR}/Observation", {"patient": mary.pk, "code": "8310-5"}).json()
    assert temperature["total"] == 1
    value = temperature["entry"][0]["resource"]["valueQuantity"]
    assert value == {
        "value": 36.8,
        "unit": "°C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
