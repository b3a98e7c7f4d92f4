"""Authorisation matrix entries (test_authorisation_matrix.MATRIX) of dose reminders, push
subscriptions, the "Taken" link and the installable web app (issue 14; docs/alerts.md,
docs/patient-app.md). The world's `subscription` is a device of the world's patient."""

from __future__ import annotations

from tests.notifications.push_helpers import BrowserKeys

from .matrix_vocabulary import (
    API_OWN_RECORD,
    API_SIGNED_IN,
    LOGIN,
    PAGE_PUBLIC,
    PAGE_SIGNED_IN,
    REDIRECT,
    Check,
    outcomes,
)

# A browser's PushSubscription JSON (the keys as PushManager.subscribe makes them).
PUSH_SUBSCRIPTION = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/matrix-device",
    "keys": {"p256dh": BrowserKeys.new().p256dh, "auth": BrowserKeys.new().auth_b64},
}

PUSH_MATRIX: dict[str, list[Check]] = {
    "account": [
        Check("GET", "/accounts/", PAGE_SIGNED_IN),
        Check(
            "POST",
            "/accounts/",
            outcomes(LOGIN, REDIRECT, REDIRECT, 405, 405, 405),
            body={"action": "reminders", "enabled": "on", "minutes_before": "15"},
            note="a patient's own reminder settings; staff have none here",
        ),
    ],
    "manifest": [Check("GET", "/manifest.webmanifest", PAGE_PUBLIC)],
    "service-worker": [Check("GET", "/sw.js", PAGE_PUBLIC)],
    "offline": [Check("GET", "/offline/", PAGE_PUBLIC)],
    "patient-reminders": [
        Check("GET", "/api/v1/patients/{patient}/reminders/", API_OWN_RECORD),
        Check(
            "PUT",
            "/api/v1/patients/{patient}/reminders/",
            API_OWN_RECORD,
            body={"enabled": True, "minutes_before": 15},
        ),
    ],
    "push-key": [Check("GET", "/api/v1/push/key/", API_SIGNED_IN)],
    "push-subscriptions": [
        Check(
            "POST",
            "/api/v1/push-subscriptions/",
            outcomes(401, 201, 201, 403, 403, 403),
            body=PUSH_SUBSCRIPTION,
            note="a patient subscribes their own browser; staff have no reminders",
        )
    ],
    "push-subscription-detail": [
        Check(
            "DELETE",
            "/api/v1/push-subscriptions/{subscription}/",
            outcomes(401, 204, 404, 403, 403, 403),
        )
    ],
    "push-taken": [
        Check(
            "POST",
            "/api/v1/push/taken/{dose}/",
            outcomes(*[404] * 6),
            note="the signed link is the only authority: without it a session changes nothing",
        )
    ],
}
