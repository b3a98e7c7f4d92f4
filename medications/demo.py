"""Demo treatments for `manage.py seed_demo`: each demo patient gets a realistic course with
about six weeks of history. Idempotent: a patient who already has a prescription or an
infusion course is left alone, so a second run changes nothing.

The history is deterministic for a given patient and day (a seeded random generator):
mostly taken on time, a few taken late, skipped or missed; Priya's lenvatinib was held for
three days for high blood pressure; Sam's sorafenib was reduced to 400 mg once daily for a
hand-foot skin reaction; Tom's atezolizumab + bevacizumab course has two infusions given
(the second a day late) and the next one planned.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from patients.models import Patient

from . import services
from .models import (
    DoseAction,
    DoseLog,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionCourse,
    Prescription,
    SkipReason,
)

HISTORY_DAYS = 42

# drug -> (times, dose in mg or None for the weight-based/standard dose, patient facts)
ORAL_PLANS: dict[str, tuple[list[str], str | None, dict]] = {
    "sorafenib": (["08:00", "20:00"], "400", {}),
    "lenvatinib": (["09:00"], None, {}),
    "regorafenib": (
        ["09:00"],
        "160",
        {"prior_systemic_therapies": ["sorafenib"], "sorafenib_tolerated": True},
    ),
    # Child-Pugh B: cabozantinib starts at 40 mg (drugs.md).
    "cabozantinib": (["10:00"], "40", {"prior_systemic_therapies": ["sorafenib"]}),
}
SKIP_REASONS = [SkipReason.FORGOT, SkipReason.SIDE_EFFECTS, SkipReason.VOMITED, SkipReason.UNWELL]


def _demo_nurse() -> User | None:
    return User.objects.filter(username="nurse").first()


def _local_moment(patient: Patient, day: date, at: str) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=patient.zone)


@transaction.atomic
def seed_patient_treatment(patient: Patient, drug_code: str, now: datetime | None = None) -> None:
    if (
        Prescription.objects.filter(patient=patient).exists()
        or InfusionCourse.objects.filter(patient=patient).exists()
    ):
        return
    now = now or timezone.now()
    if drug_code in ORAL_PLANS:
        _seed_oral(patient, drug_code, now)
    elif drug_code in ("atezolizumab", "bevacizumab"):
        _seed_infusions(patient, now)


def _seed_oral(patient: Patient, drug_code: str, now: datetime) -> None:
    times, dose, facts = ORAL_PLANS[drug_code]
    for field, value in facts.items():
        setattr(patient, field, value)
    if facts:
        patient.save(update_fields=[*facts, "updated_at"])
    nurse = _demo_nurse()
    today = now.astimezone(patient.zone).date()
    start = today - timedelta(days=HISTORY_DAYS)
    recorded_at = _local_moment(patient, start, "07:00")
    prescription = services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code=drug_code),
        dose_mg=Decimal(dose) if dose else None,
        times=times,
        start_date=start,
        recorded_by=nurse,
        now=recorded_at,
    )
    if drug_code == "sorafenib":
        changed_at = _local_moment(patient, start + timedelta(days=20), "12:00")
        services.prescription_change_dose(
            prescription=prescription,
            dose_mg=Decimal(400),
            reason="Grade 2 hand-foot skin reaction: reduced to 400 mg once daily",
            recorded_by=nurse,
            now=changed_at,
        )
    if drug_code == "lenvatinib":
        held_from = _local_moment(patient, start + timedelta(days=24), "07:00")
        services.prescription_hold(
            prescription=prescription,
            reason="Blood pressure 165/100: hold for three days, recheck",
            starts_at=held_from,
            ends_at=held_from + timedelta(days=3),
            recorded_by=nurse,
            now=held_from,
        )
    services.expected_doses_generate(now=now, prescription_ids=[prescription.pk])
    _fill_history(patient, prescription, now)


def _fill_history(patient: Patient, prescription: Prescription, now: datetime) -> None:
    rng = random.Random(f"{patient.user.username}-{prescription.drug.code}")  # noqa: S311
    doses = list(
        ExpectedDose.objects.filter(
            prescription=prescription, state=DoseState.PENDING, late_until__lt=now
        ).order_by("due_at")
    )
    logs: list[DoseLog] = []
    for dose in doses:
        roll = rng.random()
        if roll < 0.85:
            taken_at = dose.due_at + timedelta(minutes=rng.randint(-20, 50))
            dose.state, dose.taken_at = DoseState.TAKEN, taken_at
            logs.append(_log(dose, patient, DoseAction.TAKEN, taken_at))
        elif roll < 0.90:
            taken_at = dose.due_at + (dose.late_until - dose.due_at) / 2
            dose.state, dose.taken_at = DoseState.TAKEN, taken_at
            logs.append(_log(dose, patient, DoseAction.TAKEN, taken_at))
        elif roll < 0.93:
            taken_at = dose.late_until + timedelta(hours=1)
            if taken_at >= now:
                continue
            dose.state, dose.taken_at = DoseState.TAKEN_LATE, taken_at
            logs.append(_log(dose, patient, DoseAction.TAKEN, taken_at))
        elif roll < 0.96:
            reason = rng.choice(SKIP_REASONS)
            dose.state, dose.skip_reason = DoseState.SKIPPED, reason
            logs.append(_log(dose, patient, DoseAction.SKIPPED, dose.due_at, reason=reason))
        else:
            dose.state = DoseState.MISSED
        dose.state_changed_at = dose.taken_at or dose.late_until
    ExpectedDose.objects.bulk_update(
        doses, ["state", "taken_at", "skip_reason", "state_changed_at"], batch_size=500
    )
    DoseLog.objects.bulk_create(logs, batch_size=500)


def _log(dose, patient, action, at, reason=""):
    return DoseLog(
        expected_dose=dose,
        action=action,
        at=at,
        reason=reason,
        recorded_at=at + timedelta(minutes=2),
        recorded_by=patient.user,
    )


def _seed_infusions(patient: Patient, now: datetime) -> None:
    nurse = _demo_nurse()
    today = now.astimezone(patient.zone).date()
    first_day = today - timedelta(days=40)
    first = _local_moment(patient, first_day, "09:30")
    patient.last_upper_endoscopy_on = first_day - timedelta(days=30)
    patient.save(update_fields=["last_upper_endoscopy_on", "updated_at"])
    course = services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=first,
        recorded_by=nurse,
        now=first - timedelta(days=7),
    )
    cycle_one, cycle_two = course.appointments.order_by("cycle_number")[:2]
    services.infusion_mark_given(
        appointment=cycle_one,
        given_at=first + timedelta(minutes=20),
        recorded_by=nurse,
        now=first + timedelta(hours=2),
    )
    # Cycle 2 was a day late (no chair free); cycle 3 then moved to keep 21 days.
    late = cycle_two.scheduled_at + timedelta(days=1, minutes=15)
    services.infusion_mark_given(
        appointment=cycle_two, given_at=late, recorded_by=nurse, now=late + timedelta(hours=2)
    )
    services.infusion_appointments_extend(course=course, now=now)
