"""Code systems and fixed codes used in our FHIR resources (docs/fhir.md, "Code systems").

External codes only where they are published and verified: SNOMED CT substances and ATC
from ../shared/clinical/drugs.md, LOINC for vital signs, SNOMED routes, UCUM units, HL7
terminology. Everything of our own (symptom codes, grades, triage levels, alert kinds) is
named under settings.FHIR_CODE_SYSTEM_BASE.
"""

from __future__ import annotations

from django.conf import settings

FHIR_VERSION = "4.3.0"  # R4B: wire-compatible with R4 for every resource served here
JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_PRIORITY_EXTENSION = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY = "http://hl7.org/fhir/flag-priority-code"
MEDICATION_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
REASON_MEDICATION_NOT_GIVEN = "http://terminology.hl7.org/CodeSystem/reason-medication-not-given"

ROUTES = {
    "oral": (SNOMED, "26643006", "Oral route"),
    "iv": (SNOMED, "47625008", "Intravenous route"),
}

TEMPERATURE = (LOINC, "8310-5", "Body temperature")
BLOOD_PRESSURE = (LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = (LOINC, "8480-6", "Systolic blood pressure")
DIASTOLIC = (LOINC, "8462-4", "Diastolic blood pressure")

# Triage level -> HL7 v3 interpretation, given beside our own code (never instead of it).
LEVEL_INTERPRETATION = {
    "green": ("N", "Normal"),
    "amber": ("A", "Abnormal"),
    "red": ("AA", "Critical abnormal"),
}
LEVEL_FLAG_PRIORITY = {"green": ("PL", "Low priority"), "amber": ("PM", "Medium priority")}
LEVEL_FLAG_PRIORITY["red"] = ("PH", "High priority")


def our_system(name: str) -> str:
    """Canonical URL of one of our own code systems, e.g. our_system("symptom")."""
    return f"{settings.FHIR_CODE_SYSTEM_BASE}/CodeSystem/{name}"


def our_extension(name: str) -> str:
    return f"{settings.FHIR_CODE_SYSTEM_BASE}/StructureDefinition/{name}"


def questionnaire_url() -> str:
    return f"{settings.FHIR_CODE_SYSTEM_BASE}/Questionnaire/symptom-report"


def prescription_identifier_system() -> str:
    return f"{settings.FHIR_CODE_SYSTEM_BASE}/Id/prescription"


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict, text: str | None = None) -> dict:
    out: dict = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def mg(value) -> dict:
    number = float(value)
    return {
        "value": int(number) if number.is_integer() else number,
        "unit": "mg",
        "system": UCUM,
        "code": "mg",
    }
