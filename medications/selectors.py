"""Reads for medications, always scoped to what the asking user may see (out of scope is a
404, never a 403), and adherence figures fetched with a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from patients.models import Patient
from patients.selectors import get_or_404, visible_to

from . import adherence, calendar, catalogue
from .models import (
    Drug,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
    PrescriptionStatus,
)


def drugs_list() -> QuerySet[Drug]:
    return Drug.objects.filter(is_active=True).order_by("route", "name")


def prescriptions_visible_to(user) -> QuerySet[Prescription]:
    return visible_to(
        user, Prescription.objects.select_related("drug", "patient")
    ).prefetch_related(
        Prefetch("events", queryset=PrescriptionEvent.objects.order_by("effective_at", "id")),
        Prefetch("holds", queryset=PrescriptionHold.objects.order_by("starts_at")),
    )


def prescription_for(user, prescription_id) -> Prescription:
    return get_or_404(prescriptions_visible_to(user), prescription_id, "prescription")


def infusion_courses_visible_to(user) -> QuerySet[InfusionCourse]:
    return visible_to(user, InfusionCourse.objects.select_related("patient")).prefetch_related(
        Prefetch("appointments", queryset=InfusionAppointment.objects.order_by("cycle_number"))
    )


def infusion_course_for(user, course_id) -> InfusionCourse:
    return get_or_404(infusion_courses_visible_to(user), course_id, "infusion course")


def appointments_visible_to(user) -> QuerySet[InfusionAppointment]:
    return visible_to(user, InfusionAppointment.objects.select_related("course", "patient"))


def appointment_for(user, appointment_id) -> InfusionAppointment:
    return get_or_404(appointments_visible_to(user), appointment_id, "infusion appointment")


def doses_visible_to(user) -> QuerySet[ExpectedDose]:
    return visible_to(
        user, ExpectedDose.objects.select_related("prescription__drug", "patient")
    ).order_by("due_at", "id")


def dose_rows_for(user) -> QuerySet[ExpectedDose]:
    """The doses a user may see, unordered, with prescription and patient joined (the drug
    comes from the per-process catalogue, medications/catalogue.py, not a join). The dose
    log reads and locks its dose from these in one query (docs/benchmarks.md, benchmark 2)."""
    return visible_to(user, ExpectedDose.objects.select_related("prescription", "patient"))


def dose_for(user, dose_id) -> ExpectedDose:
    """One dose the user may see, with its prescription, drug and patient."""
    dose = get_or_404(dose_rows_for(user), dose_id, "dose")
    catalogue.attach_drug(dose.prescription)
    return dose


def doses_between(
    qs: QuerySet[ExpectedDose], *, first_day: date, last_day: date, zone
) -> QuerySet[ExpectedDose]:
    """Doses due on local days first_day..last_day (inclusive) in `zone`."""
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    return qs.filter(due_at__gte=start, due_at__lt=end)


def dose_days(
    patient: Patient, *, first_day: date, last_day: date, now: datetime
) -> dict[date, calendar.DoseDay]:
    """The dose calendar's days for a patient the caller may see (medications/calendar.py
    holds the day rules): one query."""
    rows = doses_between(
        ExpectedDose.objects.filter(patient=patient).order_by(),
        first_day=first_day,
        last_day=last_day,
        zone=patient.zone,
    ).values_list("due_at", "late_until", "state")
    return calendar.days_of_doses(rows, zone=patient.zone, now=now)


# --- adherence --------------------------------------------------------------------------------


@dataclass
class PrescriptionAdherence:
    prescription: Prescription
    doses: adherence.DoseSummary
    first_taken_at: datetime | None
    persistence_days: int | None


@dataclass
class CourseAdherence:
    course: InfusionCourse
    infusions: adherence.InfusionSummary


@dataclass
class PatientAdherence:
    patient: Patient
    days: int | None
    first_day: date | None
    last_day: date
    overall: adherence.DoseSummary
    prescriptions: list[PrescriptionAdherence] = field(default_factory=list)
    courses: list[CourseAdherence] = field(default_factory=list)


def window_first_day(today: date, days: int | None) -> date | None:
    """`days=7` is today and the 6 days before it (the patient's local days)."""
    return None if days is None else today - timedelta(days=days - 1)


def adherence_for_patients(
    patients: Sequence[Patient], *, days: int | None, now: datetime | None = None
) -> dict[int, PatientAdherence]:
    """Adherence for many patients in 4 queries whatever their number (the nurse dashboard
    calls this with a page of patients; the patient pages with one)."""
    now = now or timezone.now()
    if not patients:
        return {}
    by_id = {p.pk: p for p in patients}
    today = {pk: now.astimezone(p.zone).date() for pk, p in by_id.items()}
    first_day = {pk: window_first_day(today[pk], days) for pk in by_id}
    starts = {
        pk: (datetime.combine(day, time(0), tzinfo=by_id[pk].zone) if day else None)
        for pk, day in first_day.items()
    }
    earliest = None if any(s is None for s in starts.values()) else min(starts.values())

    # 1. prescriptions (with their drug) that could have doses in the window
    prescriptions = list(
        Prescription.objects.filter(patient_id__in=by_id).select_related("drug").order_by("pk")
    )
    prescription_by_id = {p.pk: p for p in prescriptions}
    # 2. the dose rows in the window, as plain tuples
    doses = ExpectedDose.objects.filter(patient_id__in=by_id, due_at__lt=now)
    if earliest is not None:
        doses = doses.filter(due_at__gte=earliest)
    rows = doses.values_list(
        "prescription_id", "patient_id", "due_at", "late_until", "state", "taken_at"
    )
    # 3. each prescription's first taken dose (initiation), over the whole course
    first_taken = dict(
        ExpectedDose.objects.filter(
            prescription_id__in=prescription_by_id, state__in=adherence.TAKEN_STATES
        )
        .values("prescription_id")
        .annotate(first=Min("taken_at"))
        .values_list("prescription_id", "first")
    )
    # 4. infusion courses and their appointments
    courses = list(
        InfusionCourse.objects.filter(patient_id__in=by_id)
        .order_by("pk")
        .prefetch_related(
            Prefetch("appointments", queryset=InfusionAppointment.objects.order_by("cycle_number"))
        )
    )

    records_by_patient: dict[int, list[adherence.DoseRecord]] = defaultdict(list)
    records_by_prescription: dict[int, list[adherence.DoseRecord]] = defaultdict(list)
    for prescription_id, patient_id, due_at, late_until, state, taken_at in rows:
        start = starts[patient_id]
        if start is not None and due_at < start:
            continue
        prescription = prescription_by_id[prescription_id]
        record = adherence.DoseRecord(
            due_at=due_at,
            late_until=late_until,
            state=state,
            day=due_at.astimezone(by_id[patient_id].zone).date(),
            taken_at=taken_at,
            doses_per_day=len(prescription.times or ()) or 1,
            prescription_id=prescription_id,
        )
        records_by_patient[patient_id].append(record)
        records_by_prescription[prescription_id].append(record)

    result = {
        pk: PatientAdherence(
            patient=patient,
            days=days,
            first_day=first_day[pk],
            last_day=today[pk],
            overall=adherence.summarise_doses(records_by_patient[pk], now=now),
        )
        for pk, patient in by_id.items()
    }
    for prescription in prescriptions:
        records = records_by_prescription.get(prescription.pk, [])
        start = starts[prescription.patient_id]
        stopped = prescription.status == PrescriptionStatus.STOPPED
        if not records and (
            stopped and (start is None or (prescription.stopped_at or now) < start)
        ):
            continue  # stopped before the window: nothing to say about it
        patient = by_id[prescription.patient_id]
        first = first_taken.get(prescription.pk)
        ended_on = today[patient.pk]
        if prescription.stopped_at is not None:
            ended_on = prescription.stopped_at.astimezone(patient.zone).date()
        elif prescription.end_date is not None and prescription.end_date < ended_on:
            ended_on = prescription.end_date
        result[patient.pk].prescriptions.append(
            PrescriptionAdherence(
                prescription=prescription,
                doses=adherence.summarise_doses(records, now=now),
                first_taken_at=first,
                persistence_days=adherence.persistence_days(
                    first.astimezone(patient.zone).date() if first else None, ended_on
                ),
            )
        )
    for course in courses:
        patient = by_id[course.patient_id]
        appointments = [
            adherence.AppointmentRecord(
                scheduled_at=a.scheduled_at,
                state=a.state,
                scheduled_on=a.scheduled_at.astimezone(patient.zone).date(),
                given_on=a.given_at.astimezone(patient.zone).date() if a.given_at else None,
            )
            for a in course.appointments.all()
        ]
        result[patient.pk].courses.append(
            CourseAdherence(
                course=course,
                infusions=adherence.summarise_infusions(
                    appointments,
                    interval_days=course.interval_days,
                    now=now,
                    first_day=first_day[patient.pk],
                ),
            )
        )
    return result


def adherence_for_patient(
    patient: Patient, *, days: int | None, now: datetime | None = None
) -> PatientAdherence:
    return adherence_for_patients([patient], days=days, now=now)[patient.pk]


def adherence_for_prescription(
    prescription: Prescription, *, days: int | None, now: datetime | None = None
) -> PrescriptionAdherence | None:
    result = adherence_for_patient(prescription.patient, days=days, now=now)
    return next((p for p in result.prescriptions if p.prescription.pk == prescription.pk), None)
