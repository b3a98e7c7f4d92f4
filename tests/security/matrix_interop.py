"""Authorisation matrix entries of the interop app (docs/fhir.md): the clinic summary, the
patient's own export, the FHIR API and bulk export. Merged into MATRIX by
test_authorisation_matrix.py; the world's `export_job` is a completed export started by the
team's nurse."""

from __future__ import annotations

from .matrix_vocabulary import (
    FHIR_HIDDEN,
    FHIR_OWN_RECORD,
    FHIR_SEES,
    FHIR_SIGNED_IN,
    NURSE_OBJECT_PAGE,
    PATIENT_OWN_DOWNLOAD,
    Check,
    outcomes,
)

INTEROP_MATRIX: dict[str, list[Check]] = {
    # --- interop: clinic summary, the patient's own export, FHIR --------------------------
    "interop:clinic_summary": [
        Check("GET", "/nurse/patients/{patient}/summary/", NURSE_OBJECT_PAGE),
    ],
    "interop:clinic_summary_pdf": [
        Check("GET", "/nurse/patients/{patient}/summary/pdf/", NURSE_OBJECT_PAGE),
    ],
    "interop:my_export": [Check("GET", "/me/export/", PATIENT_OWN_DOWNLOAD)],
    "interop:my_export_fhir": [Check("GET", "/me/export/fhir/", PATIENT_OWN_DOWNLOAD)],
    "patient-export": [
        Check(
            "GET",
            "/api/v1/patients/{patient}/export/",
            outcomes(401, 200, 404, 403, 404, 200),
            note="the patient and admins; the team's nurse is refused by role",
        ),
    ],
    "fhir-metadata": [Check("GET", "/fhir/r4/metadata", FHIR_SIGNED_IN)],
    "fhir-everything": [
        Check("GET", "/fhir/r4/Patient/{patient}/$everything", FHIR_OWN_RECORD),
    ],
    "fhir-read": [
        Check("GET", "/fhir/r4/Patient/{patient}", FHIR_OWN_RECORD),
        Check("GET", "/fhir/r4/MedicationRequest/rx{prescription}-1", FHIR_OWN_RECORD),
        Check(
            "GET",
            "/fhir/r4/MedicationStatement/{dose}",
            outcomes(401, 404, 404, 404, 404, 404),
            note="a dose still upcoming is no statement yet",
        ),
        Check("GET", "/fhir/r4/QuestionnaireResponse/{symptom_report}", FHIR_OWN_RECORD),
        Check("GET", "/fhir/r4/Flag/{alert}", FHIR_OWN_RECORD),
        Check("GET", "/fhir/r4/Organization/{team}", FHIR_OWN_RECORD),
        Check("GET", "/fhir/r4/Questionnaire/symptom-report", FHIR_SIGNED_IN),
        Check("GET", "/fhir/r4/Medication/sorafenib", FHIR_SIGNED_IN),
    ],
    "fhir-search": [
        Check(
            "GET",
            "/fhir/r4/Patient",
            outcomes(401, FHIR_SEES, FHIR_HIDDEN, FHIR_SEES, FHIR_HIDDEN, FHIR_SEES),
        ),
        Check("GET", "/fhir/r4/QuestionnaireResponse?patient={patient}", FHIR_OWN_RECORD),
        Check("GET", "/fhir/r4/Flag?patient=Patient/{patient}", FHIR_OWN_RECORD),
    ],
    "fhir-group-export": [
        Check(
            "GET",
            "/fhir/r4/Group/{team}/$export",
            outcomes(401, 404, 404, 400, 404, 400),
            note="allowed users get 400 here: the matrix sends no Prefer: respond-async",
        ),
    ],
    "fhir-bulk-status": [
        Check(
            "GET",
            "/fhir/r4/bulk-status/{export_job}",
            outcomes(401, 404, 404, 200, 404, 404),
            note="the nurse's own export; nobody else's, not even an admin's",
        ),
    ],
    "fhir-bulk-file": [
        Check(
            "GET",
            "/fhir/r4/bulk-files/{export_job}/Patient.ndjson",
            outcomes(401, 404, 404, 200, 404, 404),
        ),
    ],
    "fhir-not-found": [Check("GET", "/fhir/r4/no/such/thing", outcomes(401, *[404] * 5))],
}
