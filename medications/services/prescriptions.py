"""Prescriptions and the clinical decisions recorded on them: create (with the
prescribing checks), hold, resume, change dose along the ladder, stop (drugs.md). Each
changes the expected doses from its start."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from patients.models import Patient
from patients.services import lock_patient

from .. import checks, ladders, schedule
from ..models import (
    Drug,
    Prescription,
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionHold,
    PrescriptionStatus,
    Route,
)
from .common import CLOCK_SKEW, _aware, _local, _mg, _now
from .prescribing import (
    _check_or_raise,
    _drug_facts,
    _patient_facts,
    proposed_dose_mg,
    treatment_history,
)
from .schedules import _regimen_data, expected_doses_sync, regimens_for

logger = logging.getLogger(__name__)


def clean_times(times: Sequence[str], field: str = "times") -> list[str]:
    problems = schedule.times_problems(times)
    if problems:
        raise ValidationError({field: problems})
    return sorted(times)


def _clean_cycle(days_on: int | None, days_off: int | None) -> tuple[int | None, int | None]:
    if days_on is None and days_off is None:
        return None, None
    if days_on is None or days_off is None:
        raise ValidationError(
            {"cycle_days_on": ["Give both cycle_days_on and cycle_days_off, or neither."]}
        )
    if days_on < 1:
        raise ValidationError({"cycle_days_on": ["A cycle needs at least 1 day on."]})
    if days_off < 0:
        raise ValidationError({"cycle_days_off": ["Days off cannot be negative."]})
    if days_off == 0:
        return None, None  # no days off: continuous
    return days_on, days_off


@transaction.atomic
def prescription_create(
    *,
    patient: Patient,
    drug: Drug,
    dose_mg: Decimal | None,
    times: Sequence[str],
    start_date: date,
    end_date: date | None = None,
    cycle_days_on: int | None = None,
    cycle_days_off: int | None = None,
    override_reason: str = "",
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Prescribe an oral drug after the prescribing checks of drugs.md.

    Unmet checks refuse the prescription (a 400 listing each) unless `override_reason` is
    given, in which case they are stored with it as the prescription's warnings.
    """
    now = _now(now)
    override_reason = (override_reason or "").strip()
    if drug.route != Route.ORAL:
        raise ValidationError(
            {"drug": [f"{drug.name} is an infusion: plan it as an infusion course instead."]}
        )
    if not drug.is_active:
        raise ValidationError({"drug": [f"{drug.name} is not available in the catalogue."]})
    times = clean_times(times)
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": ["The end date is before the start date."]})
    if cycle_days_on is None and cycle_days_off is None:
        cycle_days_on, cycle_days_off = drug.default_cycle_days_on, drug.default_cycle_days_off
    cycle_days_on, cycle_days_off = _clean_cycle(cycle_days_on, cycle_days_off)
    if dose_mg is None:
        dose_mg = proposed_dose_mg(drug=drug, patient=patient)
        if dose_mg is None:
            raise ValidationError({"dose_mg": ["Give the dose in mg."]})
    if Decimal(dose_mg) <= 0:
        raise ValidationError({"dose_mg": ["The dose must be more than 0 mg."]})

    lock_patient(patient)
    unmet = checks.check_prescription(
        drug=_drug_facts(drug),
        dose_mg=Decimal(dose_mg),
        doses_per_day=len(times),
        cycle_days_on=cycle_days_on,
        cycle_days_off=cycle_days_off,
        start_date=start_date,
        end_date=end_date,
        patient=_patient_facts(patient),
        history=treatment_history(patient),
    )
    warnings = _check_or_raise(unmet, override_reason)

    prescription = Prescription.objects.create(
        patient=patient,
        drug=drug,
        dose_mg=dose_mg,
        times=times,
        start_date=start_date,
        end_date=end_date,
        cycle_days_on=cycle_days_on,
        cycle_days_off=cycle_days_off,
        status=PrescriptionStatus.ACTIVE,
        recorded_at=now,
        recorded_by=recorded_by,
        warnings=warnings,
        override_reason=override_reason if warnings else "",
    )
    steps = ladders.ladder_for(drug.dose_ladder, patient.weight_kg)
    step = ladders.find_step(
        steps,
        dose_mg=Decimal(dose_mg),
        doses_per_day=len(times),
        cycle_days_on=cycle_days_on,
        cycle_days_off=cycle_days_off,
    )
    data = _regimen_data(
        dose_mg=dose_mg,
        times=times,
        days_on=cycle_days_on,
        days_off=cycle_days_off,
        cycle_start=start_date if cycle_days_on else None,
    )
    data["ladder_step"] = step.id if step else None
    data["warnings"] = warnings
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.CREATED,
        effective_at=now,
        reason="Prescribed",
        override_reason=prescription.override_reason,
        data=data,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    expected_doses_sync(prescription=prescription, since=now, now=now)
    logger.info("prescription %s created for patient %s", prescription.pk, patient.pk)
    return prescription


