"""The clinic summary of one patient over a period (issue 18): what an oncologist reads
before a visit, on one or two A4 pages.

Default period: since the last infusion given (if within the last 8 weeks), otherwise the
last 28 days. Sections: current treatment and its changes, adherence per cycle (dose-taking,
timing, days covered: adherence.md), infusions, a weekly grid of symptom grades with
temperature and blood pressure, readings outside the normal range, alerts with outcomes.

More sections (e.g. "check-ins completed", when check-ins exist) are added by appending a
provider to SECTION_PROVIDERS: a function (patient, first_day, last_day, now) -> Section or
None, rendered as a plain table by the same template and the same print styles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from medications import adherence
from medications.models import (
    AppointmentState,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionStatus,
    SymptomReport,
)
from medications.symptoms.selectors import active_rules
from medications.symptoms.triage import grade_level, item_label
from notifications.models import Alert
from patients.models import Patient

from .fhir.medication import dosing_periods, frequency_text

DEFAULT_DAYS = 28
LAST_INFUSION_WITHIN = timedelta(weeks=8)
MAX_DAYS = 92
# Long lists are cut to keep the summary on two A4 pages; the rest is counted, and is on
# the patient's dashboard page.
READINGS_SHOWN = 10
ALERTS_SHOWN = 12
LEVEL_RANK = {None: 0, "green": 1, "amber": 2, "red": 3}


@dataclass
class Section:
    """An extra section: a title, column headings, rows of text, and what to say if empty."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    empty: str = "Nothing in this period."


# (patient, first_day, last_day, now) -> Section | None; see the module docstring.
SECTION_PROVIDERS: list[Callable[[Patient, date, date, datetime], Section | None]] = []


@dataclass
class TreatmentLine:
    drug: str
    detail: str
    status: str
    since: date


@dataclass
class Change:
    on: date
    drug: str
    what: str
    reason: str


@dataclass
class CycleAdherence:
    drug: str
    label: str
    doses: adherence.DoseSummary


@dataclass
class GridRow:
    label: str
    cells: list[tuple[str, str | None]]  # (text, level) per week


@dataclass
class Reading:
    at: datetime
    what: str
    value: str
    level: str | None


@dataclass
class ClinicSummary:
    patient: Patient
    first_day: date
    last_day: date
    why: str
    now: datetime
    treatments: list[TreatmentLine] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    cycles: list[CycleAdherence] = field(default_factory=list)
    overall: adherence.DoseSummary | None = None
    infusions: list[InfusionAppointment] = field(default_factory=list)
    next_infusion: InfusionAppointment | None = None
    weeks: list[date] = field(default_factory=list)
    grid: list[GridRow] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    more_readings: int = 0
    reports: int = 0
    alerts: list[Alert] = field(default_factory=list)
    more_alerts: int = 0
    sections: list[Section] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def default_period(patient: Patient, now: datetime) -> tuple[date, date, str]:
    today = now.astimezone(patient.zone).date()
    last_given = (
        InfusionAppointment.objects.filter(patient=patient, state=AppointmentState.GIVEN)
        .exclude(given_at__isnull=True)
        .order_by("-given_at")
        .values_list("given_at", flat=True)
        .first()
    )
    if last_given is not None and now - last_given <= LAST_INFUSION_WITHIN:
        day = last_given.astimezone(patient.zone).date()
        return day, today, f"since the last infusion ({day:%-d %b %Y})"
    return today - timedelta(days=DEFAULT_DAYS - 1), today, f"the last {DEFAULT_DAYS} days"


def _bounds(patient: Patient, first: date, last: date) -> tuple[datetime, datetime]:
    zone = patient.zone
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
    )


def _mg(value) -> str:
    return f"{Decimal(value).normalize():f} mg"


