"""Idempotency-Key reused with a different body (issue 17, finding 6): the second body was
dropped silently and the answer described the first. Now any API write whose key already
named a different request answers 422 and stores nothing; the same request again is still
answered as a retry."""

import pytest
import time_machine
from rest_framework.test import APIClient

from medications.models import DoseLog
from patients.models import IdempotencyRecord
from tests.factories import PASSWORD
from tests.medications.conftest import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)


@pytest.fixture
def dose(patient):
    return prescribe(patient, now=START).expected_doses.get(due_at=utc(2026, 3, 2, 8))


def post(client, url, body, key):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_dose_log_key_reused_with_another_body_is_422_and_stores_nothing(api, patient, dose):
    client = api(patient.user)
    url = f"/api/v1/doses/{dose.pk}/log/"
    with time_machine.travel(utc(2026, 3, 2, 8, 5), tick=False):
        first = post(client, url, {"action": "taken"}, "phone-1")
        again = post(client, url, {"action": "taken"}, "phone-1")
        other = post(client, url, {"action": "skipped", "reason": "vomited"}, "phone-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert other.status_code == 422
    assert "already used for a different request" in other.json()["idempotency_key"][0]
    assert DoseLog.objects.count() == 1
    dose.refresh_from_db()
    assert dose.state == "taken"  # the second body changed nothing


def test_json_spacing_and_key_order_are_the_same_request(patient, dose):
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": patient.user.username, "password": PASSWORD}
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    url = f"/api/v1/doses/{dose.pk}/log/"
    with time_machine.travel(utc(2026, 3, 2, 8, 5), tick=False):
        first = client.post(
            url,
            b'{"action": "skipped", "reason": "vomited"}',
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k-2",
        )
        again = client.post(
            url,
            b'{"reason":"vomited","action":"skipped"}',
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="k-2",
        )
    assert (first.status_code, again.status_code) == (201, 200)
    assert IdempotencyRecord.objects.filter(user=patient.user, key="k-2").count() == 1


def test_a_refused_request_does_not_claim_the_key(api, patient, dose):
    client = api(patient.user)
    url = f"/api/v1/doses/{dose.pk}/log/"
    with time_machine.travel(utc(2026, 3, 2, 8, 5), tick=False):
        bad = post(client, url, {"action": "skipped"}, "k-3")  # no reason: 400
        fixed = post(client, url, {"action": "skipped", "reason": "unwell"}, "k-3")
    assert (bad.status_code, fixed.status_code) == (400, 201)


def test_keys_are_per_user(api, patient, nurse, dose):
    url = f"/api/v1/doses/{dose.pk}/log/"
    with time_machine.travel(utc(2026, 3, 2, 8, 5), tick=False):
        assert post(api(patient.user), url, {"action": "taken"}, "same").status_code == 201
        staff = post(api(nurse), url, {"action": "skipped", "reason": "unwell"}, "same")
    assert staff.status_code == 201


def test_a_symptom_report_key_reused_for_another_report_stores_nothing(api, patient):
    client = api(patient.user)
    url = "/api/v1/symptom-reports/"
    first = post(client, url, {"symptoms": [{"code": "fatigue", "grade": 1}]}, "r-1")
    other = post(client, url, {"symptoms": [{"code": "rash", "grade": 2}]}, "r-1")
    assert (first.status_code, other.status_code) == (201, 422)
    from medications.models import SymptomReport

    assert SymptomReport.objects.count() == 1


def test_old_idempotency_records_are_purged_by_the_hourly_job(patient):
    from django.core.management import call_command

    from patients.tasks import purge_idempotency_records

    with time_machine.travel(utc(2026, 3, 1, 9), tick=False):
        IdempotencyRecord.objects.create(user=patient.user, key="old", fingerprint="a" * 64)
    with time_machine.travel(utc(2026, 3, 8, 8), tick=False):
        IdempotencyRecord.objects.create(user=patient.user, key="new", fingerprint="b" * 64)
        # 7 days (IDEMPOTENCY_KEY_KEEP_DAYS) have not yet passed for "old": kept
        assert purge_idempotency_records() == {"removed": 0}
    with time_machine.travel(utc(2026, 3, 8, 10), tick=False):
        call_command("sweep", only=["idempotency-keys"])
        assert purge_idempotency_records() == {"removed": 0}  # run twice: nothing more
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
