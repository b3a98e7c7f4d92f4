"""What My treatment shows: each medicine with its dose, times, cycle position and rules,
and each infusion course."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from patients.models import Patient

from .. import selectors, services
from ..models import (
    AppointmentState,
    CourseStatus,
    Drug,
    InfusionAppointment,
    Prescription,
    PrescriptionStatus,
)
from .today import InfusionVisit, _infusion_drugs
from .words import day_phrase, local_day_start, mg, time_phrase


def _times_text(times: Sequence[str]) -> str:
    times = sorted(times)
    if len(times) == 1:
        return f"once a day at {times[0]}"
    if len(times) == 2:
        return f"twice a day, at {times[0]} and {times[1]}"
    return f"{len(times)} times a day, at {', '.join(times[:-1])} and {times[-1]}"


def current_regimen(prescription: Prescription, moment: datetime):
    regimens = services.regimens_for(prescription, prescription.events.all())
    in_force = [r for r in regimens if r.effective_at <= moment] or regimens[:1]
    return in_force[-1]


@dataclass
class CyclePosition:
    day_of_cycle: int
    length: int
    days_on: int
    days_off: int

    @property
    def on(self) -> bool:
        return self.day_of_cycle <= self.days_on

    @property
    def days_left_of_phase(self) -> int:
        end = self.days_on if self.on else self.length
        return end - self.day_of_cycle


def cycle_position(
    prescription: Prescription, today: date, moment: datetime
) -> CyclePosition | None:
    regimen = current_regimen(prescription, moment)
    if not regimen.has_cycle:
        return None
    anchor = regimen.cycle_start or prescription.start_date
    length = regimen.cycle_days_on + regimen.cycle_days_off
    day = (today - anchor).days % length + 1
    return CyclePosition(day, length, regimen.cycle_days_on, regimen.cycle_days_off)


@dataclass
class TreatmentItem:
    prescription: Prescription
    now: datetime
    zone: ZoneInfo

    @property
    def drug(self) -> Drug:
        return self.prescription.drug

    @property
    def today(self) -> date:
        return self.now.astimezone(self.zone).date()

    @property
    def amount(self) -> str:
        return mg(self.prescription.dose_mg)

    @property
    def how_often(self) -> str:
        text = _times_text(self.prescription.times)
        if self.cycle is None:
            return text
        on, off = self.prescription.cycle_days_on, self.prescription.cycle_days_off
        if on == 1 and off == 1:
            return f"every other day ({text.removeprefix('once a day ')})"
        return f"{text}, on days 1 to {on} of each {on + off}-day cycle"

    @property
    def cycle(self) -> CyclePosition | None:
        return cycle_position(self.prescription, self.today, self.now)

    @property
    def cycle_text(self) -> str:
        cycle = self.cycle
        if cycle is None or (cycle.days_on == 1 and cycle.days_off == 1):
            return ""
        rest = "week" if cycle.days_off == 7 else f"{cycle.days_off} days"
        text = (
            f"You take it for {cycle.days_on} days, then have {rest} off with no tablets, "
            "then start the next cycle. "
        )
        if cycle.on:
            left = cycle.days_left_of_phase
            when = "after today" if left else "today is the last day before the break"
            if left:
                return (
                    text
                    + f"Today is day {cycle.day_of_cycle} of {cycle.days_on}: "
                    + (f"{left} more tablet day{'s' if left != 1 else ''} {when}.")
                )
            return text + f"Today is day {cycle.day_of_cycle} of {cycle.days_on}: {when}."
        restart = self.today + timedelta(days=cycle.days_left_of_phase + 1)
        return text + (
            f"This is your off {rest}: no tablets until {day_phrase(restart, self.today)}."
        )

    @property
    def hold(self):
        for hold in self.prescription.holds.all():
            if hold.starts_at <= self.now and (hold.ends_at is None or hold.ends_at > self.now):
                return hold
        return None

    @property
    def hold_until_text(self) -> str:
        hold = self.hold
        if hold is None or hold.ends_at is None:
            return ""
        return time_phrase(hold.ends_at, self.zone, self.today)

    @property
    def is_held(self) -> bool:
        return self.prescription.status == PrescriptionStatus.HELD or self.hold is not None


def treatment_items(user, patient: Patient, now: datetime) -> list[TreatmentItem]:
    prescriptions = (
        selectors.prescriptions_visible_to(user)
        .filter(patient=patient)
        .exclude(status=PrescriptionStatus.STOPPED)
        .order_by("recorded_at")
    )
    return [TreatmentItem(prescription=p, now=now, zone=patient.zone) for p in prescriptions]


@dataclass
class CourseItem:
    course: object
    drugs: list[Drug]
    next_visit: InfusionVisit | None
    given: list[InfusionAppointment]


def infusion_course_items(user, patient: Patient, now: datetime) -> list[CourseItem]:
    today = now.astimezone(patient.zone).date()
    catalogue = _infusion_drugs()
    items = []
    courses = selectors.infusion_courses_visible_to(user).filter(
        patient=patient, status=CourseStatus.ACTIVE
    )
    for course in courses:
        appointments = list(course.appointments.all())
        upcoming = [
            a
            for a in appointments
            if a.state == AppointmentState.SCHEDULED
            and a.scheduled_at >= local_day_start(today, patient.zone)
        ]
        items.append(
            CourseItem(
                course=course,
                drugs=[catalogue[c] for c in course.drugs if c in catalogue],
                next_visit=(
                    InfusionVisit(upcoming[0], patient.zone, today, catalogue) if upcoming else None
                ),
                given=[a for a in appointments if a.state == AppointmentState.GIVEN],
            )
        )
    return items
