"""The nurse's patient pages: the list, the treatment line, current prescriptions and
infusions with their actions, unresolved alerts and the dose calendar."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet

from medications import calendar, ladders
from medications import selectors as medication_selectors
from medications.models import (
    AppointmentState,
    CourseStatus,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionHold,
    PrescriptionStatus,
    Route,
)
from patients.models import Patient
from patients.selectors import visible_to

from ..models import (
    Alert,
)
from ..selectors import LEVEL_ORDER
from .alert_queue import _search_filter

PATIENTS_PAGE_SIZE = 25
CALENDAR_DAYS = 28


def patients_for_list(user, search: str = "") -> QuerySet[Patient]:
    qs = visible_to(user, Patient.objects.select_related("care_team"), patient_path=None)
    if search.strip():
        qs = qs.filter(_search_filter(search.strip(), prefix=""))
    return qs.order_by("family_name", "given_name", "id")


def open_alert_counts(patient_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """patient id -> {level: number of unresolved alerts}: one query for a page."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Alert.objects.unresolved()
        .filter(patient_id__in=list(patient_ids))
        .values_list("patient_id", "level")
    )
    for patient_id, level in rows:
        counts[patient_id][level] = counts[patient_id].get(level, 0) + 1
    return counts


# triage.md / drugs.md: regorafenib and cabozantinib are second line after sorafenib;
# atezolizumab + bevacizumab is one first-line regimen (so it counts once).
REGIMEN_OF = {"bevacizumab": "atezolizumab"}
ORDINALS = ["First", "Second", "Third", "Fourth", "Fifth"]


@dataclass
class TreatmentLine:
    number: int | None
    words: str  # "Second line"
    current: list[str]  # drug names now
    earlier: list[str]  # drug names before


def treatment_line(
    patient: Patient,
    prescriptions: Sequence[Prescription],
    courses: Sequence[InfusionCourse],
    drug_names: Mapping[str, str],
) -> TreatmentLine:
    """Line of systemic therapy: one more than the number of earlier regimens (prior
    therapies recorded at enrolment and treatments stopped here). With nothing earlier on
    record, a drug licensed only after sorafenib (regorafenib, cabozantinib) still counts as
    second line (drugs.md, "line of therapy")."""
    current_codes: list[str] = []
    earlier_codes: list[str] = list(patient.prior_systemic_therapies or [])
    for prescription in prescriptions:
        code = prescription.drug.code
        if prescription.status == PrescriptionStatus.STOPPED:
            earlier_codes.append(code)
        else:
            current_codes.append(code)
    for course in courses:
        target = current_codes if course.status == CourseStatus.ACTIVE else earlier_codes
        target.extend(course.drugs or [])
    current_regimens = {REGIMEN_OF.get(c, c) for c in current_codes}
    earlier_regimens = {REGIMEN_OF.get(c, c) for c in earlier_codes} - current_regimens
    number = len(earlier_regimens) + 1 if current_regimens else None
    if number == 1 and current_regimens & {"regorafenib", "cabozantinib"}:
        number = 2
    if number is None:
        words = "No current systemic treatment"
    else:
        words = f"{ORDINALS[min(number, len(ORDINALS)) - 1]} line"
    name = lambda code: drug_names.get(code, code)  # noqa: E731
    return TreatmentLine(
        number=number,
        words=words,
        current=[name(c) for c in dict.fromkeys(current_codes)],
        earlier=[name(c) for c in dict.fromkeys(earlier_codes) if c not in current_codes],
    )


@dataclass
class PrescriptionPanel:
    prescription: Prescription
    steps: list[ladders.Step]
    current_step: ladders.Step | None
    open_hold: PrescriptionHold | None
    forms: dict[str, Any] = field(default_factory=dict)


def current_prescriptions(patient: Patient, now: datetime) -> list[PrescriptionPanel]:
    """Prescriptions not stopped, with their ladder and current hold (2 queries)."""
    prescriptions = (
        Prescription.objects.filter(patient=patient)
        .current()
        .select_related("drug")
        .prefetch_related(
            Prefetch("holds", queryset=PrescriptionHold.objects.order_by("starts_at"))
        )
        .order_by("recorded_at", "id")
    )
    panels = []
    for prescription in prescriptions:
        steps = ladders.ladder_for(prescription.drug.dose_ladder, patient.weight_kg)
        current = ladders.find_step(
            steps,
            dose_mg=prescription.dose_mg,
            doses_per_day=len(prescription.times or ()),
            cycle_days_on=prescription.cycle_days_on,
            cycle_days_off=prescription.cycle_days_off,
        )
        open_hold = next(
            (h for h in prescription.holds.all() if h.ends_at is None or h.ends_at > now), None
        )
        panels.append(PrescriptionPanel(prescription, steps, current, open_hold))
    return panels


