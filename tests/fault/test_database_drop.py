"""The PostgreSQL connection dropped under a request: a clean error answer, nothing
half-written, and the next request works."""

import psycopg
import pytest
from django.db import connection
from django.db.models.signals import post_save
from rest_framework.test import APIClient

from medications.models import SymptomReport
from notifications.models import Alert, Delivery

from .conftest import report_line

pytestmark = [
    pytest.mark.fault,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_the_database_connection_dropped_mid_request(patient):
    settings_dict = connection.settings_dict
    dropped = []

    def drop_connection(sender, instance, created, **kwargs):
        if dropped:
            return
        pid = connection.connection.info.backend_pid
        with psycopg.connect(
            host=settings_dict["HOST"] or "127.0.0.1",
            port=settings_dict["PORT"] or 5432,
            user=settings_dict["USER"] or "postgres",
            password=settings_dict.get("PASSWORD") or None,
            dbname=settings_dict["NAME"],
            autocommit=True,
        ) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        dropped.append(pid)

    post_save.connect(drop_connection, sender=SymptomReport, dispatch_uid="fault.drop")
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(patient.user)
    body = {"symptoms": [{"code": "chest_pain", "grade": 1}], "notes": "tight chest"}
    try:
        failed = client.post("/api/v1/symptom-reports/", body, format="json")
    finally:
        post_save.disconnect(sender=SymptomReport, dispatch_uid="fault.drop")
    connection.close()  # what Django does at the end of a request on an unusable connection
    half_written = SymptomReport.objects.count() + Alert.objects.count() + Delivery.objects.count()
    retried = client.post("/api/v1/symptom-reports/", body, format="json")
    print(
        report_line(
            "database connection dropped",
            first_status=failed.status_code,
            rows_left_by_it=half_written,
            retry_status=retried.status_code,
            reports_after_retry=SymptomReport.objects.count(),
        )
    )
    assert dropped
    assert failed.status_code == 500
    assert failed.json() == {"detail": "Server error."} or "detail" in failed.json()
    assert b"Traceback" not in failed.content and b"tight chest" not in failed.content
    assert half_written == 0
    assert retried.status_code == 201
    assert SymptomReport.objects.count() == 1
