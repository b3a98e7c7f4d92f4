"""Sign-in protection (OWASP ASVS 2.2, 2.1, 3.3): lock-out after repeated failures on the
sign-in page and the API token endpoint (django-axes), API rate limits (DRF throttling),
strong passwords, and staff sessions that end after 30 minutes without activity."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True  # tests/conftest.py turns it off for every other test
    return settings.AXES_FAILURE_LIMIT


def test_sign_in_page_locks_after_repeated_failures(client, nurse, axes_on):
    for _ in range(axes_on - 1):
        response = client.post(LOGIN_URL, {"username": nurse.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    locked = client.post(LOGIN_URL, {"username": nurse.username, "password": "wrong"})
    assert locked.status_code == 429
    assert b"Sign-in is locked for 15 minutes" in locked.content
    # Even the right password is refused while locked out.
    again = client.post(LOGIN_URL, {"username": nurse.username, "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_token_endpoint_locks_after_repeated_failures_with_a_clear_message(api, nurse, axes_on):
    client = api(None)
    body = {"username": nurse.username, "password": "wrong"}
    for _ in range(axes_on - 1):
        response = client.post(TOKEN_URL, body, format="json")
        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["Unable to sign in with those details."]}
    locked = client.post(TOKEN_URL, body, format="json")
    assert locked.status_code == 429
    assert locked["Content-Type"].startswith("application/json")
    assert "Sign-in is locked for 15 minutes" in locked.json()["detail"]
    assert locked["Retry-After"] == "900"
    right = client.post(
        TOKEN_URL, {"username": nurse.username, "password": PASSWORD}, format="json"
    )
    assert right.status_code == 429 and "token" not in right.json()


def test_lock_out_is_per_account_and_ends_after_the_cool_off(api, nurse, other_nurse, axes_on):
    client = api(None)
    for _ in range(axes_on):
        client.post(TOKEN_URL, {"username": nurse.username, "password": "wrong"}, format="json")
    other = {"username": other_nurse.username, "password": PASSWORD}
    assert client.post(TOKEN_URL, other, format="json").status_code == 200
    mine = {"username": nurse.username, "password": PASSWORD}
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert client.post(TOKEN_URL, mine, format="json").status_code == 200


def test_token_endpoint_is_rate_limited(api, nurse):
    client = api(None)
    body = {"username": nurse.username, "password": "wrong"}
    codes = [client.post(TOKEN_URL, body, format="json").status_code for _ in range(11)]
    assert codes[:10] == [400] * 10  # the "login" rate: 10 a minute per address
    assert codes[10] == 429


def test_api_is_rate_limited_per_user(api, nurse, patient, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/minute")
    client = api(nurse)
    codes = [client.get("/api/v1/drugs/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/drugs/")
    assert "throttled" in response.json()["detail"].lower() and "Retry-After" in response


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1", "too short"),
        ("password1234", "too common"),
        ("8467392012", "entirely numeric"),
        ("newpatient77", "too similar"),
    ],
)
def test_weak_passwords_are_refused_at_enrolment(api, nurse, password, message):
    body = {
        "username": "newpatient77",
        "password": password,
        "given_name": "Jo",
        "family_name": "Bloggs",
        "nhs_number": "943 476 5919",
        "date_of_birth": "1957-04-01",
        "weight_kg": "68.5",
        "child_pugh_class": "A",
        "performance_status": 1,
    }
    response = api(nurse).post("/api/v1/patients/", body, format="json")
    assert response.status_code == 400
    assert any(message in text for text in response.json()["password"]), response.json()


def test_staff_session_ends_after_30_minutes_without_activity(client, nurse, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post(LOGIN_URL, {"username": nurse.username, "password": PASSWORD})
        assert client.get("/accounts/").status_code == 200
    # Activity every 25 minutes keeps the session alive (each request renews it)...
    for minutes in (25, 50, 75):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/accounts/").status_code == 200
    # ...31 minutes of silence ends it: back to the sign-in page.
    with time_machine.travel(start + timedelta(minutes=75 + 31), tick=False):
        response = client.get("/accounts/")
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN_URL)


def test_session_api_calls_need_the_csrf_token(nurse, patient):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(nurse)
    response = client.post("/api/v1/prescriptions/", {}, format="json")
    assert response.status_code == 403
    assert "csrf" in response.json()["detail"].lower()
