"""Audit trail, second round (issue 17, findings 3 and 9): a list filtered by `?patient=`
records a read only when it returned that patient's rows; every row keeps the query string
without values that identify a person; PostgreSQL refuses UPDATE and DELETE on the table
(a trigger; SQLite keeps the convention in AuditEvent.save/delete)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from patients.models import AuditEvent
from tests.factories import PASSWORD
from tests.medications.conftest import prescribe

pytestmark = pytest.mark.django_db


def test_a_filtered_list_that_returned_nothing_records_no_read(api, patient, other_patient):
    prescribe(other_patient, now=timezone.now())
    response = api(patient.user).get(f"/api/v1/prescriptions/?patient={other_patient.pk}")
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert not AuditEvent.objects.filter(patient_ref=other_patient.pk).exists()


def test_a_filtered_list_that_returned_the_patients_rows_records_the_read(api, nurse, patient):
    prescribe(patient, now=timezone.now())
    response = api(nurse).get(f"/api/v1/prescriptions/?patient={patient.pk}&status=active")
    assert response.status_code == 200 and response.json()["results"]
    [event] = AuditEvent.objects.filter(patient_ref=patient.pk)
    assert event.action == "read"
    assert event.path == "/api/v1/prescriptions/"
    assert event.query == f"patient={patient.pk}&status=active"


def test_the_query_string_is_kept_without_identifying_values(client, nurse, patient):
    client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    family = patient.family_name
    response = client.get(f"/nurse/patients/?q={family}&page=1")
    assert response.status_code == 200
    [event] = AuditEvent.objects.filter(patient_ref=patient.pk, path="/nurse/patients/")
    assert event.query == "q=~&page=1"
    assert family not in event.query


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_audit_rows(api, nurse, patient):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    event = AuditEvent.objects.get(patient_ref=patient.pk)
    refused = 0
    for sql in (
        "UPDATE patients_auditevent SET what = 'nothing happened' WHERE id = %s",
        "UPDATE patients_auditevent SET patient_ref = 1 WHERE id = %s",
        "DELETE FROM patients_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
        refused += 1
    print(f"audit trail statements refused by the trigger: {refused}")
    event.refresh_from_db()
    assert event.what.startswith("patient-detail")


@pytest.mark.postgres
def test_removing_a_user_clears_the_reference_and_keeps_the_row(api, nurse, patient):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    nurse_id = nurse.pk
    nurse.delete()  # on_delete=SET_NULL: the one UPDATE the trigger allows
    event = AuditEvent.objects.get(patient_ref=patient.pk)
    assert event.actor_id is None
    assert event.actor_username and nurse_id
