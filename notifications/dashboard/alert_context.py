"""What a nurse needs around an alert, on the phone to the patient (issue 16, point 1): how to
call them, the treatment now (dose, cycle day, hold), the last 7 days of doses, the whole
report, temperature and blood pressure of the last 4 weeks, and the alerts of the last 30
days with their outcomes. A fixed number of queries whatever the history (tests count them).

Cycle day (`cycle_words`) is pure and also shown on the patient page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Prefetch

from medications import adherence
from medications.models import (
    UNFINISHED_CHECK_IN,
    AppointmentState,
    CheckIn,
    CourseStatus,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionEventKind,
    PrescriptionHold,
    PrescriptionStatus,
    SymptomReport,
)
from medications.symptoms import triage
from patients.models import Patient

from ..models import Alert
from .words import as_decimal_text

RECENT_DOSE_DAYS = 7
VITALS_DAYS = 28
PREVIOUS_ALERT_DAYS = 30
PREVIOUS_ALERTS_SHOWN = 20

DOSE_STATE_WORDS = {
    adherence.UPCOMING: "To come",
    adherence.DUE: "Due now",
    adherence.TAKEN: "Taken",
    adherence.TAKEN_LATE: "Taken late",
    adherence.SKIPPED: "Not taken",
    adherence.MISSED: "Missed",
    adherence.HELD: "Held",
}
SKIP_REASON_WORDS = {
    "forgot": "forgot",
    "side_effects": "side effects",
    "unwell": "felt unwell",
    "vomited": "vomited",
    "ran_out": "ran out of tablets",
    "told_to_stop": "told to stop by the team",
    "other": "other reason",
}


# --- phone ----------------------------------------------------------------------------------


@dataclass
class Phone:
    label: str
    number: str

    @property
    def tel(self) -> str:
        """The number for a tel: link: digits and a leading +, nothing else."""
        number = self.number.strip()
        digits = "".join(ch for ch in number if ch.isdigit())
        return ("+" if number.startswith("+") else "") + digits


def phones_of(patient: Patient) -> list[Phone]:
    """The patient's numbers on record (the patient record has a mobile number only)."""
    number = (patient.mobile_phone or "").strip()
    return [Phone("Mobile", number)] if number and any(c.isdigit() for c in number) else []


# --- cycle day ------------------------------------------------------------------------------


def cycle_words(
    *, today: date, start: date, days_on: int | None = None, days_off: int | None = None
) -> str:
    """Where the patient is in their treatment today.

    A drug taken in cycles (regorafenib 21 days on, 7 off) counts cycles of days_on +
    days_off from `start` (day 1 of cycle 1, or of the current pattern after a dose change);
    a drug taken every day counts the days since it started."""
    if today < start:
        return f"Starts {start.day} {start:%b %Y}"
    elapsed = (today - start).days
    if days_on and days_off:
        length = days_on + days_off
        cycle, day = elapsed // length + 1, elapsed % length + 1
        words = f"Cycle {cycle}, day {day} of {length}"
        if day > days_on:
            words += " (break week: no tablets)"
        return words
    return f"Day {elapsed + 1} of treatment (started {start.day} {start:%b %Y})"


def infusion_cycle_words(*, today: date, cycle: int, given_on: date | None) -> str:
    if given_on is None:
        return f"Cycle {cycle} not given yet"
    day = (today - given_on).days + 1
    return f"Cycle {cycle}, day {day} (infusion given {given_on.day} {given_on:%b})"


# --- treatment now --------------------------------------------------------------------------


@dataclass
class TreatmentNow:
    name: str
    dose: str  # "400 mg twice daily (08:00, 20:00)"
    cycle: str  # "Cycle 2, day 9 of 28"
    held_since: datetime | None = None
    prescription: Prescription | None = None


def _times_words(times: Sequence[str]) -> str:
    count = len(times)
    often = {1: "once daily", 2: "twice daily"}.get(count, f"{count} times a day")
    return f"{often} ({', '.join(times)})" if times else ""


def _cycle_start(prescription: Prescription) -> date:
    """Day 1 of the pattern in force: the cycle start of the latest regimen (prescribed or
    changed; medications.services.schedules keeps it in the event data), else the
    prescription's start."""
    events = list(prescription.events.all())
    start = (events[-1].data or {}).get("cycle_start") if events else None
    try:
        return date.fromisoformat(str(start)) if start else prescription.start_date
    except ValueError:
        return prescription.start_date


