"""Prescribing checks of ../shared/clinical/drugs.md ("Prescribing checks").

Pure: patient facts, the drug and the patient's treatments on record go in; the list of
unmet checks comes out, each with a code and a plain message for the prescriber. Unmet
checks are warnings: prescribing anyway needs a recorded reason (`override_reason`), kept
with the prescription. A few checks are not warnings but hard stops that no reason can
override (marked `overridable=False`): two oral targeted drugs active at the same time
("never"), or a second active infusion course.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from .ladders import find_step, ladder_for

# drugs.md: "any two of sorafenib, lenvatinib, regorafenib, cabozantinib: never active at
# the same time for one patient".
ORAL_TARGETED = frozenset({"sorafenib", "lenvatinib", "regorafenib", "cabozantinib"})
INFUSION_PAIR = ("atezolizumab", "bevacizumab")
ENDOSCOPY_WITHIN_MONTHS = 6


@dataclass(frozen=True)
class PatientFacts:
    child_pugh_class: str
    performance_status: int
    weight_kg: Decimal | None
    prior_systemic_therapies: frozenset[str] = frozenset()
    sorafenib_tolerated: bool | None = None
    last_upper_endoscopy_on: date | None = None


@dataclass(frozen=True)
class TreatmentOnRecord:
    """A prescription or infusion course already in the service for this patient."""

    drug_code: str
    start_date: date
    end_date: date | None = None
    active: bool = True  # not stopped

    def overlaps(self, start: date, end: date | None) -> bool:
        if not self.active:
            return False
        starts_before_new_ends = end is None or self.start_date <= end
        ends_after_new_starts = self.end_date is None or self.end_date >= start
        return starts_before_new_ends and ends_after_new_starts


@dataclass(frozen=True)
class DrugFacts:
    code: str
    name: str
    route: str
    dose_ladder: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    standard_dose_mg: Decimal | None = None


@dataclass(frozen=True)
class UnmetCheck:
    code: str
    message: str
    overridable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "overridable": self.overridable}


def proposed_dose_mg(drug: DrugFacts, weight_kg: Decimal | None) -> Decimal | None:
    """The starting dose: the top of the ladder that fits the patient (lenvatinib: 12 mg at
    60 kg or more, 8 mg under 60 kg), else the standard dose."""
    steps = ladder_for(drug.dose_ladder, weight_kg)
    if steps:
        return steps[0].dose_mg
    return drug.standard_dose_mg


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _mg(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def earlier_therapies(
    patient: PatientFacts, history: Iterable[TreatmentOnRecord], *, excluding: Iterable[str]
) -> set[str]:
    """Systemic therapy before this one: before enrolment, or recorded here."""
    excluded = set(excluding)
    found = set(patient.prior_systemic_therapies) | {t.drug_code for t in history}
    return found - excluded


def _child_pugh_a(patient: PatientFacts, drug_name: str) -> UnmetCheck | None:
    if patient.child_pugh_class == "A":
        return None
    return UnmetCheck(
        "child_pugh_not_a",
        f"{drug_name} is for people with Child-Pugh class A liver function; this patient is "
        f"class {patient.child_pugh_class or 'not recorded'}.",
    )


def _performance_status(patient: PatientFacts, drug_name: str) -> UnmetCheck | None:
    if patient.performance_status in (0, 1):
        return None
    return UnmetCheck(
        "performance_status",
        f"{drug_name} is for people with performance status 0 or 1; this patient's is "
        f"{patient.performance_status}.",
    )


def _first_line(
    patient: PatientFacts, history: Iterable[TreatmentOnRecord], drugs: Iterable[str], name: str
) -> UnmetCheck | None:
    earlier = earlier_therapies(patient, history, excluding=drugs)
    if not earlier:
        return None
    return UnmetCheck(
        "previous_systemic_therapy",
        f"{name} is a first-line treatment, but this patient has had systemic therapy "
        f"before: {', '.join(sorted(earlier))}.",
    )


def _after_sorafenib(
    patient: PatientFacts, history: Iterable[TreatmentOnRecord], name: str, *, tolerated: bool
) -> list[UnmetCheck]:
    had_sorafenib = "sorafenib" in earlier_therapies(patient, history, excluding=())
    if not had_sorafenib:
        return [
            UnmetCheck(
                "no_previous_sorafenib",
                f"{name} is a second-line treatment for people previously treated with "
                "sorafenib; no sorafenib is on record for this patient.",
            )
        ]
    if tolerated and patient.sorafenib_tolerated is not True:
        state = "not recorded" if patient.sorafenib_tolerated is None else "not tolerated"
        return [
            UnmetCheck(
                "sorafenib_not_tolerated",
                f"{name} is for people who tolerated sorafenib; for this patient it is {state}.",
            )
        ]
    return []


def _one_oral_targeted_drug(
    drug: DrugFacts, start: date, end: date | None, history: Iterable[TreatmentOnRecord]
) -> list[UnmetCheck]:
    clashes = sorted(
        {t.drug_code for t in history if t.drug_code in ORAL_TARGETED and t.overlaps(start, end)}
    )
    checks = []
    for other in clashes:
        if other == drug.code:
            message = (
                f"This patient already has an active {drug.name} prescription over these "
                "dates: change or stop that one instead."
            )
        else:
            message = (
                f"{other} is still active for this patient over these dates; two oral "
                f"targeted drugs are never taken together. Stop {other} (or give it an end "
                f"date before {start.isoformat()}) first."
            )
        checks.append(UnmetCheck("other_oral_drug_active", message, overridable=False))
    return checks


def check_prescription(
    *,
    drug: DrugFacts,
    dose_mg: Decimal,
    doses_per_day: int,
    cycle_days_on: int | None,
    cycle_days_off: int | None,
    start_date: date,
    end_date: date | None,
    patient: PatientFacts,
    history: Sequence[TreatmentOnRecord],
) -> list[UnmetCheck]:
    """Unmet checks for a new prescription of an oral drug."""
    name = drug.name.capitalize()
    unmet: list[UnmetCheck | None] = []
    unmet += _one_oral_targeted_drug(drug, start_date, end_date, history)

    if drug.code == "sorafenib":
        unmet.append(_child_pugh_a(patient, name))
    elif drug.code == "lenvatinib":
        unmet.append(_first_line(patient, history, [drug.code], name))
        unmet.append(_child_pugh_a(patient, name))
        unmet.append(_performance_status(patient, name))
        proposed = proposed_dose_mg(drug, patient.weight_kg)
        if proposed is not None and Decimal(dose_mg) != proposed:
            unmet.append(
                UnmetCheck(
                    "dose_differs_from_weight_based",
                    f"Lenvatinib's starting dose is 12 mg at 60 kg or more and 8 mg under "
                    f"60 kg; for {patient.weight_kg} kg that is {_mg(proposed)} mg, not "
                    f"{_mg(dose_mg)} mg.",
                )
            )
    elif drug.code == "regorafenib":
        unmet += _after_sorafenib(patient, history, name, tolerated=True)
        unmet.append(_child_pugh_a(patient, name))
        unmet.append(_performance_status(patient, name))
    elif drug.code == "cabozantinib":
        unmet += _after_sorafenib(patient, history, name, tolerated=False)
        if patient.child_pugh_class == "C":
            unmet.append(
                UnmetCheck(
                    "child_pugh_c_avoid",
                    "Cabozantinib should be avoided in Child-Pugh class C liver function.",
                )
            )
        elif patient.child_pugh_class == "B" and Decimal(dose_mg) > 40:
            unmet.append(
                UnmetCheck(
                    "child_pugh_b_start_40",
                    "In Child-Pugh class B, cabozantinib starts at 40 mg once daily; "
                    f"{_mg(dose_mg)} mg was entered.",
                )
            )
        elif patient.child_pugh_class not in ("A", "B"):
            unmet.append(_child_pugh_a(patient, name))

    steps = ladder_for(drug.dose_ladder, patient.weight_kg)
    if steps and (
        find_step(
            steps,
            dose_mg=dose_mg,
            doses_per_day=doses_per_day,
            cycle_days_on=cycle_days_on,
            cycle_days_off=cycle_days_off,
        )
        is None
    ):
        levels = "; ".join(step.label for step in steps)
        unmet.append(
            UnmetCheck(
                "dose_not_on_ladder",
                f"{_mg(dose_mg)} mg {doses_per_day} time(s) a day"
                f"{_cycle_text(cycle_days_on, cycle_days_off)} is not one of {drug.name}'s "
                f"dose levels for this patient: {levels}.",
            )
        )
    return [check for check in unmet if check is not None]


def _cycle_text(days_on: int | None, days_off: int | None) -> str:
    if days_on and days_off:
        return f" ({days_on} days on, {days_off} off)"
    return ""


def check_infusion_course(
    *,
    drug_codes: Sequence[str],
    first_infusion_on: date,
    patient: PatientFacts,
    history: Sequence[TreatmentOnRecord],
    has_active_course: bool = False,
) -> list[UnmetCheck]:
    """Unmet checks for atezolizumab + bevacizumab (or one of the two)."""
    codes = set(drug_codes)
    unmet: list[UnmetCheck | None] = []
    if has_active_course:
        unmet.append(
            UnmetCheck(
                "infusion_course_active",
                "This patient already has an active infusion course; stop it first.",
                overridable=False,
            )
        )
    if codes & set(INFUSION_PAIR):
        for missing in INFUSION_PAIR:
            if missing not in codes:
                given = (codes & set(INFUSION_PAIR)).pop()
                unmet.append(
                    UnmetCheck(
                        f"{given}_without_{missing}",
                        f"In HCC {given} is given together with {missing}; only {given} "
                        "was entered.",
                    )
                )
        name = " + ".join(code for code in INFUSION_PAIR if code in codes).capitalize()
        unmet.append(_first_line(patient, history, INFUSION_PAIR, name))
        unmet.append(_child_pugh_a(patient, name))
        unmet.append(_performance_status(patient, name))
        # Varices must have been assessed (and treated if needed) within 6 months of the
        # first infusion: bevacizumab raises the bleeding risk.
        oldest_allowed = months_before(first_infusion_on, ENDOSCOPY_WITHIN_MONTHS)
        endoscopy = patient.last_upper_endoscopy_on
        if endoscopy is None:
            unmet.append(
                UnmetCheck(
                    "no_recent_endoscopy",
                    "No upper endoscopy is recorded; varices must be assessed (and treated "
                    "if needed) within the 6 months before atezolizumab + bevacizumab.",
                )
            )
        elif endoscopy < oldest_allowed:
            unmet.append(
                UnmetCheck(
                    "no_recent_endoscopy",
                    f"The last upper endoscopy was on {endoscopy.isoformat()}, more than 6 "
                    f"months before the first infusion ({first_infusion_on.isoformat()}).",
                )
            )
    return [check for check in unmet if check is not None]
