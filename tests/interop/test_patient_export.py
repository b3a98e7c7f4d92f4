"""The patient's own export (Account page, /me/export/), GET /api/v1/patients/{id}/export/
and the admin's subject access request: everything held as one JSON document plus the FHIR
$everything Bundle; who may have it; what is left out; every production audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from rest_framework.authtoken.models import Token

from interop.models import SubjectAccessRequest
from medications import services
from medications.models import Drug, ExpectedDose
from medications.symptoms.services import symptom_report_create
from patients.models import AuditEvent

from .helpers import fhir_client

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def record(patient, nurse):
    patient.clinical_notes = "Lives alone; daughter calls daily."
    patient.save()
    prescription = services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code="sorafenib"),
        dose_mg=Decimal(400),
        times=["08:00", "20:00"],
        start_date=NOW.date(),
        recorded_by=nurse,
        now=NOW,
    )
    dose = ExpectedDose.objects.filter(prescription=prescription).order_by("due_at").first()
    services.dose_log(
        dose=dose,
        action="taken",
        at=dose.due_at,
        note="with breakfast",
        recorded_by=patient.user,
        idempotency_key="phone-retry-1",
        now=dose.due_at,
    )
    report = symptom_report_create(
        patient=patient,
        data={"symptoms": [{"code": "diarrhoea", "grade": 2}], "notes": "since Tuesday"},
        entered_by=patient.user,
    )
    return prescription, dose, report


def test_the_patient_downloads_everything_from_the_account_page(patient, record):
    client = Client()
    client.force_login(patient.user)
    account = client.get("/accounts/").content.decode()
    assert 'href="/me/export/"' in account and 'href="/me/export/fhir/"' in account
    response = client.get("/me/export/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    prescription, dose, report = record
    assert document["patient"]["nhs_number"] == patient.nhs_number
    assert document["prescriptions"][0]["id"] == prescription.pk
    assert document["prescriptions"][0]["prescription_events"][0]["kind"] == "created"
    [exported_dose] = [d for d in document["expected_doses"] if d["id"] == dose.pk]
    assert exported_dose["dose_logs"][0]["note"] == "with breakfast"
    assert exported_dose["dose_logs"][0]["recorded_by"] == {"who": "you (the patient)"}
    assert document["symptom_reports"][0]["notes"] == "since Tuesday"
    assert document["alerts"][0]["symptom_report"] == report.pk
    assert {d["code"] for d in document["drugs"]} >= {"sorafenib"}
    # Staff notes and secrets stay out of the patient's own copy.
    text = response.content.decode()
    assert "Lives alone" not in text and "clinical_notes" not in text
    assert "phone-retry-1" not in text and "idempotency_key" not in text
    assert document["complete"] is False
    Bundle.model_validate(document["fhir_bundle"])
    fhir = client.get("/me/export/fhir/")
    assert fhir["Content-Type"].startswith("application/fhir+json")
    Bundle.model_validate(json.loads(fhir.content))
    assert AuditEvent.objects.filter(patient=patient, what__contains="own export").count() == 2


def test_staff_have_no_own_export_page(nurse):
    client = Client()
    client.force_login(nurse)
    assert client.get("/me/export/").status_code == 404
    assert "/me/export/" not in client.get("/accounts/").content.decode()


def test_api_export_patient_and_admin_only(
    patient, other_patient, nurse, other_nurse, admin_user, record
):
    path = f"/api/v1/patients/{patient.pk}/export/"

    def get(user):
        client = fhir_client(user)  # token authentication, as any API client
        return client.get(path)

    mine = get(patient.user)
    assert mine.status_code == 200 and mine.json()["complete"] is False
    full = get(admin_user)
    assert full.status_code == 200 and full.json()["complete"] is True
    assert full.json()["patient"]["clinical_notes"] == "Lives alone; daughter calls daily."
    assert "idempotency_key" not in json.dumps(full.json())
    assert get(nurse).status_code == 403
    assert get(other_nurse).status_code == 404
    assert get(other_patient.user).status_code == 404
    assert get(None).status_code == 401
    assert fhir_client(admin_user).get("/api/v1/patients/abc/export/").status_code == 404
    events = AuditEvent.objects.filter(patient=patient, what__startswith="patient-export")
    assert {e.actor_id for e in events} == {patient.user_id, admin_user.pk}


def test_the_export_is_in_the_openapi_schema(admin_user):
    client = Client()
    client.force_login(admin_user)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/patients/{patient_id}/export/"]["get"]
    assert "200" in operation["responses"] and "404" in operation["responses"]
    properties = schema["components"]["schemas"]["PatientExport"]["properties"]
    assert {"patient", "prescriptions", "fhir_bundle", "audit_events"} <= set(properties)


def test_admin_produces_a_subject_access_request(patient, admin_user, record):
    sar = SubjectAccessRequest.objects.create(patient=patient, requester="the patient, by letter")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/interop/subjectaccessrequest/",
        {"action": "produce_export", "_selected_action": [sar.pk]},
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["complete"] is True
    assert document["subject_access_request"]["requester"] == "the patient, by letter"
    assert document["patient"]["clinical_notes"].startswith("Lives alone")
    Bundle.model_validate(document["fhir_bundle"])
    sar.refresh_from_db()
    assert sar.last_produced_by == admin_user and sar.last_produced_at is not None
    assert AuditEvent.objects.filter(
        patient=patient, actor=admin_user, what__contains=f"subject access request {sar.pk}"
    ).exists()
    Token.objects.all()  # the admin used a session, no token was made


def test_one_to_one_records_are_exported_too(patient, nurse):
    """A check-in plan hangs off the patient by a one-to-one link, not a foreign key: it
    is still part of everything held about them."""
    from medications.symptoms.checkins import check_ins_pause

    check_ins_pause(patient=patient, reason="In hospital for a week", user=nurse, now=NOW)
    client = Client()
    client.force_login(patient.user)
    document = json.loads(client.get("/me/export/").content)
    [plan] = document["check_in_plans"]
    assert plan["pause_reason"] == "In hospital for a week"
    assert plan["paused_by"] == {"who": "nurse"}
