"""FHIR bulk export of a care team (HL7 FHIR Bulk Data Access, `Group/{id}/$export`).

The kick-off stores a BulkExportJob and enqueues `run_bulk_export` after commit
(core.queue.enqueue_on_commit: a broker outage never fails the kick-off). The task
claims the job with a conditional update, writes one NDJSON file per resource type under
settings.FHIR_EXPORT_DIR/<job id>/ (to a temporary name, renamed when complete) and stores
the manifest. `sweep_bulk_exports` (settings.PERIODIC_JOBS, also `manage.py sweep`) runs
jobs whose task never ran (broker down) or whose worker died (no heartbeat for
STALE_AFTER), and deletes files once they are past their retention (24 h by default).
The task and its service live here together (ENGINEERING.md: no import circles).
"""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from celery import shared_task
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.queue import enqueue_on_commit
from patients.models import CareTeam, Patient

from .fhir import core, records
from .models import BulkExportJob, ExportStatus

logger = logging.getLogger(__name__)

CHUNK = 100  # patients read per round (each round: a fixed number of queries)
NOT_PICKED_UP_AFTER = timedelta(minutes=1)
STALE_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 3
FINISHED = (ExportStatus.COMPLETED, ExportStatus.FAILED, ExportStatus.CANCELLED)


def bulk_export_start(
    *,
    user,
    team: CareTeam,
    resource_types: list[str],
    since: datetime | None,
    request_url: str,
    base_url: str,
    now: datetime | None = None,
) -> BulkExportJob:
    with transaction.atomic():
        job = BulkExportJob.objects.create(
            requested_by=user,
            care_team=team,
            resource_types=list(resource_types),
            since=since,
            request_url=request_url[:2000],
            base_url=base_url[:500],
            created_at=now or timezone.now(),
        )
        enqueue_on_commit(run_bulk_export, str(job.pk))
    logger.info("bulk export %s accepted for care team %s", job.pk, team.pk)
    return job


def bulk_export_cancel(*, job: BulkExportJob) -> bool:
    changed = BulkExportJob.objects.filter(
        pk=job.pk, status__in=[ExportStatus.ACCEPTED, ExportStatus.IN_PROGRESS, *FINISHED]
    ).update(status=ExportStatus.CANCELLED, expires_at=timezone.now())
    _delete_files(job)
    return bool(changed)


