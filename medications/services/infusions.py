"""Infusion courses of atezolizumab + bevacizumab (drugs.md, "Infusion appointments"):
planning, appointments kept ahead, given, rescheduled (the cycle restarts from the day it
was given), stopped."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from patients.models import Patient
from patients.services import lock_patient

from .. import checks
from ..models import (
    AppointmentState,
    CourseStatus,
    Drug,
    InfusionAppointment,
    InfusionCourse,
    Route,
)
from .common import CLOCK_SKEW, _aware, _local, _mg, _now
from .prescribing import _check_or_raise, _patient_facts, treatment_history

logger = logging.getLogger(__name__)

# Infusion appointments kept planned ahead of today for an active course.
APPOINTMENTS_AHEAD = 6
# drugs.md, "Infusion appointments": bevacizumab 15 mg per kg (displayed to the nearest
# 5 mg, the exact figure recorded); atezolizumab first infusion over 60 min, later over 30.
BEVACIZUMAB_MG_PER_KG = Decimal(15)
BEVACIZUMAB_DISPLAY_STEP_MG = Decimal(5)
ATEZOLIZUMAB_FIRST_MINUTES = 60
ATEZOLIZUMAB_LATER_MINUTES = 30


def bevacizumab_dose_mg(weight_kg: Decimal) -> tuple[Decimal, Decimal]:
    """(exact, displayed): 15 mg/kg, shown to the nearest 5 mg (drugs.md)."""
    exact = BEVACIZUMAB_MG_PER_KG * Decimal(weight_kg)
    shown = (exact / BEVACIZUMAB_DISPLAY_STEP_MG).quantize(Decimal(1), ROUND_HALF_UP)
    return exact, shown * BEVACIZUMAB_DISPLAY_STEP_MG


def infusion_doses(
    *, drug_codes: Sequence[str], first: bool, weight_kg: Decimal, drugs: dict[str, Drug]
) -> list[dict]:
    """What is given at one appointment, atezolizumab first (drugs.md)."""
    doses = []
    for code in sorted(drug_codes, key=lambda c: checks.INFUSION_PAIR.index(c)):
        if code == "atezolizumab":
            flat = drugs[code].standard_dose_mg or Decimal(1200)
            doses.append(
                {
                    "drug": code,
                    "dose_mg": _mg(flat),
                    "minutes": ATEZOLIZUMAB_FIRST_MINUTES if first else ATEZOLIZUMAB_LATER_MINUTES,
                }
            )
        elif code == "bevacizumab":
            exact, shown = bevacizumab_dose_mg(weight_kg)
            doses.append(
                {
                    "drug": code,
                    "dose_mg": _mg(exact),
                    "display_dose_mg": _mg(shown),
                    "mg_per_kg": _mg(BEVACIZUMAB_MG_PER_KG),
                    "weight_kg": _mg(weight_kg),
                }
            )
    return doses


def _same_local_time(day: date, like: datetime, zone) -> datetime:
    """The appointment slot's local time on another day (09:30 stays 09:30 across DST)."""
    local = like.astimezone(zone)
    return datetime.combine(day, time(local.hour, local.minute), tzinfo=zone).astimezone(UTC)


