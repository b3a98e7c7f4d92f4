"""Bulk FHIR export jobs and subject access requests.

A bulk export (HL7 FHIR Bulk Data, `Group/{id}/$export`) is a row first: the kick-off
stores the job and enqueues its task after commit; the task claims the job with a
conditional update, writes NDJSON files under settings.FHIR_EXPORT_DIR and records the
manifest. A periodic sweep runs jobs whose task never ran (broker down) or whose worker
died, and deletes files past their retention (docs/fhir.md).
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patients.models import CareTeam, Patient


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (waiting for a worker)"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired (files deleted)"


class BulkExportJob(models.Model):
    # The id is in the status and file URLs: a UUID, so one job's URL says nothing of others.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="+")
    resource_types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000)
    base_url = models.CharField(max_length=500, help_text="FHIR base the files' fullUrls use.")
    status = models.CharField(
        max_length=12, choices=ExportStatus, default=ExportStatus.ACCEPTED, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written as the task makes progress: a job in progress whose heartbeat is old lost its
    # worker and is run again by the sweep.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # [{"type": "Patient", "file": "Patient.ndjson", "count": 12}, ...]
    output = models.JSONField(default=list, blank=True)
    # Patients whose data went into the files (the audit trail of each download).
    patient_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=["accepted", "in_progress"]),
                name="bulk_export_unfinished",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=["completed", "failed", "cancelled"]),
                name="bulk_export_expiring",
            ),
        ]

    def __str__(self) -> str:
        return f"Bulk export {self.id} of care team #{self.care_team_id} ({self.status})"

    @property
    def directory(self):
        return settings.FHIR_EXPORT_DIR / str(self.id)

    @staticmethod
    def retention() -> timedelta:
        return timedelta(hours=settings.FHIR_EXPORT_RETENTION_HOURS)


class SubjectAccessRequest(models.Model):
    """A request under UK GDPR article 15 (right of access), kept with who produced the
    export and when. The export itself is made on demand in the admin (never stored)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField(default=timezone.localdate)
    requester = models.CharField(
        max_length=200, help_text="Who asked, e.g. 'the patient' or 'solicitor, with consent'."
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_produced_at = models.DateTimeField(null=True, blank=True)
    last_produced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"Subject access request #{self.pk} (patient #{self.patient_id})"

    @property
    def respond_by(self):
        """One month to answer (UK GDPR art. 12(3)); shown as 30 days."""
        return self.received_on + timedelta(days=30)
