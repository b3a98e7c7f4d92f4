"""Outcomes that act (triage.md, "Alerts from symptom reports", last paragraph).

Resolving an alert with "treatment held" holds the chosen prescription(s); "dose reduced"
moves the chosen prescription down its drug's ladder; both with the nurse's note as the
reason and the nurse as who, through the medications services, inside the resolve's
transaction (a refusal there leaves the alert unresolved and nothing written). "Asked to
attend" records when the patient is to come in. Each returns what the alert's history keeps
and what the patient is told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from medications import ladders
from medications import services as medication_services
from medications.models import Prescription, PrescriptionStatus
from medications.symptoms import checkins

from ..models import Alert, AlertOutcome
from .common import _iso

TREATMENT_OUTCOMES = (AlertOutcome.TREATMENT_HELD, AlertOutcome.DOSE_REDUCED)


@dataclass
class OutcomeRequest:
    """What a resolve asks for besides outcome and note (API body or page form)."""

    prescription_ids: Sequence[int] = ()
    dose_mg: Decimal | None = None
    ladder_step: str = ""
    attend_at: datetime | None = None
    end_follow_up: bool = False


@dataclass
class OutcomeDone:
    event: dict = field(default_factory=dict)  # kept in the RESOLVED event's data
    patient_words: str = ""  # replaces the outcome's generic words when set
    attend_at: datetime | None = None


def current_prescriptions(patient_id: int) -> list[Prescription]:
    """Prescriptions an outcome may act on: the patient's, not stopped."""
    return list(
        Prescription.objects.filter(patient_id=patient_id)
        .exclude(status=PrescriptionStatus.STOPPED)
        .select_related("drug", "patient")
        .order_by("pk")
    )


def lower_steps(prescription: Prescription) -> list[ladders.Step]:
    """The ladder steps below the prescription's current dose (what "dose reduced" offers)."""
    steps = ladders.ladder_for(prescription.drug.dose_ladder, prescription.patient.weight_kg)
    current = ladders.find_step(
        steps,
        dose_mg=prescription.dose_mg,
        doses_per_day=len(prescription.times),
        cycle_days_on=prescription.cycle_days_on,
        cycle_days_off=prescription.cycle_days_off,
    )
    if current is None:
        return [s for s in steps if s.dose_mg < prescription.dose_mg]
    here = [s.id for s in steps].index(current.id)
    return steps[here + 1 :]


def _mg(value) -> str:
    return format(Decimal(value).normalize(), "f")


def _refuse_extras(outcome: str, request: OutcomeRequest) -> None:
    errors = {}
    if request.prescription_ids and outcome not in TREATMENT_OUTCOMES:
        errors["prescriptions"] = ["Only for the outcomes treatment_held and dose_reduced."]
    if request.dose_mg is not None and outcome != AlertOutcome.DOSE_REDUCED:
        errors["dose_mg"] = ["Only for the outcome dose_reduced."]
    if request.attend_at is not None and outcome != AlertOutcome.SAME_DAY_ASSESSMENT:
        errors["attend_at"] = ["Only for the outcome same_day_assessment."]
    if errors:
        raise ValidationError(errors)


def _chosen(alert: Alert, ids: Sequence[int], *, one: bool) -> list[Prescription]:
    current = current_prescriptions(alert.patient_id)
    if not ids:
        if one and len(current) == 1:
            return current
        if one and alert.prescription_id and any(p.pk == alert.prescription_id for p in current):
            return [p for p in current if p.pk == alert.prescription_id]
        what = "the prescription to reduce" if one else "which prescription(s) to hold"
        raise ValidationError({"prescriptions": [f"Choose {what}."]})
    by_id = {p.pk: p for p in current}
    unknown = [str(pk) for pk in ids if pk not in by_id]
    if unknown:
        raise ValidationError(
            {
                "prescriptions": [
                    "Not a current prescription of this patient: " + ", ".join(unknown) + "."
                ]
            }
        )
    if one and len(set(ids)) > 1:
        raise ValidationError({"prescriptions": ["Choose one prescription to reduce."]})
    return [by_id[pk] for pk in sorted(set(ids))]