def treatments_now(patient: Patient, now: datetime) -> list[TreatmentNow]:
    """Current prescriptions and active infusion courses, with dose and cycle day: 5 queries
    (prescriptions, their holds, their regimen events, courses, their given infusions)."""
    today = now.astimezone(patient.zone).date()
    prescriptions = (
        Prescription.objects.filter(patient=patient)
        .exclude(status=PrescriptionStatus.STOPPED)
        .select_related("drug")
        .prefetch_related(
            Prefetch("holds", queryset=PrescriptionHold.objects.order_by("starts_at")),
            Prefetch(
                "events",
                queryset=PrescriptionEvent.objects.filter(
                    kind__in=[PrescriptionEventKind.CREATED, PrescriptionEventKind.DOSE_CHANGE],
                    effective_at__lte=now,
                ).order_by("effective_at", "pk"),
            ),
        )
        .order_by("recorded_at", "pk")
    )
    rows: list[TreatmentNow] = []
    for prescription in prescriptions:
        hold = next(
            (
                h
                for h in prescription.holds.all()
                if h.starts_at <= now and (h.ends_at is None or h.ends_at > now)
            ),
            None,
        )
        rows.append(
            TreatmentNow(
                name=prescription.drug.name,
                dose=f"{as_decimal_text(prescription.dose_mg)} mg "
                + _times_words(list(prescription.times or ())),
                cycle=cycle_words(
                    today=today,
                    start=_cycle_start(prescription),
                    days_on=prescription.cycle_days_on,
                    days_off=prescription.cycle_days_off,
                ),
                held_since=hold.starts_at if hold else None,
                prescription=prescription,
            )
        )
    courses = InfusionCourse.objects.filter(
        patient=patient, status=CourseStatus.ACTIVE
    ).prefetch_related(
        Prefetch(
            "appointments",
            queryset=InfusionAppointment.objects.filter(state=AppointmentState.GIVEN).order_by(
                "-cycle_number"
            ),
            to_attr="given",
        )
    )
    for course in courses.order_by("first_infusion_at", "pk"):
        last = course.given[0] if course.given else None
        given_on = last.given_at.astimezone(patient.zone).date() if last and last.given_at else None
        rows.append(
            TreatmentNow(
                name=" + ".join(code.capitalize() for code in course.drugs or []),
                dose=f"every {course.interval_days} days",
                cycle=infusion_cycle_words(
                    today=today, cycle=last.cycle_number if last else 1, given_on=given_on
                ),
            )
        )
    return rows


# --- doses ----------------------------------------------------------------------------------


@dataclass
class DoseLine:
    due_at: datetime
    drug: str
    dose_mg: str
    state: str
    words: str
    taken_at: datetime | None
    reason: str


def recent_doses(patient: Patient, now: datetime, days: int = RECENT_DOSE_DAYS) -> list[DoseLine]:
    """Every dose due in the last `days` local days up to the end of today, newest first,
    in the state a person sees (held, missed, taken late ...): one query."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    first = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=zone)
    last = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    doses = (
        ExpectedDose.objects.filter(patient=patient, due_at__gte=first, due_at__lt=last)
        .select_related("prescription__drug")
        .order_by("-due_at", "-pk")
    )
    lines = []
    for dose in doses:
        state = dose.display_state(now)
        lines.append(
            DoseLine(
                due_at=dose.due_at,
                drug=dose.prescription.drug.name,
                dose_mg=as_decimal_text(dose.dose_mg),
                state=state,
                words=DOSE_STATE_WORDS.get(state, state),
                taken_at=dose.taken_at,
                reason=SKIP_REASON_WORDS.get(dose.skip_reason, dose.skip_reason),
            )
        )
    return lines


# --- the report -----------------------------------------------------------------------------


@dataclass
class ReportItem:
    label: str
    value: str  # "grade 2: ..." or "present" or "38.4 °C"
    level: str = ""


@dataclass
class ReportView:
    report: SymptomReport
    items: list[ReportItem] = field(default_factory=list)
    measurements: list[ReportItem] = field(default_factory=list)


def report_view(report: SymptomReport | None, rules: Mapping[str, Any]) -> ReportView | None:
    """Every item the patient reported with its grade and level, the measurements and (in
    the template) the note: nothing left out, grade 0 items included."""
    if report is None:
        return None
    levels = report.triage_item_levels if isinstance(report.triage_item_levels, dict) else {}
    view = ReportView(report=report)
    for item in report.symptoms if isinstance(report.symptoms, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            continue
        code, grade = item["code"], item.get("grade")
        label = triage.item_label(rules, code)
        if code in (rules.get("red_flags") or {}):
            value = "present" if grade else "not present"
        else:
            grades = (rules.get("graded_symptoms") or {}).get(code, {}).get("grades") or []
            meaning = grades[grade] if isinstance(grade, int) and 0 <= grade < len(grades) else ""
            value = f"grade {grade}: {meaning}" if meaning else f"grade {grade}"
        view.items.append(ReportItem(label[:1].upper() + label[1:], value, levels.get(code, "")))
    if report.temperature_c is not None:
        view.measurements.append(
            ReportItem("Temperature", f"{report.temperature_c} °C", levels.get("temperature", ""))
        )
    if report.systolic_bp is not None and report.diastolic_bp is not None:
        view.measurements.append(
            ReportItem(
                "Blood pressure",
                f"{report.systolic_bp}/{report.diastolic_bp} mmHg",
                levels.get("blood_pressure", ""),
            )
        )
    return view


# --- previous alerts ------------------------------------------------------------------------


def previous_alerts(alert: Alert, now: datetime, days: int = PREVIOUS_ALERT_DAYS) -> list[Alert]:
    """The patient's other alerts raised in the last `days` days, newest first, with who
    resolved them: one query."""
    return list(
        Alert.objects.filter(
            patient_id=alert.patient_id, created_at__gte=now - timedelta(days=days)
        )
        .exclude(pk=alert.pk)
        .select_related("resolved_by")
        .order_by("-created_at", "-pk")[:PREVIOUS_ALERTS_SHOWN]
    )


# --- check-ins ------------------------------------------------------------------------------

CHECK_INS_SHOWN = 5


def check_ins_to_come(patient: Patient, rules: Mapping[str, Any]) -> list[dict]:
    """The patient's open and scheduled check-ins (checkins.md), soonest first, with the
    items a follow-up asks about first in words: one query."""
    rows = []
    for check_in in CheckIn.objects.filter(
        patient=patient, status__in=UNFINISHED_CHECK_IN
    ).order_by("opens_at", "pk")[:CHECK_INS_SHOWN]:
        rows.append(
            {
                "check_in": check_in,
                "focus": [triage.item_label(rules, code) for code in check_in.focus_codes or []],
            }
        )
    return rows
