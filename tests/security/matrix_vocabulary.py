"""The words of the authorisation matrix (test_authorisation_matrix.py): the six users, the
outcomes, the common rows, and one Check. Kept apart so the matrix's entries can live in
more than one module (matrix_interop.py) without either growing past 700 lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --- the six users -------------------------------------------------------------------------
ANON = "anonymous"
PATIENT = "patient"  # owns the record in the path
OTHER_PATIENT = "other_patient"  # another team's patient
NURSE = "nurse"  # a nurse of the patient's care team
OTHER_NURSE = "other_nurse"  # a nurse of another team only
ADMIN = "admin"
ROLES = (ANON, PATIENT, OTHER_PATIENT, NURSE, OTHER_NURSE, ADMIN)

# --- outcomes ------------------------------------------------------------------------------
# An int is the exact status code. These strings mean:
LOGIN = "login"  # 302 to the sign-in page (/accounts/login/?next=...)
ADMIN_LOGIN = "admin_login"  # 302 to the admin sign-in page
REDIRECT = "redirect"  # 302 somewhere else (e.g. home -> the user's start page)
SEES = "200 sees"  # 200, and the answer includes the world's patient
HIDDEN = "200 hidden"  # 200, and the answer does not include the world's patient
FHIR_SEES = "200 fhir sees"  # 200, a FHIR Bundle naming the world's patient
FHIR_HIDDEN = "200 fhir hidden"  # 200, a FHIR Bundle that does not name the world's patient


def outcomes(anonymous, patient, other_patient, nurse, other_nurse, admin) -> dict[str, int | str]:
    return dict(
        zip(ROLES, (anonymous, patient, other_patient, nurse, other_nurse, admin), strict=True)
    )


# Common rows (API.md "Authentication and roles").
API_SIGNED_IN = outcomes(401, 200, 200, 200, 200, 200)  # e.g. the drug catalogue
API_OWN_RECORD = outcomes(401, 200, 404, 200, 404, 200)  # the patient, their team, admin
API_STAFF_LIST = outcomes(401, 403, 403, SEES, HIDDEN, SEES)  # nurse/admin lists
API_SCOPED_LIST = outcomes(401, SEES, HIDDEN, SEES, HIDDEN, SEES)  # lists everyone may read
# Staff-only action on an object of the patient: patients are refused by role (403 reveals
# nothing: they may never do it); the other team's nurse gets 404 (out of reach).
API_STAFF_ACTION = outcomes(401, 403, 403, 200, 404, 200)
API_STAFF_CREATE = outcomes(401, 403, 403, 201, 400, 201)  # body names a patient out of reach
PAGE_SIGNED_IN = outcomes(LOGIN, 200, 200, 200, 200, 200)
PATIENT_PAGE = outcomes(LOGIN, 200, 200, REDIRECT, REDIRECT, REDIRECT)  # /me/: staff sent home
PATIENT_OBJECT_PAGE = outcomes(LOGIN, 200, 404, REDIRECT, REDIRECT, REDIRECT)
NURSE_PAGE = outcomes(LOGIN, 404, 404, 200, 200, 200)  # /nurse/: staff only
NURSE_OBJECT_PAGE = outcomes(LOGIN, 404, 404, 200, 404, 200)
PATIENT_OWN_DOWNLOAD = outcomes(LOGIN, 200, 200, 404, 404, 404)  # /me/export/: patients only
# FHIR (/fhir/r4/, interop): the JSON API's rules, answered as FHIR (401 with a token).
FHIR_OWN_RECORD = outcomes(401, 200, 404, 200, 404, 200)
FHIR_SIGNED_IN = outcomes(401, 200, 200, 200, 200, 200)
PAGE_PUBLIC = outcomes(200, 200, 200, 200, 200, 200)


@dataclass(frozen=True)
class Check:
    """One request. `path` and string values in `body` may name world objects in braces:
    {patient} {other_patient} {newcomer} {team} {prescription} {dose} {course} {infusion}
    {drug} {symptom_report} {alert} {subscription} {username} {today} {now} {later}."""

    method: str
    path: str
    expect: dict[str, int | str]
    body: Any = None
    note: str = ""
    # Requests made first, as the admin, to put the world in the state this check needs,
    # e.g. a hold before "resume": ((method, path, body), ...).
    before: tuple = ()