def all_treatments(patient: Patient) -> tuple[list[Prescription], list[InfusionCourse]]:
    """Every prescription (with drug) and infusion course of the patient: 2 queries."""
    prescriptions = list(Prescription.objects.filter(patient=patient).select_related("drug"))
    courses = list(InfusionCourse.objects.filter(patient=patient).order_by("first_infusion_at"))
    return prescriptions, courses


@dataclass
class AppointmentPanel:
    appointment: InfusionAppointment
    overdue: bool
    forms: dict[str, Any] = field(default_factory=dict)


def infusion_appointments_to_act_on(
    patient: Patient, now: datetime, ahead: int = 2
) -> list[AppointmentPanel]:
    """Appointments of active courses not yet given: missed or past ones first (to be marked
    given or moved), then the next `ahead` planned ones. One query."""
    rows = list(
        InfusionAppointment.objects.filter(
            patient=patient,
            course__status=CourseStatus.ACTIVE,
            state__in=[AppointmentState.SCHEDULED, AppointmentState.MISSED],
        )
        .select_related("course")
        .order_by("scheduled_at", "id")
    )
    past = [a for a in rows if a.scheduled_at <= now or a.state == AppointmentState.MISSED]
    future = [a for a in rows if a not in past][:ahead]
    return [AppointmentPanel(a, a in past) for a in past + future]


@dataclass
class CalendarDay:
    day: date
    expected: int = 0
    taken: int = 0
    held: int = 0
    missed: int = 0  # missed or not taken (skipped)
    pending: int = 0  # upcoming or still inside the late window
    in_range: bool = True
    label: str = ""  # "3", or "1 Nov" on the first shown day and the first of a month

    @property
    def status(self) -> str:
        if not self.in_range:
            return "outside"
        if self.expected == 0:
            return "held" if self.held else "none"
        if self.pending and not self.missed:
            return "pending"
        if self.taken == self.expected:
            return "all"
        if self.taken == 0 and self.missed:
            return "missed"
        return "some"

    @property
    def words(self) -> str:
        status = self.status
        if status == "outside":
            return ""
        if status == "none":
            return "No doses due"
        if status == "held":
            return "Held: no doses expected"
        text = f"{self.taken} of {self.expected} taken"
        if self.pending:
            text += f", {self.pending} still to take"
        return text

    @property
    def symbol(self) -> str:
        return {"all": "✓", "some": "½", "missed": "✗", "held": "H", "pending": "…"}.get(
            self.status, ""
        )


def dose_calendar(
    patient: Patient, now: datetime, days: int = CALENDAR_DAYS
) -> list[list[CalendarDay]]:
    """The last `days` local days as weeks (Monday first): per day, doses taken of those
    expected, by the day rules of medications/calendar.py (held doses are not expected;
    a dose whose window closed unlogged is missed). One query."""
    today = now.astimezone(patient.zone).date()
    first = today - timedelta(days=days - 1)
    by_day = medication_selectors.dose_days(patient, first_day=first, last_day=today, now=now)
    weeks: list[list[CalendarDay]] = []
    for week in calendar.week_rows(first, today):
        cells = []
        for day in week:
            doses = by_day.get(day)
            cell = CalendarDay(day)
            if doses is not None:
                cell.expected, cell.taken, cell.held = doses.expected, doses.taken, doses.held
                cell.missed, cell.pending = doses.not_taken, doses.still_open
            cell.in_range = first <= day <= today
            month = day == first or day.day == 1
            cell.label = f"{day.day} {day:%b}" if month else str(day.day)
            cells.append(cell)
        weeks.append(cells)
    return weeks


def oral_drugs_on_record(prescriptions: Sequence[Prescription]) -> bool:
    return any(p.drug.route == Route.ORAL for p in prescriptions)


def unresolved_alerts_for_patient(patient: Patient, limit: int = 10) -> tuple[list[Alert], int]:
    """The patient's open and acknowledged alerts, most urgent first (at most `limit`; the
    queue filtered by NHS number shows the rest), and how many more there are. 2 queries."""
    qs = (
        Alert.objects.unresolved()
        .filter(patient=patient)
        .select_related("acknowledged_by", "symptom_report", "care_team", "patient")
        .annotate(level_order=LEVEL_ORDER)
        .order_by("level_order", "created_at", "id")
    )
    shown = list(qs[:limit])
    return shown, max(qs.count() - len(shown), 0)