def _service_error(prescription: Prescription, exc: ValidationError, field_name: str):
    name = prescription.drug.name
    name = name[:1].upper() + name[1:]
    return ValidationError({field_name: [f"{name}: {message}" for message in exc.messages]})


def _hold(alert, request, *, note, user, now) -> OutcomeDone:
    chosen = _chosen(alert, request.prescription_ids, one=False)
    for prescription in chosen:
        try:
            medication_services.prescription_hold(
                prescription=prescription, reason=note, recorded_by=user, now=now
            )
        except ValidationError as exc:
            raise _service_error(prescription, exc, "prescriptions") from exc
    names = " and ".join(p.drug.name for p in chosen)
    return OutcomeDone(
        event={"held": [p.pk for p in chosen]},
        patient_words=f"Your team has paused {names}. Do not take it until they tell you to.",
    )


def _reduce(alert, request, *, note, user, now) -> OutcomeDone:
    if request.dose_mg is None:
        raise ValidationError({"dose_mg": ["Give the new dose (mg) from the drug's ladder."]})
    try:
        dose = Decimal(request.dose_mg)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError({"dose_mg": ["Give the new dose as a number of mg."]}) from exc
    (prescription,) = _chosen(alert, request.prescription_ids, one=True)
    below = lower_steps(prescription)
    candidates = [s for s in below if s.dose_mg == dose]
    if request.ladder_step:
        candidates = [s for s in candidates if s.id == request.ladder_step]
    step = next((s for s in candidates if not s.alternative_to), None) or next(
        iter(candidates), None
    )
    if step is None:
        offered = "; ".join(s.label for s in below) or "none: it is at the lowest dose"
        raise ValidationError(
            {
                "dose_mg": [
                    f"{_mg(dose)} mg is not a lower step of {prescription.drug.name}'s dose "
                    f"ladder for this patient (lower steps: {offered})."
                ]
            }
        )
    previous = _mg(prescription.dose_mg)
    try:
        medication_services.prescription_change_dose(
            prescription=prescription,
            dose_mg=step.dose_mg,
            ladder_step=step.id,
            reason=note,
            recorded_by=user,
            now=now,
        )
    except ValidationError as exc:
        raise _service_error(prescription, exc, "dose_mg") from exc
    return OutcomeDone(
        event={
            "dose_changed": prescription.pk,
            "from_mg": previous,
            "to_mg": _mg(step.dose_mg),
            "step": step.id,
        },
        patient_words=(
            f"Your team has lowered your {prescription.drug.name} dose to {step.label}."
        ),
    )


def _attend(alert, request, *, now) -> OutcomeDone:
    when = request.attend_at
    if when is None:
        return OutcomeDone()
    if when.tzinfo is None:
        raise ValidationError({"attend_at": ["Give the time with its UTC offset."]})
    local = when.astimezone(alert.patient.zone)
    return OutcomeDone(
        event={"attend_at": _iso(when)},
        patient_words=(
            f"You were asked to come in to be seen at {local:%H:%M} on "
            f"{local:%A} {local.day} {local:%B}."
        ),
        attend_at=when,
    )


def outcome_act(
    *, alert: Alert, outcome: str, note: str, request: OutcomeRequest, user, now: datetime
) -> OutcomeDone:
    """Do what the outcome says, in the caller's transaction; refuse with a field named.
    `end_follow_up` (any outcome) ends the patient's amber follow-up check-ins
    (checkins.md: "or a nurse ends the follow-up when resolving the alert")."""
    _refuse_extras(outcome, request)
    if outcome == AlertOutcome.TREATMENT_HELD:
        done = _hold(alert, request, note=note, user=user, now=now)
    elif outcome == AlertOutcome.DOSE_REDUCED:
        done = _reduce(alert, request, note=note, user=user, now=now)
    elif outcome == AlertOutcome.SAME_DAY_ASSESSMENT:
        done = _attend(alert, request, now=now)
    else:
        done = OutcomeDone()
    if request.end_follow_up:
        ended = checkins.follow_ups_end(patient_id=alert.patient_id, now=now)
        done.event["follow_ups_ended"] = ended
    return done
