"""The nurse's patient list (issue 16, point 4): each patient's current drugs, 7-day
dose-taking adherence, last report (level and date) and open alerts, sortable by each.

A fixed number of queries whatever the number of patients: drug, last report and open
alerts are sorted in SQL (subqueries on the patient row); adherence is worked out by
medications.selectors.adherence_for_patients (4 queries) for the page, or for every listed
patient when sorting by it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from medications import selectors as medication_selectors
from medications.models import (
    CourseStatus,
    InfusionCourse,
    Prescription,
    PrescriptionStatus,
    SymptomReport,
)
from patients.models import Patient

from ..models import Alert
from ..selectors import LEVEL_ORDER

PAGE_SIZE = 25
ADHERENCE_DAYS = 7

# sort key -> (label, default direction). "asc" first for alerts means most urgent first.
SORTS = {
    "name": ("Name", "asc"),
    "drug": ("Treatment", "asc"),
    "adherence": ("Doses taken, 7 days", "asc"),
    "report": ("Last report", "desc"),
    "alerts": ("Open alerts", "asc"),
}


@dataclass
class PatientRow:
    patient: Patient
    drugs: list[str] = field(default_factory=list)
    adherence: float | None = None  # percent, None when no dose was expected
    counts: dict[str, int] = field(default_factory=dict)  # level -> open alerts

    @property
    def open_total(self) -> int:
        return sum(self.counts.values())


def _annotated(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    current = (
        Prescription.objects.filter(patient=OuterRef("pk"))
        .exclude(status=PrescriptionStatus.STOPPED)
        .order_by("recorded_at", "pk")
    )
    reports = SymptomReport.objects.filter(patient=OuterRef("pk")).order_by("-reported_at", "-pk")
    unresolved = Alert.objects.unresolved().filter(patient=OuterRef("pk"))
    return patients.annotate(
        first_drug=Subquery(current.values("drug__name")[:1]),
        last_report_at=Subquery(reports.values("reported_at")[:1]),
        last_report_level=Subquery(reports.values("triage_level")[:1]),
        worst_alert=Subquery(
            unresolved.annotate(rank=LEVEL_ORDER).order_by("rank").values("rank")[:1],
            output_field=IntegerField(),
        ),
        open_alerts=Coalesce(
            Subquery(
                unresolved.order_by()
                .values("patient")
                .annotate(total=Count("pk"))
                .values("total")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        ),
    )


def _ordered(patients: QuerySet[Patient], sort: str, direction: str) -> QuerySet[Patient]:
    descending = direction == "desc"

    def by(expression):
        return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)

    name = ["family_name", "given_name", "id"]
    if sort == "drug":
        return patients.order_by(by(F("first_drug")), *name)
    if sort == "report":
        return patients.order_by(by(F("last_report_at")), *name)
    if sort == "alerts":
        # Most urgent first: the worst level (red 0), then how many.
        if descending:
            return patients.order_by(
                F("worst_alert").desc(nulls_first=True), F("open_alerts").asc(), *name
            )
        return patients.order_by(
            F("worst_alert").asc(nulls_last=True), F("open_alerts").desc(), *name
        )
    if descending:
        return patients.order_by("-family_name", "-given_name", "-id")
    return patients.order_by(*name)


def _adherence(patients: Sequence[Patient], now: datetime) -> dict[int, float | None]:
    found = medication_selectors.adherence_for_patients(
        list(patients), days=ADHERENCE_DAYS, now=now
    )
    return {pk: result.overall.dose_taking for pk, result in found.items()}


def _drugs(patient_ids: Sequence[int]) -> dict[int, list[str]]:
    """Current drugs per patient (prescriptions, then infusion courses): 2 queries."""
    names: dict[int, list[str]] = defaultdict(list)
    for patient_id, name in (
        Prescription.objects.filter(patient_id__in=patient_ids)
        .exclude(status=PrescriptionStatus.STOPPED)
        .order_by("recorded_at", "pk")
        .values_list("patient_id", "drug__name")
    ):
        names[patient_id].append(name)
    for patient_id, drugs in InfusionCourse.objects.filter(
        patient_id__in=patient_ids, status=CourseStatus.ACTIVE
    ).values_list("patient_id", "drugs"):
        names[patient_id].append(" + ".join(str(code) for code in drugs or []))
    return names


def _counts(patient_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Alert.objects.unresolved()
        .filter(patient_id__in=list(patient_ids))
        .values_list("patient_id", "level")
    )
    for patient_id, level in rows:
        counts[patient_id][level] = counts[patient_id].get(level, 0) + 1
    return counts


def patient_rows(
    patients: QuerySet[Patient], *, sort: str, direction: str, page_number, now: datetime
) -> tuple[Page, list[PatientRow]]:
    """One page of the list, sorted, with its columns."""
    if sort not in SORTS:
        sort = "name"
    if direction not in ("asc", "desc"):
        direction = SORTS[sort][1]
    patients = _annotated(patients)
    if sort == "adherence":
        everyone = list(patients.order_by("family_name", "given_name", "id"))
        adherence = _adherence(everyone, now)

        def key(patient):
            value = adherence.get(patient.pk)
            missing = value is None
            return (missing, value if not missing else 0)

        everyone.sort(key=key, reverse=False)
        if direction == "desc":
            known = [p for p in everyone if adherence.get(p.pk) is not None]
            everyone = list(reversed(known)) + [p for p in everyone if p not in known]
        page = Paginator(everyone, PAGE_SIZE).get_page(page_number)
    else:
        page = Paginator(_ordered(patients, sort, direction), PAGE_SIZE).get_page(page_number)
        adherence = _adherence(page.object_list, now)
    ids = [p.pk for p in page.object_list]
    drugs, counts = _drugs(ids), _counts(ids)
    rows = [
        PatientRow(
            patient=p,
            drugs=drugs.get(p.pk, []),
            adherence=adherence.get(p.pk),
            counts=counts.get(p.pk, {}),
        )
        for p in page.object_list
    ]
    return page, rows
