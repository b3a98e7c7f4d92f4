"""Bulk export (HL7 Bulk Data, Group/{care team}/$export): kick-off, status, manifest, NDJSON
files that validate line by line, who may do what, the sweep that runs jobs whose task never
ran and deletes files after 24 hours. The task runs in-process here; the PostgreSQL + Redis
pass runs it through a real worker (test_bulk_export_worker.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from interop import bulk
from interop.models import BulkExportJob, ExportStatus
from medications.symptoms.services import symptom_report_create
from patients.models import AuditEvent
from tests.factories import PatientFactory

from .helpers import FHIR, fhir_client, parse

pytestmark = pytest.mark.django_db
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.FHIR_EXPORT_DIR = tmp_path / "exports"
    return settings.FHIR_EXPORT_DIR


def _report(patient, **body):
    return symptom_report_create(
        patient=patient, data={"symptoms": [], **body}, entered_by=patient.user
    )


def kick_off(client, team, **params):
    return client.get(f"{FHIR}/Group/{team.pk}/$export", params, **ASYNC)


def status_path(response) -> str:
    location = response["Content-Location"]
    assert location.startswith("http://testserver/fhir/r4/bulk-status/")
    return location.removeprefix("http://testserver")


def download(client, manifest) -> dict[str, list[dict]]:
    files = {}
    for item in manifest["output"]:
        response = client.get(item["url"].removeprefix("http://testserver"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(response.streaming_content).decode().splitlines()
        resources = [json.loads(line) for line in lines]
        for resource in resources:
            parse(resource)
            assert resource["resourceType"] == item["type"]
        assert len(resources) == item["count"]
        files[item["type"]] = resources
    return files


def test_export_kick_off_poll_download(team, nurse, patient):
    second = PatientFactory(care_team=team)
    _report(patient, symptoms=[{"code": "fatigue", "grade": 1}], temperature_c=37.0)
    _report(second, systolic_bp=150, diastolic_bp=95)
    client = fhir_client(nurse)

    response = kick_off(client, team)
    assert response.status_code == 202
    status = status_path(response)
    waiting = client.get(status)
    assert waiting.status_code == 202 and waiting["X-Progress"] and waiting["Retry-After"]

    job = BulkExportJob.objects.get()
    assert bulk.bulk_export_run(job.pk) == "completed"
    assert bulk.bulk_export_run(job.pk) == "not claimed"  # a second run writes nothing

    done = client.get(status)
    assert done.status_code == 200
    manifest = done.json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith(f"/fhir/r4/Group/{team.pk}/$export")
    files = download(client, manifest)
    assert {int(p["id"]) for p in files["Patient"]} == {patient.pk, second.pk}
    assert len(files["Organization"]) == 1 and len(files["Questionnaire"]) == 1
    assert len(files["QuestionnaireResponse"]) == 2
    assert len(files["Observation"]) == 3  # fatigue, temperature, blood pressure
    # Each download is audited for every patient in the file.
    events = AuditEvent.objects.filter(what__contains="fhir bulk file Patient")
    assert {e.patient_id for e in events} == {patient.pk, second.pk}


def test_types_and_since_narrow_the_export(team, nurse, patient):
    _report(patient, symptoms=[{"code": "rash", "grade": 1}])
    client = fhir_client(nurse)
    response = kick_off(client, team, _type="Patient,Observation")
    job = BulkExportJob.objects.get()
    bulk.bulk_export_run(job.pk)
    manifest = client.get(status_path(response)).json()
    assert [o["type"] for o in manifest["output"]] == ["Patient", "Observation"]
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    response = kick_off(client, team, _since=later)
    newest = BulkExportJob.objects.order_by("-created_at").first()
    bulk.bulk_export_run(newest.pk)
    assert client.get(status_path(response)).json()["output"] == []


def test_who_may_export_and_see_a_job(team, other_team, nurse, other_nurse, patient, admin_user):
    assert kick_off(fhir_client(patient.user), team).status_code == 404
    assert kick_off(fhir_client(other_nurse), team).status_code == 404
    assert kick_off(fhir_client(None), team).status_code == 401
    assert kick_off(fhir_client(admin_user), other_team).status_code == 202
    response = kick_off(fhir_client(nurse), team)
    status = status_path(response)
    bulk.bulk_export_run(BulkExportJob.objects.get(requested_by=nurse).pk)
    # Only the requester sees the job and its files.
    assert fhir_client(other_nurse).get(status).status_code == 404
    assert fhir_client(admin_user).get(status).status_code == 404
    manifest = fhir_client(nurse).get(status).json()
    file_path = manifest["output"][0]["url"].removeprefix("http://testserver")
    assert fhir_client(other_nurse).get(file_path).status_code == 404
    assert fhir_client(nurse).get(file_path.replace("Patient", "Secret")).status_code == 404


def test_kick_off_needs_respond_async_and_known_parameters(team, nurse):
    client = fhir_client(nurse)
    plain = client.get(f"{FHIR}/Group/{team.pk}/$export")
    assert plain.status_code == 400
    assert "respond-async" in plain.json()["issue"][0]["diagnostics"]
    assert kick_off(client, team, _type="Condition").status_code == 400
    assert kick_off(client, team, _since="last week").status_code == 400
    assert kick_off(client, team, _outputFormat="text/csv").status_code == 400
    assert kick_off(client, team, _elements="id").status_code == 400
    assert not BulkExportJob.objects.exists()


def test_cancel_deletes_the_files(team, nurse, patient):
    client = fhir_client(nurse)
    status = status_path(kick_off(client, team))
    job = BulkExportJob.objects.get()
    bulk.bulk_export_run(job.pk)
    assert job.directory.exists()
    assert client.delete(status).status_code == 202
    assert not job.directory.exists()
    assert client.get(status).status_code == 404


def test_sweep_runs_a_job_whose_task_never_ran_and_deletes_files_after_24_hours(
    team, nurse, patient
):
    client = fhir_client(nurse)
    status = status_path(kick_off(client, team))  # the broker "lost" the task
    job = BulkExportJob.objects.get()
    assert job.status == ExportStatus.ACCEPTED
    assert bulk.bulk_exports_sweep() == {"files expired": 0, "jobs run": 0}  # too early
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        call_command("sweep", only=["bulk-exports"])
    job.refresh_from_db()
    assert job.status == ExportStatus.COMPLETED and job.directory.exists()
    assert client.get(status).status_code == 200
    with time_machine.travel(job.completed_at + timedelta(hours=23, minutes=59)):
        assert bulk.bulk_exports_sweep()["files expired"] == 0
    with time_machine.travel(job.completed_at + timedelta(hours=24, minutes=1)):
        assert bulk.bulk_exports_sweep()["files expired"] == 1
        assert bulk.bulk_exports_sweep()["files expired"] == 0
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED and not job.directory.exists()
    assert client.get(status).status_code == 404


def test_a_job_whose_worker_died_is_run_again(team, nurse, patient):
    kick_off(fhir_client(nurse), team)
    job = BulkExportJob.objects.get()
    BulkExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.IN_PROGRESS, heartbeat_at=timezone.now(), attempts=1
    )
    assert bulk.bulk_exports_sweep()["jobs run"] == 0  # still alive
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert bulk.bulk_exports_sweep()["jobs run"] == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.COMPLETED and job.attempts == 2