def clinic_summary(
    patient: Patient, *, first_day: date, last_day: date, why: str, now: datetime | None = None
) -> ClinicSummary:
    now = now or timezone.now()
    start, end = _bounds(patient, first_day, last_day)
    summary = ClinicSummary(patient, first_day, last_day, why, now)
    prescriptions = list(
        Prescription.objects.filter(patient=patient)
        .select_related("drug", "patient")
        .prefetch_related("events", "holds")
        .order_by("recorded_at")
    )
    courses = list(InfusionCourse.objects.filter(patient=patient).prefetch_related("appointments"))
    _treatment(summary, prescriptions, courses, start, end)
    _adherence(summary, prescriptions, start, min(end, now))
    summary.infusions = [
        a
        for course in courses
        for a in course.appointments.all()
        if start <= (a.given_at or a.scheduled_at) < end
    ]
    upcoming = [
        a
        for course in courses
        for a in course.appointments.all()
        if a.state == AppointmentState.SCHEDULED and a.scheduled_at >= now
    ]
    summary.next_infusion = min(upcoming, key=lambda a: a.scheduled_at, default=None)
    _symptoms(summary, start, end)
    alerts = list(
        Alert.objects.filter(patient=patient, created_at__gte=start, created_at__lt=end)
        .select_related("prescription__drug")
        .order_by("created_at")
    )
    # The most severe first when there are too many to print, then shown in time order.
    shown = sorted(alerts, key=lambda a: (-LEVEL_RANK.get(a.level, 0), -a.created_at.timestamp()))
    summary.alerts = sorted(shown[:ALERTS_SHOWN], key=lambda a: a.created_at)
    summary.more_alerts = max(len(alerts) - ALERTS_SHOWN, 0)
    for provider in SECTION_PROVIDERS:
        section = provider(patient, first_day, last_day, now)
        if section is not None:
            summary.sections.append(section)
    return summary


def _treatment(summary, prescriptions, courses, start, end) -> None:
    zone = summary.patient.zone
    for prescription in prescriptions:
        name = prescription.drug.name.capitalize()
        if prescription.status != PrescriptionStatus.STOPPED or (
            prescription.stopped_at and prescription.stopped_at >= start
        ):
            times = ", ".join(prescription.times or [])
            cycle = ""
            if prescription.cycle_days_on and prescription.cycle_days_off:
                total = prescription.cycle_days_on + prescription.cycle_days_off
                cycle = f", days 1-{prescription.cycle_days_on} of {total}"
            often = frequency_text(tuple(prescription.times or ()))
            summary.treatments.append(
                TreatmentLine(
                    drug=name,
                    detail=f"{_mg(prescription.dose_mg)} {often} at {times}{cycle}",
                    status=prescription.get_status_display(),
                    since=prescription.start_date,
                )
            )
        for event in prescription.events.all():
            if start <= event.effective_at < end and event.kind != "created":
                summary.changes.append(
                    Change(
                        on=event.effective_at.astimezone(zone).date(),
                        drug=name,
                        what=event.get_kind_display(),
                        reason=event.reason,
                    )
                )
            elif event.kind == "created" and start <= event.effective_at < end:
                summary.changes.append(
                    Change(event.effective_at.astimezone(zone).date(), name, "Prescribed", "")
                )
    for course in courses:
        names = " + ".join(code.capitalize() for code in course.drugs or [])
        if course.status == "active" or (course.stopped_at and course.stopped_at >= start):
            summary.treatments.append(
                TreatmentLine(
                    drug=names,
                    detail=f"infusion every {course.interval_days} days",
                    status=course.get_status_display(),
                    since=course.first_infusion_at.astimezone(zone).date(),
                )
            )
        for appointment in course.appointments.all():
            if appointment.reschedule_reason and start <= appointment.updated_at < end:
                summary.changes.append(
                    Change(
                        appointment.scheduled_at.astimezone(zone).date(),
                        names,
                        f"Cycle {appointment.cycle_number} moved",
                        appointment.reschedule_reason,
                    )
                )
    summary.changes.sort(key=lambda change: change.on)