def _locked(prescription: Prescription) -> Prescription:
    locked = (
        Prescription.objects.select_for_update(of=("self",))
        .select_related("drug", "patient")
        .get(pk=prescription.pk)
    )
    if locked.status == PrescriptionStatus.STOPPED:
        raise ValidationError({"non_field_errors": ["This prescription has been stopped."]})
    return locked


def _open_holds(prescription: Prescription, now: datetime):
    return PrescriptionHold.objects.filter(prescription=prescription).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


@transaction.atomic
def prescription_hold(
    *,
    prescription: Prescription,
    reason: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Interrupt treatment: doses due in [starts_at, ends_at) become held (not expected)."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for the hold."]})
    starts_at = _aware(starts_at, "from") if starts_at else now
    if ends_at is not None:
        _aware(ends_at, "until")
        if ends_at <= starts_at:
            raise ValidationError({"until": ["The hold must end after it starts."]})
        if ends_at <= now:
            raise ValidationError({"until": ["The hold would already be over."]})
    prescription = _locked(prescription)
    clashes = PrescriptionHold.objects.filter(prescription=prescription).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=starts_at)
    )
    if ends_at is not None:
        clashes = clashes.filter(starts_at__lt=ends_at)
    clash = clashes.first()
    if clash is not None:
        raise ValidationError(
            {
                "from": [
                    "This prescription is already on hold from "
                    f"{_local(clash.starts_at, prescription.patient):%Y-%m-%d %H:%M}; "
                    "resume it first."
                ]
            }
        )
    PrescriptionHold.objects.create(
        prescription=prescription,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.HOLD,
        effective_at=starts_at,
        until=ends_at,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    if starts_at <= now:
        prescription.status = PrescriptionStatus.HELD
        prescription.save(update_fields=["status", "updated_at"])
    expected_doses_sync(prescription=prescription, since=min(starts_at, now), now=now)
    return prescription


@transaction.atomic
def prescription_resume(
    *, prescription: Prescription, reason: str, recorded_by=None, now: datetime | None = None
) -> Prescription:
    """End the current hold now (and cancel any planned one): doses from now are expected."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for resuming."]})
    prescription = _locked(prescription)
    holds = list(_open_holds(prescription, now))
    if not holds:
        raise ValidationError({"non_field_errors": ["This prescription is not on hold."]})
    for hold in holds:
        # A hold that has not started yet is cancelled by making it empty; history stays.
        hold.ends_at = max(now, hold.starts_at)
        hold.save(update_fields=["ends_at"])
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.RESUME,
        effective_at=now,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    prescription.status = PrescriptionStatus.ACTIVE
    prescription.save(update_fields=["status", "updated_at"])
    expected_doses_sync(prescription=prescription, since=now, now=now)
    return prescription


def _times_for(current: Sequence[str], wanted: int) -> list[str]:
    """Times for a new number of daily doses: keep the first ones (twice -> once daily keeps
    the morning dose); add doses spread evenly over the day from the first time."""
    current = sorted(current)
    if wanted <= len(current):
        return current[:wanted]
    first = datetime.combine(date(2000, 1, 1), schedule.parse_time(current[0]))
    spread = [first + timedelta(hours=24 * i / wanted) for i in range(wanted)]
    return sorted({schedule.format_time(t.time()) for t in spread})


@transaction.atomic
def prescription_change_dose(
    *,
    prescription: Prescription,
    dose_mg: Decimal,
    reason: str,
    effective_at: datetime | None = None,
    times: Sequence[str] | None = None,
    ladder_step: str | None = None,
    override_reason: str = "",
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Move the prescription to another dose level (drugs.md, "Dose ladders").

    The new level must be a step of the drug's ladder for this patient unless
    `override_reason` is given. Where the step changes how often the dose is taken
    (sorafenib 400 mg twice daily -> once daily, lenvatinib 4 mg daily -> every other day)
    the times and cycle change with it. Pending doses from `effective_at` on follow.
    """
    now = _now(now)
    reason = (reason or "").strip()
    override_reason = (override_reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for the dose change."]})
    if dose_mg is None or Decimal(dose_mg) <= 0:
        raise ValidationError({"dose_mg": ["The dose must be more than 0 mg."]})
    effective_at = _aware(effective_at, "from") if effective_at else now
    if times is not None:
        times = clean_times(times)
    prescription = _locked(prescription)
    if effective_at < prescription.recorded_at:
        raise ValidationError({"from": ["The change cannot start before the prescription."]})
    patient, drug = prescription.patient, prescription.drug
    steps = ladders.ladder_for(drug.dose_ladder, patient.weight_kg)
    current_step = ladders.find_step(
        steps,
        dose_mg=prescription.dose_mg,
        doses_per_day=len(prescription.times),
        cycle_days_on=prescription.cycle_days_on,
        cycle_days_off=prescription.cycle_days_off,
    )
    step = ladders.resolve_change(
        steps,
        current=current_step,
        dose_mg=Decimal(dose_mg),
        doses_per_day=len(times) if times is not None else None,
        step_id=ladder_step or None,
    )
    if ladder_step and step is None:
        raise ValidationError(
            {"ladder_step": [f"{ladder_step!r} is not a {drug.name} step of {_mg(dose_mg)} mg."]}
        )
    warnings = []
    if step is None:
        if not override_reason:
            levels = "; ".join(s.label for s in steps) or "none"
            raise ValidationError(
                {
                    "dose_mg": [
                        f"{_mg(dose_mg)} mg is not on {drug.name}'s dose ladder for this patient "
                        f"({levels}). To use it anyway, give override_reason."
                    ]
                }
            )
        warnings.append(
            {
                "code": "dose_not_on_ladder",
                "message": f"{_mg(dose_mg)} mg is off {drug.name}'s dose ladder.",
                "overridable": True,
            }
        )
        new_times = times or list(prescription.times)
        days_on, days_off = prescription.cycle_days_on, prescription.cycle_days_off
    else:
        new_times = times or _times_for(prescription.times, step.doses_per_day)
        days_on, days_off = step.cycle_days_on, step.cycle_days_off
    if (
        current_step is not None
        and step is not None
        and step.id == current_step.id
        and new_times == sorted(prescription.times)
    ) or (
        step is None
        and Decimal(dose_mg) == prescription.dose_mg
        and new_times == sorted(prescription.times)
    ):
        raise ValidationError(
            {
                "dose_mg": [
                    "That is the current dose. To change how often it is taken, send `times` "
                    "or `ladder_step`."
                ]
            }
        )

    events = list(prescription.events.all())
    regimens = regimens_for(prescription, events)
    active = [r for r in regimens if r.effective_at <= effective_at] or regimens[:1]
    current_regimen = active[-1]
    if (days_on, days_off) == (current_regimen.cycle_days_on, current_regimen.cycle_days_off):
        cycle_start = current_regimen.cycle_start or (prescription.start_date if days_on else None)
    else:
        # A new pattern (e.g. every other day) counts its days from the change.
        cycle_start = _local(effective_at, patient).date() if days_on else None
    previous = {
        "dose_mg": _mg(prescription.dose_mg),
        "times": list(prescription.times),
        "cycle_days_on": prescription.cycle_days_on,
        "cycle_days_off": prescription.cycle_days_off,
        "ladder_step": current_step.id if current_step else None,
    }
    data = _regimen_data(
        dose_mg=dose_mg,
        times=new_times,
        days_on=days_on,
        days_off=days_off,
        cycle_start=cycle_start,
    )
    data.update({"ladder_step": step.id if step else None, "previous": previous})
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.DOSE_CHANGE,
        effective_at=effective_at,
        reason=reason,
        override_reason=override_reason if step is None else "",
        data=data,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    prescription.dose_mg = dose_mg
    prescription.times = new_times
    prescription.cycle_days_on, prescription.cycle_days_off = days_on, days_off
    if warnings:
        prescription.warnings = [*prescription.warnings, *warnings]
    prescription.save(
        update_fields=[
            "dose_mg",
            "times",
            "cycle_days_on",
            "cycle_days_off",
            "warnings",
            "updated_at",
        ]
    )
    expected_doses_sync(prescription=prescription, since=effective_at, now=now)
    return prescription


@transaction.atomic
def prescription_stop(
    *,
    prescription: Prescription,
    reason: str,
    stopped_at: datetime | None = None,
    recorded_by=None,
    now: datetime | None = None,
) -> Prescription:
    """Stop treatment: no dose is expected from `stopped_at` on (future pending doses go)."""
    now = _now(now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give the reason for stopping."]})
    stopped_at = _aware(stopped_at, "at") if stopped_at else now
    if stopped_at > now + CLOCK_SKEW:
        raise ValidationError(
            {"at": ["A stop cannot be recorded ahead of time; record it when it happens."]}
        )
    prescription = _locked(prescription)
    if stopped_at < prescription.recorded_at:
        raise ValidationError({"at": ["The stop cannot be before the prescription was recorded."]})
    for hold in _open_holds(prescription, stopped_at):
        hold.ends_at = max(stopped_at, hold.starts_at)
        hold.save(update_fields=["ends_at"])
    PrescriptionEvent.objects.create(
        prescription=prescription,
        kind=PrescriptionEventKind.STOP,
        effective_at=stopped_at,
        reason=reason,
        recorded_at=now,
        recorded_by=recorded_by,
    )
    prescription.status = PrescriptionStatus.STOPPED
    prescription.stopped_at = stopped_at
    prescription.save(update_fields=["status", "stopped_at", "updated_at"])
    expected_doses_sync(prescription=prescription, since=stopped_at, now=now)
    return prescription