def _claim(job_id, now: datetime) -> bool:
    runnable = Q(status=ExportStatus.ACCEPTED) | Q(
        status=ExportStatus.IN_PROGRESS, heartbeat_at__lte=now - STALE_AFTER
    )
    return bool(
        BulkExportJob.objects.filter(runnable, pk=job_id).update(
            status=ExportStatus.IN_PROGRESS,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
    )


def bulk_export_run(job_id, *, now: datetime | None = None) -> str:
    """Write the job's files. Safe to run twice or concurrently: only the claimer writes."""
    now = now or timezone.now()
    if not _claim(job_id, now):
        return "not claimed"
    job = BulkExportJob.objects.select_related("care_team").get(pk=job_id)
    try:
        output, patient_ids = _write(job, now)
    except _Cancelled:
        _delete_files(job)
        return "cancelled"
    except Exception:
        logger.exception("bulk export %s failed (attempt %s)", job.pk, job.attempts)
        _delete_files(job)
        status = ExportStatus.FAILED if job.attempts >= MAX_ATTEMPTS else ExportStatus.ACCEPTED
        BulkExportJob.objects.filter(pk=job.pk, status=ExportStatus.IN_PROGRESS).update(
            status=status,
            error="The export could not be written; it will be tried again."
            if status == ExportStatus.ACCEPTED
            else "The export failed; start a new one.",
            expires_at=timezone.now() + BulkExportJob.retention(),
        )
        return "failed"
    finished = timezone.now()
    done = BulkExportJob.objects.filter(pk=job.pk, status=ExportStatus.IN_PROGRESS).update(
        status=ExportStatus.COMPLETED,
        output=output,
        patient_ids=patient_ids,
        transaction_time=now,
        completed_at=finished,
        expires_at=finished + BulkExportJob.retention(),
        progress="done",
        error="",
    )
    if not done:  # cancelled while writing
        _delete_files(job)
        return "cancelled"
    logger.info("bulk export %s completed: %s files", job.pk, len(output))
    return "completed"


class _Cancelled(Exception):
    pass


def _write(job: BulkExportJob, now: datetime) -> tuple[list[dict], list[int]]:
    directory: Path = job.directory
    if directory.exists():
        shutil.rmtree(directory)  # a previous attempt's leftovers
    directory.mkdir(parents=True)
    wanted = [t for t in core.EXPORT_TYPES if t in (job.resource_types or core.EXPORT_TYPES)]
    files = {t: open(directory / f"{t}.ndjson.partial", "w", encoding="utf-8") for t in wanted}  # noqa: SIM115
    counts = dict.fromkeys(wanted, 0)
    patient_ids: list[int] = []

    def write(entry: core.Entry) -> None:
        if job.since is not None and entry.last_updated < job.since:
            return
        files[entry.type].write(entry.resource().model_dump_json())
        files[entry.type].write("\n")
        counts[entry.type] += 1

    try:
        if "Organization" in files:
            team = job.care_team
            write(
                core.Entry(
                    "Organization",
                    str(team.pk),
                    team.created_at,
                    None,
                    lambda: core.organization_resource(team),
                )
            )
        per_patient = [t for t in wanted if t not in core.SHARED_TYPES]
        drugs_used: list[str] = []
        patients = Patient.objects.filter(care_team_id=job.care_team_id).select_related(
            "care_team", "user"
        )
        ids = list(patients.order_by("pk").values_list("pk", flat=True))
        any_reports = False
        questionnaire = None
        written_drugs: set[str] = set()
        for start in range(0, len(ids), CHUNK):
            chunk = list(patients.filter(pk__in=ids[start : start + CHUNK]).order_by("pk"))
            loaded = records.load(chunk, now=now)
            for record in loaded.patients.values():
                patient_ids.append(record.patient.pk)
                any_reports = any_reports or bool(record.reports)
                drugs_used.extend(core.drug_codes(record))
                for entry in core.patient_entries(record, loaded, per_patient):
                    write(entry)
            questionnaire = questionnaire or core.questionnaire_entry(loaded)
            if "Medication" in files:
                for entry in core.medication_entries(list(dict.fromkeys(drugs_used)), loaded):
                    if entry.id not in written_drugs:
                        written_drugs.add(entry.id)
                        write(entry)
            _heartbeat(job, f"{min(start + CHUNK, len(ids))} of {len(ids)} patients")
        if "Questionnaire" in files and any_reports and questionnaire is not None:
            write(questionnaire)
    finally:
        for handle in files.values():
            handle.close()
    output = []
    for type_name in wanted:
        partial = directory / f"{type_name}.ndjson.partial"
        if counts[type_name]:
            partial.rename(directory / f"{type_name}.ndjson")
            output.append(
                {"type": type_name, "file": f"{type_name}.ndjson", "count": counts[type_name]}
            )
        else:
            partial.unlink()
    return output, patient_ids


def _heartbeat(job: BulkExportJob, progress: str) -> None:
    alive = BulkExportJob.objects.filter(pk=job.pk, status=ExportStatus.IN_PROGRESS).update(
        heartbeat_at=timezone.now(), progress=progress[:200]
    )
    if not alive:
        raise _Cancelled


def _delete_files(job: BulkExportJob) -> None:
    shutil.rmtree(job.directory, ignore_errors=True)


def bulk_exports_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Delete files past retention; run jobs whose task never ran or lost its worker."""
    now = now or timezone.now()
    expired = 0
    for job in BulkExportJob.objects.filter(status__in=FINISHED, expires_at__lte=now):
        _delete_files(job)
        expired += BulkExportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=ExportStatus.EXPIRED
        )
    waiting = BulkExportJob.objects.filter(
        Q(status=ExportStatus.ACCEPTED, created_at__lte=now - NOT_PICKED_UP_AFTER)
        | Q(status=ExportStatus.IN_PROGRESS, heartbeat_at__lte=now - STALE_AFTER)
    ).order_by("created_at")
    ran = 0
    for job_id in list(waiting.values_list("pk", flat=True)[:10]):
        if bulk_export_run(job_id, now=timezone.now()) == "completed":
            ran += 1
    return {"files expired": expired, "jobs run": ran}


# Long exports: a care team of 1,000 patients with a year of doses is ~1 million resources.
@shared_task(name="interop.tasks.run_bulk_export", soft_time_limit=3600, time_limit=3700)
def run_bulk_export(job_id: str) -> str:
    return bulk_export_run(job_id)


@shared_task(name="interop.tasks.sweep_bulk_exports", soft_time_limit=3600, time_limit=3700)
def sweep_bulk_exports() -> dict[str, int]:
    return bulk_exports_sweep()