@transaction.atomic
def infusion_course_create(
    *,
    patient: Patient,
    drugs: Sequence[str],
    first_infusion_at: datetime,
    interval_days: int = 21,
    override_reason: str = "",
    location: str = "",
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionCourse:
    """Plan atezolizumab + bevacizumab: an appointment every 21 days from the first one,
    after the prescribing checks of drugs.md (warnings need `override_reason`)."""
    now = _now(now)
    override_reason = (override_reason or "").strip()
    codes = list(drugs or [])
    if not codes:
        raise ValidationError({"drugs": ['Name the drugs, e.g. ["atezolizumab", "bevacizumab"].']})
    if len(set(codes)) != len(codes):
        raise ValidationError({"drugs": ["Each drug may appear only once."]})
    catalogue = {d.code: d for d in Drug.objects.filter(code__in=codes, is_active=True)}
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        raise ValidationError({"drugs": [f"Unknown drug: {', '.join(unknown)}."]})
    oral = [c for c in codes if catalogue[c].route != Route.INTRAVENOUS]
    if oral:
        raise ValidationError(
            {"drugs": [f"{', '.join(oral)} is taken at home: prescribe it instead."]}
        )
    not_pair = [c for c in codes if c not in checks.INFUSION_PAIR]
    if not_pair:
        raise ValidationError(
            {"drugs": [f"Infusion courses are for atezolizumab and bevacizumab, not {not_pair}."]}
        )
    first_infusion_at = _aware(first_infusion_at, "first_infusion_at")
    if not 7 <= int(interval_days) <= 84:
        raise ValidationError({"interval_days": ["The interval is 7 to 84 days."]})
    lock_patient(patient)
    has_active = InfusionCourse.objects.filter(patient=patient, status=CourseStatus.ACTIVE).exists()
    unmet = checks.check_infusion_course(
        drug_codes=codes,
        first_infusion_on=_local(first_infusion_at, patient).date(),
        patient=_patient_facts(patient),
        history=treatment_history(patient),
        has_active_course=has_active,
    )
    warnings = _check_or_raise(unmet, override_reason)
    course = InfusionCourse.objects.create(
        patient=patient,
        drugs=sorted(codes, key=lambda c: checks.INFUSION_PAIR.index(c)),
        interval_days=interval_days,
        first_infusion_at=first_infusion_at,
        location=location or "Day treatment unit",
        warnings=warnings,
        override_reason=override_reason if warnings else "",
        recorded_at=now,
        recorded_by=recorded_by,
    )
    infusion_appointments_extend(course=course, now=now)
    return course


def _append_appointments(course: InfusionCourse, appointments: list, count: int) -> list:
    patient = course.patient
    drugs = {d.code: d for d in Drug.objects.filter(code__in=course.drugs)}
    any_given = any(a.state == AppointmentState.GIVEN for a in appointments)
    last = appointments[-1] if appointments else None
    new = []
    for _ in range(count):
        if last is None:
            number, when = 1, course.first_infusion_at
        else:
            number = last.cycle_number + 1
            last_day = _local(last.given_at or last.scheduled_at, patient).date()
            when = _same_local_time(
                last_day + timedelta(days=course.interval_days), last.scheduled_at, patient.zone
            )
        appointment = InfusionAppointment(
            course=course,
            patient=patient,
            cycle_number=number,
            scheduled_at=when,
            originally_scheduled_at=when,
            location=course.location,
            doses=infusion_doses(
                drug_codes=course.drugs,
                first=number == 1 and not any_given,
                weight_kg=patient.weight_kg,
                drugs=drugs,
            ),
        )
        new.append(appointment)
        last = appointment
    InfusionAppointment.objects.bulk_create(new, ignore_conflicts=True)
    return new


@transaction.atomic
def infusion_appointments_extend(
    *, course: InfusionCourse | None = None, now: datetime | None = None
) -> int:
    """Keep 6 appointments planned ahead for every active course (or one course)."""
    now = _now(now)
    courses = InfusionCourse.objects.filter(status=CourseStatus.ACTIVE).select_related("patient")
    if course is not None:
        courses = courses.filter(pk=course.pk)
    courses = courses.annotate(
        ahead=Count(
            "appointments",
            filter=Q(appointments__state=AppointmentState.SCHEDULED)
            & Q(appointments__scheduled_at__gte=now),
        )
    ).filter(ahead__lt=APPOINTMENTS_AHEAD)
    created = 0
    # No row lock needed: the unique (course, cycle_number) constraint and ignore_conflicts
    # make two concurrent extensions add each cycle once.
    for item in courses:
        appointments = list(item.appointments.order_by("cycle_number"))
        created += len(_append_appointments(item, appointments, APPOINTMENTS_AHEAD - item.ahead))
    return created


def _move_later_appointments(appointment: InfusionAppointment, anchor: datetime) -> None:
    """Later planned appointments follow so the interval is kept from `anchor` (drugs.md:
    the cycle restarts from the date it was actually given)."""
    course = appointment.course
    zone = appointment.patient.zone
    anchor_day = _local(anchor, appointment.patient).date()
    later = course.appointments.filter(
        cycle_number__gt=appointment.cycle_number, state=AppointmentState.SCHEDULED
    ).order_by("cycle_number")
    for step, following in enumerate(later, start=1):
        day = anchor_day + timedelta(days=course.interval_days * step)
        when = _same_local_time(day, following.scheduled_at, zone)
        if when != following.scheduled_at:
            InfusionAppointment.objects.filter(
                pk=following.pk, state=AppointmentState.SCHEDULED
            ).update(scheduled_at=when, updated_at=timezone.now())


def _locked_appointment(appointment: InfusionAppointment) -> InfusionAppointment:
    InfusionCourse.objects.select_for_update().filter(pk=appointment.course_id).first()
    return InfusionAppointment.objects.select_related("course", "patient").get(pk=appointment.pk)


@transaction.atomic
def infusion_mark_given(
    *,
    appointment: InfusionAppointment,
    given_at: datetime,
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionAppointment:
    now = _now(now)
    given_at = _aware(given_at, "given_at")
    if given_at > now + CLOCK_SKEW:
        raise ValidationError({"given_at": ["This time is in the future."]})
    appointment = _locked_appointment(appointment)
    if appointment.course.status != CourseStatus.ACTIVE:
        raise ValidationError({"non_field_errors": ["This infusion course has been stopped."]})
    if appointment.state == AppointmentState.GIVEN:
        if appointment.given_at == given_at:
            return appointment  # the same request again
        raise ValidationError({"non_field_errors": ["This infusion is already marked given."]})
    if appointment.state == AppointmentState.CANCELLED:
        raise ValidationError({"non_field_errors": ["This appointment was cancelled."]})
    earlier_given = (
        appointment.course.appointments.filter(
            cycle_number__lt=appointment.cycle_number, state=AppointmentState.GIVEN
        )
        .order_by("-given_at")
        .first()
    )
    if earlier_given is not None and given_at <= earlier_given.given_at:
        raise ValidationError(
            {"given_at": ["This is before the previous infusion of the course was given."]}
        )
    doses = appointment.doses
    if earlier_given is None:
        # The first infusion actually given runs over 60 minutes whatever its cycle number.
        for dose in doses:
            if dose.get("drug") == "atezolizumab":
                dose["minutes"] = ATEZOLIZUMAB_FIRST_MINUTES
    updated = InfusionAppointment.objects.filter(
        pk=appointment.pk, state__in=[AppointmentState.SCHEDULED, AppointmentState.MISSED]
    ).update(
        state=AppointmentState.GIVEN,
        given_at=given_at,
        state_changed_at=now,
        doses=doses,
        updated_at=now,
    )
    if updated != 1:
        raise ValidationError({"non_field_errors": ["This appointment changed meanwhile."]})
    appointment.refresh_from_db()
    _move_later_appointments(appointment, given_at)
    infusion_appointments_extend(course=appointment.course, now=now)
    return appointment


@transaction.atomic
def infusion_reschedule(
    *,
    appointment: InfusionAppointment,
    scheduled_at: datetime,
    reason: str,
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionAppointment:
    """Move one appointment (e.g. postponed); later ones keep the interval from it."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for moving the appointment."]})
    scheduled_at = _aware(scheduled_at, "scheduled_at")
    if scheduled_at < now - CLOCK_SKEW:
        raise ValidationError(
            {"scheduled_at": ["This time has passed; to record an infusion given, mark it given."]}
        )
    appointment = _locked_appointment(appointment)
    if appointment.course.status != CourseStatus.ACTIVE:
        raise ValidationError({"non_field_errors": ["This infusion course has been stopped."]})
    if appointment.state not in (AppointmentState.SCHEDULED, AppointmentState.MISSED):
        raise ValidationError(
            {"non_field_errors": [f"This appointment is {appointment.state}; it cannot be moved."]}
        )
    previous = (
        appointment.course.appointments.filter(cycle_number__lt=appointment.cycle_number)
        .exclude(state=AppointmentState.CANCELLED)
        .order_by("-cycle_number")
        .first()
    )
    if previous is not None and scheduled_at <= (previous.given_at or previous.scheduled_at):
        raise ValidationError(
            {"scheduled_at": ["This is before the previous appointment of the course."]}
        )
    changes = {"scheduled_at": scheduled_at, "reschedule_reason": reason, "updated_at": now}
    if appointment.state != AppointmentState.SCHEDULED:
        changes.update(state=AppointmentState.SCHEDULED, state_changed_at=now)
    updated = InfusionAppointment.objects.filter(pk=appointment.pk, state=appointment.state).update(
        **changes
    )
    if updated != 1:
        raise ValidationError({"non_field_errors": ["This appointment changed meanwhile."]})
    appointment.refresh_from_db()
    _move_later_appointments(appointment, scheduled_at)
    return appointment


@transaction.atomic
def infusion_course_stop(
    *,
    course: InfusionCourse,
    reason: str,
    stopped_at: datetime | None = None,
    recorded_by=None,
    now: datetime | None = None,
) -> InfusionCourse:
    """Stop a course: planned appointments from the stop on are cancelled (history stays).
    Atezolizumab is interrupted rather than reduced (drugs.md)."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for stopping."]})
    stopped_at = stopped_at or now
    updated = InfusionCourse.objects.filter(pk=course.pk, status=CourseStatus.ACTIVE).update(
        status=CourseStatus.STOPPED, stopped_at=stopped_at
    )
    if updated != 1:
        raise ValidationError({"non_field_errors": ["This infusion course is already stopped."]})
    InfusionAppointment.objects.filter(
        course=course, state=AppointmentState.SCHEDULED, scheduled_at__gte=stopped_at
    ).update(
        state=AppointmentState.CANCELLED,
        state_changed_at=now,
        reschedule_reason=f"Course stopped: {reason}",
        updated_at=now,
    )
    course.refresh_from_db()
    logger.info("infusion course %s stopped", course.pk)
    return course
