"""Everything our FHIR resources are made of, read for many patients at once with a fixed
number of queries (one per table, whatever the number of patients or rows).

`$everything` reads one patient; the bulk export reads a care team in chunks; searches read
one patient. The rows are plain model instances; resources are built from them in
interop/fhir/medication.py and clinical.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone

from medications.models import (
    DoseLog,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
    SymptomReport,
)
from medications.symptoms.selectors import active_ruleset
from notifications.models import Alert
from patients.models import Patient

# Dose states that are an outcome (a MedicationStatement); pending doses whose late window
# has closed count as missed (the sweep may not have marked them yet).
OUTCOME_STATES = (DoseState.TAKEN, DoseState.TAKEN_LATE, DoseState.SKIPPED, DoseState.MISSED)


@dataclass
class PatientRecord:
    patient: Patient
    prescriptions: list[Prescription] = field(default_factory=list)
    doses: list[ExpectedDose] = field(default_factory=list)
    # dose id -> its current (not superseded) log
    logs: dict[int, DoseLog] = field(default_factory=dict)
    courses: list[InfusionCourse] = field(default_factory=list)
    reports: list[SymptomReport] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


@dataclass
class Records:
    """What the builders need besides each patient's rows."""

    now: datetime
    rules: dict[str, Any]
    ruleset_version: int
    ruleset_created_at: datetime
    drugs: dict[str, Drug]
    patients: dict[int, PatientRecord]


def unresolved_alerts():
    return Alert.objects.unresolved()


def load(patients: Sequence[Patient], *, now: datetime | None = None) -> Records:
    """The records of `patients` (already scoped by the caller): 10 queries in all."""
    now = now or timezone.now()
    ruleset = active_ruleset()
    by_id = {p.pk: PatientRecord(patient=p) for p in patients}
    records = Records(
        now=now,
        rules=ruleset.rules,
        ruleset_version=ruleset.version,
        ruleset_created_at=ruleset.created_at,
        drugs={d.code: d for d in Drug.objects.all()},
        patients=by_id,
    )
    if not by_id:
        return records
    ids = list(by_id)
    prescriptions = (
        Prescription.objects.filter(patient_id__in=ids)
        .select_related("drug")
        .prefetch_related(
            Prefetch("events", queryset=PrescriptionEvent.objects.order_by("effective_at", "id")),
            Prefetch("holds", queryset=PrescriptionHold.objects.order_by("starts_at", "id")),
        )
        .order_by("recorded_at", "id")
    )
    for prescription in prescriptions:
        by_id[prescription.patient_id].prescriptions.append(prescription)
    doses = ExpectedDose.objects.filter(patient_id__in=ids).filter(
        Q(state__in=OUTCOME_STATES) | Q(state=DoseState.PENDING, late_until__lte=now)
    )
    for dose in doses.order_by("due_at", "id"):
        by_id[dose.patient_id].doses.append(dose)
    logs = DoseLog.objects.filter(
        expected_dose__patient_id__in=ids, superseded_at__isnull=True
    ).select_related("expected_dose")
    for log in logs.only(
        "id",
        "expected_dose__patient_id",
        "expected_dose_id",
        "action",
        "at",
        "reason",
        "note",
        "recorded_at",
        "recorded_by_id",
    ).order_by("recorded_at", "id"):
        by_id[log.expected_dose.patient_id].logs[log.expected_dose_id] = log
    courses = InfusionCourse.objects.filter(patient_id__in=ids).prefetch_related(
        Prefetch("appointments", queryset=InfusionAppointment.objects.order_by("cycle_number"))
    )
    for course in courses.order_by("first_infusion_at", "id"):
        by_id[course.patient_id].courses.append(course)
    for report in SymptomReport.objects.filter(patient_id__in=ids).order_by("reported_at", "id"):
        by_id[report.patient_id].reports.append(report)
    for alert in unresolved_alerts().filter(patient_id__in=ids).order_by("created_at", "id"):
        by_id[alert.patient_id].alerts.append(alert)
    return records
