"""The Resolve form wherever it shows (queue rows, the alert page, the patient page): each
alert's form offers its patient's current prescriptions to hold and the lower steps of
their ladders, read for all the rows of a page in one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from medications.models import Prescription, PrescriptionStatus

from .forms import ResolveForm


def prescriptions_by_patient(patient_ids: Iterable[int]) -> dict[int, list[Prescription]]:
    """Current (not stopped) prescriptions of these patients, with drug and patient: one
    query whatever the number of patients."""
    ids = sorted(set(patient_ids))
    found: dict[int, list[Prescription]] = defaultdict(list)
    if not ids:
        return found
    for prescription in (
        Prescription.objects.filter(patient_id__in=ids)
        .exclude(status=PrescriptionStatus.STOPPED)
        .select_related("drug", "patient")
        .order_by("patient_id", "pk")
    ):
        found[prescription.patient_id].append(prescription)
    return found


def resolve_form(alert, data=None, *, prescriptions=None) -> ResolveForm:
    if prescriptions is None:
        prescriptions = prescriptions_by_patient([alert.patient_id]).get(alert.patient_id, [])
    return ResolveForm(data, prefix=f"alert{alert.pk}", prescriptions=prescriptions)


def attach_resolve_forms(rows) -> None:
    """row.form for each queue row (rows with `.alert`), in one query."""
    rows = list(rows)
    by_patient = prescriptions_by_patient(row.alert.patient_id for row in rows)
    for row in rows:
        row.form = resolve_form(row.alert, prescriptions=by_patient.get(row.alert.patient_id, []))
