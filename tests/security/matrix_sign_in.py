"""Authorisation matrix entries (test_authorisation_matrix.MATRIX) of the patient pages of
issue 13: the symptom report in steps, password reset by e-mail, the session state, and the
nurse's one-time sign-in link (docs/security.md)."""

from __future__ import annotations

from .matrix_vocabulary import (
    LOGIN,
    PAGE_PUBLIC,
    PAGE_SIGNED_IN,
    PATIENT_PAGE,
    Check,
    outcomes,
)

STAFF_FOR_THEIR_PATIENT = outcomes(LOGIN, 404, 404, 200, 404, 200)

SIGN_IN_MATRIX: dict[str, list[Check]] = {
    # The symptom report in steps (issue 13): patients only, like the whole form.
    "medications:symptom_steps": [
        Check("GET", "/me/symptoms/report/", PATIENT_PAGE),
        Check(
            "POST",
            "/me/symptoms/report/",
            outcomes(LOGIN, 200, 200, 404, 404, 404),
            body={"step": "signs", "action": "next"},
            note="the next step (200); staff may not post here",
        ),
    ],
    "password_reset": [Check("GET", "/accounts/password-reset/", PAGE_PUBLIC)],
    "password_reset_done": [Check("GET", "/accounts/password-reset/sent/", PAGE_PUBLIC)],
    "password_reset_confirm": [
        Check(
            "GET",
            "/accounts/password-reset/MQ/not-a-token/",
            PAGE_PUBLIC,
            note="an invalid link says so",
        )
    ],
    "password_reset_complete": [Check("GET", "/accounts/password-reset/done/", PAGE_PUBLIC)],
    "session_state": [Check("GET", "/accounts/session/", outcomes(401, *[200] * 5))],
    "sign_in_link": [
        Check("GET", "/accounts/link/not-a-token/", PAGE_PUBLIC, note="says it no longer works"),
        Check("POST", "/accounts/link/not-a-token/", outcomes(*[410] * 6)),
    ],
    "sign_in_link_password": [Check("GET", "/accounts/link-password/", PAGE_SIGNED_IN)],
    "patient_sign_in_link": [
        Check("GET", "/accounts/patients/{patient}/sign-in-link/", STAFF_FOR_THEIR_PATIENT),
        Check(
            "POST",
            "/accounts/patients/{patient}/sign-in-link/",
            STAFF_FOR_THEIR_PATIENT,
            note="staff of the patient's team (and admins) issue links; others 404",
        ),
    ],
}