def _adherence(summary, prescriptions, start: datetime, end: datetime) -> None:
    zone = summary.patient.zone
    rows = ExpectedDose.objects.filter(
        patient=summary.patient, due_at__gte=start, due_at__lt=end
    ).values_list("prescription_id", "due_at", "late_until", "state", "taken_at")
    by_prescription: dict[int, list[adherence.DoseRecord]] = {}
    per_day = {p.pk: len(p.times or ()) or 1 for p in prescriptions}
    for prescription_id, due_at, late_until, state, taken_at in rows:
        by_prescription.setdefault(prescription_id, []).append(
            adherence.DoseRecord(
                due_at=due_at,
                late_until=late_until,
                state=state,
                day=due_at.astimezone(zone).date(),
                taken_at=taken_at,
                doses_per_day=per_day.get(prescription_id, 1),
                prescription_id=prescription_id,
            )
        )
    everything: list[adherence.DoseRecord] = []
    for prescription in prescriptions:
        records = by_prescription.get(prescription.pk, [])
        if not records:
            continue
        everything.extend(records)
        name = prescription.drug.name.capitalize()
        for period in dosing_periods(prescription, summary.now):
            inside = [r for r in records if period.contains(r.due_at, zone)]
            if not inside:
                continue
            first = min(r.day for r in inside)
            last = max(r.day for r in inside)
            label = f"Cycle {period.cycle}: " if period.cycle else ""
            often = frequency_text(period.times)
            label += f"{_mg(period.dose_mg)} {often}, {first:%-d %b}-{last:%-d %b}"
            summary.cycles.append(
                CycleAdherence(name, label, adherence.summarise_doses(inside, now=summary.now))
            )
    if everything:
        summary.overall = adherence.summarise_doses(everything, now=summary.now)


def _symptoms(summary, start: datetime, end: datetime) -> None:
    zone = summary.patient.zone
    rules = active_rules()
    weeks = []
    day = summary.first_day
    while day <= summary.last_day:
        weeks.append(day)
        day += timedelta(days=7)
    summary.weeks = weeks
    reports = list(
        SymptomReport.objects.filter(
            patient=summary.patient, reported_at__gte=start, reported_at__lt=end
        ).order_by("reported_at", "id")
    )
    summary.reports = len(reports)

    def week_of(moment: datetime) -> int:
        return min((moment.astimezone(zone).date() - summary.first_day).days // 7, len(weeks) - 1)

    grades: dict[str, list[tuple[int, str | None]]] = {}
    temperature: list[list] = [[] for _ in weeks]
    pressure: list[list] = [[] for _ in weeks]
    for report in reports:
        week = week_of(report.reported_at)
        levels = report.triage_item_levels if isinstance(report.triage_item_levels, dict) else {}
        for item in report.symptoms if isinstance(report.symptoms, list) else []:
            if not isinstance(item, dict) or not item.get("grade"):
                continue
            code, grade = item.get("code"), item.get("grade")
            row = grades.setdefault(code, [(0, None)] * len(weeks))
            level = levels.get(code) or _level(rules, code, grade)
            if grade > row[week][0]:
                row[week] = (grade, level)
        if report.temperature_c is not None:
            level = levels.get("temperature")
            temperature[week].append(report.temperature_c)
            if level in ("amber", "red"):
                summary.readings.append(
                    Reading(report.reported_at, "Temperature", f"{report.temperature_c} °C", level)
                )
        if report.systolic_bp is not None and report.diastolic_bp is not None:
            level = levels.get("blood_pressure")
            pressure[week].append((report.systolic_bp, report.diastolic_bp))
            if level in ("amber", "red"):
                summary.readings.append(
                    Reading(
                        report.reported_at,
                        "Blood pressure",
                        f"{report.systolic_bp}/{report.diastolic_bp} mmHg",
                        level,
                    )
                )
    readings = sorted(
        summary.readings, key=lambda r: (-LEVEL_RANK.get(r.level, 0), -r.at.timestamp())
    )
    summary.readings = sorted(readings[:READINGS_SHOWN], key=lambda r: r.at)
    summary.more_readings = max(len(readings) - READINGS_SHOWN, 0)
    for code, row in grades.items():
        label = item_label(rules, code)
        summary.grid.append(
            GridRow(label, [(str(grade) if grade else "", level) for grade, level in row])
        )
    summary.grid.sort(key=lambda row: row.label)
    if any(temperature):
        summary.grid.append(
            GridRow(
                "Temperature, highest (°C)",
                [(f"{max(values)}" if values else "", None) for values in temperature],
            )
        )
    if any(pressure):
        summary.grid.append(
            GridRow(
                "Blood pressure, highest (mmHg)",
                [
                    (
                        f"{max(v[0] for v in values)}/{max(v[1] for v in values)}"
                        if values
                        else "",
                        None,
                    )
                    for values in pressure
                ],
            )
        )


def _level(rules, code, grade) -> str | None:
    try:
        return grade_level(rules, code, grade)
    except (KeyError, TypeError):
        return None
