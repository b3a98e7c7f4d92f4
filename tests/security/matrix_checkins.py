"""Authorisation matrix entries (test_authorisation_matrix.MATRIX) of issue 15: expected
symptom levels (API and the nurse's patient page), check-ins, and PATCH of a patient."""

from __future__ import annotations

from .matrix_vocabulary import LOGIN, Check, outcomes

STAFF_ONLY_OWN = outcomes(401, 403, 403, 200, 404, 200)

CHECKINS_MATRIX: dict[str, list[Check]] = {
    "patient-expected-symptoms": [
        Check("GET", "/api/v1/patients/{patient}/expected-symptoms/", STAFF_ONLY_OWN),
        Check(
            "POST",
            "/api/v1/patients/{patient}/expected-symptoms/",
            outcomes(401, 403, 403, 201, 404, 201),
            body={"code": "hand_foot", "max_grade": 2, "until": "{today}", "reason": "creams"},
            note="patients are refused by role; another team's nurse cannot reach the patient",
        ),
    ],
    "expected-symptom": [
        Check(
            "DELETE",
            "/api/v1/expected-symptoms/999999999/",
            outcomes(401, 403, 403, 404, 404, 404),
        ),
    ],
    "check-in-list": [
        Check("GET", "/api/v1/check-ins/", outcomes(401, 200, 200, 200, 200, 200)),
        Check(
            "GET", "/api/v1/check-ins/?patient={patient}", outcomes(401, 200, 404, 200, 404, 200)
        ),
    ],
    "notifications:expected_symptom_set": [
        Check(
            "POST",
            "/nurse/patients/{patient}/expected-symptoms/",
            outcomes(LOGIN, 404, 404, 400, 404, 400),
            body={},
        ),
    ],
    "notifications:check_ins_change": [
        Check(
            "POST",
            "/nurse/patients/{patient}/check-ins/weekday/",
            outcomes(LOGIN, 404, 404, 302, 404, 302),
            body={"weekday": "2"},
        ),
    ],
    "notifications:expected_symptom_end": [
        Check(
            "POST",
            "/nurse/patients/{patient}/expected-symptoms/999999999/end/",
            outcomes(LOGIN, 404, 404, 404, 404, 404),
        ),
    ],
}

# PATCH /api/v1/patients/{id}/ (API.md, second round): staff only, the patient's team.
PATIENT_PATCH_CHECKS = [
    Check(
        "PATCH",
        "/api/v1/patients/{patient}/",
        outcomes(401, 403, 403, 200, 404, 200),
        body={"has_bp_monitor": True},
    ),
]
