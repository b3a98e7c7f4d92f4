"""The prescribing checks around the pure rules of checks.py (drugs.md, "Prescribing
checks"): the patient's facts and treatment history as the checks see them, and the refusal
that lists every unmet check."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from patients.models import Patient

from .. import checks
from ..models import (
    CourseStatus,
    Drug,
    InfusionCourse,
    Prescription,
    PrescriptionStatus,
)
from .common import _local


def _patient_facts(patient: Patient) -> checks.PatientFacts:
    return checks.PatientFacts(
        child_pugh_class=patient.child_pugh_class,
        performance_status=patient.performance_status,
        weight_kg=patient.weight_kg,
        prior_systemic_therapies=frozenset(patient.prior_systemic_therapies or ()),
        sorafenib_tolerated=patient.sorafenib_tolerated,
        last_upper_endoscopy_on=patient.last_upper_endoscopy_on,
    )


def treatment_history(patient: Patient) -> list[checks.TreatmentOnRecord]:
    """Every prescription and infusion course of this patient, as the checks see them."""
    history = []
    for p in Prescription.objects.filter(patient=patient).select_related("drug"):
        end = p.end_date
        if p.stopped_at is not None:
            stopped_on = _local(p.stopped_at, patient).date()
            end = min(end, stopped_on) if end else stopped_on
        history.append(
            checks.TreatmentOnRecord(
                drug_code=p.drug.code,
                start_date=p.start_date,
                end_date=end,
                active=p.status != PrescriptionStatus.STOPPED,
            )
        )
    for course in InfusionCourse.objects.filter(patient=patient):
        for code in course.drugs:
            history.append(
                checks.TreatmentOnRecord(
                    drug_code=code,
                    start_date=_local(course.first_infusion_at, patient).date(),
                    active=course.status == CourseStatus.ACTIVE,
                )
            )
    return history


def _drug_facts(drug: Drug) -> checks.DrugFacts:
    return checks.DrugFacts(
        code=drug.code,
        name=drug.name,
        route=drug.route,
        dose_ladder=drug.dose_ladder or (),
        standard_dose_mg=drug.standard_dose_mg,
    )


def proposed_dose_mg(*, drug: Drug, patient: Patient) -> Decimal | None:
    return checks.proposed_dose_mg(_drug_facts(drug), patient.weight_kg)


class PrescribingChecksNotMet(ValidationError):
    """Refused by the prescribing checks; `unmet` lists each check as {code, message,
    overridable} for the API's 400."""

    def __init__(self, errors: dict[str, list[str]], unmet: list[dict]):
        super().__init__(errors)
        self.unmet = unmet


def _check_or_raise(unmet: list[checks.UnmetCheck], override_reason: str) -> list[dict]:
    """Hard stops always refuse; warnings refuse unless a reason to override is given."""
    hard = [c for c in unmet if not c.overridable]
    if hard or (unmet and not override_reason.strip()):
        errors: dict[str, list[str]] = {}
        if hard:
            errors["non_field_errors"] = [c.message for c in hard]
        else:
            errors["override_reason"] = [
                "These prescribing checks are not met: "
                + " ".join(c.message for c in unmet)
                + " To prescribe anyway, give override_reason."
            ]
        raise PrescribingChecksNotMet(errors, [c.as_dict() for c in unmet])
    return [c.as_dict() for c in unmet]
