"""Bulk export end to end with a real Redis and a real Celery worker process sharing the test
database (PostgreSQL): kick-off over HTTP, the worker writes the NDJSON files, the client
polls the status URL, reads the manifest, downloads every file and validates every line."""

from __future__ import annotations

import json
import time

import pytest

from medications.symptoms.services import symptom_report_create
from tests.conftest import redis_url
from tests.factories import PatientFactory
from tests.notifications.worker import WorkerProcess, use_broker

from .helpers import FHIR, fhir_client, parse

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def worker(tmp_path, settings):
    from tracker.celery import app

    previous = use_broker(redis_url())
    app.control.purge()
    # The worker's VAR_DIR is tmp_path, so it writes under tmp_path/exports (the default).
    settings.FHIR_EXPORT_DIR = tmp_path / "exports"
    process = WorkerProcess(redis_url=redis_url(), var_dir=tmp_path)
    process.wait_ready()
    yield process
    process.stop()
    use_broker(previous)


def test_bulk_export_through_a_real_worker(team, nurse, worker, measurement):
    patients = [PatientFactory(care_team=team) for _ in range(3)]
    for patient in patients:
        symptom_report_create(
            patient=patient,
            data={"symptoms": [{"code": "fatigue", "grade": 1}], "temperature_c": 36.9},
            entered_by=patient.user,
        )
    client = fhir_client(nurse)
    started = time.monotonic()
    kick_off = client.get(
        f"{FHIR}/Group/{team.pk}/$export",
        HTTP_PREFER="respond-async",
        HTTP_ACCEPT="application/fhir+json",
    )
    assert kick_off.status_code == 202
    status_url = kick_off["Content-Location"].removeprefix("http://testserver")

    deadline = time.monotonic() + 60
    while True:
        status = client.get(status_url)
        if status.status_code != 202 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status.status_code == 200, worker.output()
    measurement(f"bulk export of 3 patients via Redis + worker: {time.monotonic() - started:.2f} s")
    assert "interop.tasks.run_bulk_export" in worker.output()

    manifest = status.json()
    counts = {}
    for item in manifest["output"]:
        response = client.get(item["url"].removeprefix("http://testserver"))
        assert response.status_code == 200
        lines = b"".join(response.streaming_content).decode().splitlines()
        for line in lines:
            resource = json.loads(line)
            parse(resource)
            assert resource["resourceType"] == item["type"]
        assert len(lines) == item["count"]
        counts[item["type"]] = len(lines)
    assert counts["Patient"] == 3
    assert counts["QuestionnaireResponse"] == 3
    assert counts["Observation"] == 6
