"""API token lifecycle (issue 17, finding 5: tokens outlived sign-out and a password change,
and never expired). Tokens now expire API_TOKEN_TTL_DAYS after their last use (sliding),
DELETE /api/v1/auth/token/ ends the caller's, a password change ends all of a user's, and an
admin's "Sign out everywhere" ends every token and session."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"


def token_client(user) -> tuple[APIClient, str]:
    client = APIClient()
    response = client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    key = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def test_delete_ends_the_callers_token(patient):
    client, key = token_client(patient.user)
    assert client.get("/api/v1/doses/").status_code == 200
    assert client.delete(TOKEN_URL).status_code == 204
    assert client.get("/api/v1/doses/").status_code == 401
    assert not Token.objects.filter(key=key).exists()
    assert APIClient().delete(TOKEN_URL).status_code == 401  # nobody's token to end


def test_a_token_expires_after_the_ttl_without_use_and_slides_with_use(patient, settings):
    settings.API_TOKEN_TTL_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client, key = token_client(patient.user)
    with time_machine.travel(start + timedelta(days=20), tick=False):
        assert client.get("/api/v1/doses/").status_code == 200  # slides it on
    with time_machine.travel(start + timedelta(days=45), tick=False):
        assert client.get("/api/v1/doses/").status_code == 200  # 25 days after its last use
    with time_machine.travel(start + timedelta(days=76), tick=False):
        expired = client.get("/api/v1/doses/")
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
        _, new_key = token_client(patient.user)  # signing in again gives a new one
    assert new_key != key


def test_a_password_change_ends_every_token_of_the_user(client, patient, other_patient):
    api_client, _ = token_client(patient.user)
    other_client, _ = token_client(other_patient.user)
    client.post("/accounts/login/", {"username": patient.user.username, "password": PASSWORD})
    changed = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase-42",
            "new_password2": "another-long-passphrase-42",
        },
    )
    assert changed.status_code == 302
    assert api_client.get("/api/v1/doses/").status_code == 401
    assert other_client.get("/api/v1/doses/").status_code == 200  # only that user's


def test_a_password_set_elsewhere_ends_the_tokens_too(patient):
    api_client, _ = token_client(patient.user)
    patient.user.last_login = timezone.now()
    patient.user.save(update_fields=["last_login"])  # not a password change
    assert api_client.get("/api/v1/doses/").status_code == 200
    patient.user.set_password("set-by-an-admin-2026")
    patient.user.save()
    assert api_client.get("/api/v1/doses/").status_code == 401


def test_admin_sign_out_everywhere_ends_sessions_and_tokens(client, admin_user, nurse):
    from django.test import Client

    nurse_browser = Client()
    nurse_browser.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    assert nurse_browser.get("/nurse/").status_code == 200
    api_client, _ = token_client(nurse)

    client.post("/accounts/login/", {"username": admin_user.username, "password": PASSWORD})
    response = client.post(
        "/admin/auth/user/",
        {"action": "sign_out_everywhere", "_selected_action": [nurse.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"1 session(s) and 1 API token(s) ended" in response.content
    assert api_client.get("/api/v1/doses/").status_code == 401
    assert nurse_browser.get("/nurse/").status_code == 302  # back to the sign-in page
    assert client.get("/admin/").status_code == 200  # the admin's own session is untouched
    assert Session.objects.count() >= 1
