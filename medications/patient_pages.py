"""What the patient pages (/me/) show, read from the medications selectors and turned into
plain view models for the templates. Read-only: every write goes through services.py or
symptom_services.py. The clinical rules stay where they are (states and windows in the
dose rows and schedule.py, advice in the drug catalogue and the triage rule set); this
module only chooses words, groups days and lays out the charts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from patients.models import Patient

from . import selectors, services, triage
from .models import (
    AppointmentState,
    CourseStatus,
    DoseState,
    Drug,
    ExpectedDose,
    InfusionAppointment,
    Prescription,
    PrescriptionStatus,
    SkipReason,
)

UPCOMING, DUE = "upcoming", "due"

# What a patient reads for each dose state (adherence.md, "Dose states").
STATE_LABELS = {
    UPCOMING: "Coming up",
    DUE: "Due now",
    DoseState.TAKEN: "Taken",
    DoseState.TAKEN_LATE: "Taken late",
    DoseState.SKIPPED: "Not taken",
    DoseState.MISSED: "Missed",
    DoseState.HELD: "Paused by your team",
}


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def day_phrase(day: date, today: date) -> str:
    """'today', 'tomorrow', 'yesterday' or 'Tuesday 3 March'."""
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    return f"{day:%A} {day.day} {day:%B}"


def time_phrase(moment: datetime, zone: ZoneInfo, today: date) -> str:
    """'14:00', 'midnight tonight', '02:00 tomorrow', '09:00 on Tuesday 3 March'."""
    local = moment.astimezone(zone)
    if local.time() == time(0):
        before = local.date() - timedelta(days=1)
        if before == today:
            return "midnight tonight"
        return f"midnight at the end of {day_phrase(before, today)}"
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return clock
    when = day_phrase(local.date(), today)
    return f"{clock} {when}" if when in ("tomorrow", "yesterday") else f"{clock} on {when}"


def _sentence_case(text: str) -> str:
    """'tuesday 3 March' -> 'Tuesday 3 March' (str.capitalize would lower the month)."""
    return text[:1].upper() + text[1:]


def mg(value: Decimal | str | int) -> str:
    """400.00 -> '400 mg'; 1057.5 -> '1057.5 mg'."""
    return f"{Decimal(str(value)).normalize():f} mg"


# --- today ---------------------------------------------------------------------------------------


@dataclass
class DoseCard:
    dose: ExpectedDose
    now: datetime
    zone: ZoneInfo
    today: date
    # One per rendered "Taken" form: a form sent twice (a double tap, a retry on a bad
    # connection) records one log (adherence.md: logging is idempotent).
    taken_key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def drug(self) -> Drug:
        return self.dose.prescription.drug

    @property
    def state(self) -> str:
        return self.dose.display_state(self.now)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def amount(self) -> str:
        return mg(self.dose.dose_mg)

    @property
    def due_local(self) -> datetime:
        return self.dose.due_at.astimezone(self.zone)

    @property
    def due_text(self) -> str:
        return time_phrase(self.dose.due_at, self.zone, self.today)

    @property
    def window_text(self) -> str:
        """Until when a forgotten dose may still be taken (drugs.md, missed-dose rules)."""
        return time_phrase(self.dose.late_until, self.zone, self.today)

    @property
    def from_earlier_day(self) -> bool:
        return self.due_local.date() < self.today

    @property
    def can_log(self) -> bool:
        # services.dose_log accepts a dose from EARLY_LOGGING before it is due (taken a
        # little early), never sooner: that would be doubling up. Held doses are not logged.
        return (
            self.dose.state != DoseState.HELD
            and self.now >= self.dose.due_at - services.EARLY_LOGGING
        )

    @property
    def can_log_from_text(self) -> str:
        return time_phrase(self.dose.due_at - services.EARLY_LOGGING, self.zone, self.today)

    @property
    def taken_text(self) -> str:
        if self.dose.taken_at is None:
            return ""
        return time_phrase(self.dose.taken_at, self.zone, self.today)

    @property
    def reason_label(self) -> str:
        reason = self.dose.skip_reason
        return SkipReason(reason).label if reason in SkipReason.values else ""

    @property
    def ran_out(self) -> bool:
        return self.state == DoseState.SKIPPED and self.dose.skip_reason == SkipReason.RAN_OUT

    @property
    def vomited(self) -> bool:
        return self.state == DoseState.SKIPPED and self.dose.skip_reason == SkipReason.VOMITED

    @property
    def asks_for_symptoms(self) -> bool:
        # adherence.md: "side effects" or "felt unwell" asks for a symptom report.
        return self.state == DoseState.SKIPPED and self.dose.skip_reason in (
            SkipReason.SIDE_EFFECTS,
            SkipReason.UNWELL,
        )

    @property
    def show_rule(self) -> bool:
        """After the window: the drug's missed-dose rule in plain words."""
        return self.state in (DoseState.MISSED, DoseState.TAKEN_LATE)


def patient_doses(user, patient: Patient):
    return selectors.doses_visible_to(user).filter(patient=patient)


def today_cards(user, patient: Patient, now: datetime) -> list[DoseCard]:
    """Every dose due on the patient's local today, plus any dose from an earlier day
    whose late window is still open (sorafenib's 20:00 dose may be taken until 02:00)."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    doses = patient_doses(user, patient)
    todays = list(selectors.doses_between(doses, first_day=today, last_day=today, zone=zone))
    still_open = list(
        doses.filter(
            due_at__lt=local_day_start(today, zone),
            late_until__gt=now,
            state=DoseState.PENDING,
        )
    )
    return [DoseCard(dose=dose, now=now, zone=zone, today=today) for dose in [*still_open, *todays]]


def dose_card(user, dose_id, patient: Patient, now: datetime) -> DoseCard:
    dose = selectors.dose_for(user, dose_id)
    return DoseCard(
        dose=dose, now=now, zone=patient.zone, today=now.astimezone(patient.zone).date()
    )


@dataclass
class NextDose:
    dose: ExpectedDose
    when: str
    later_day: bool  # not one of today's doses

    @property
    def amount(self) -> str:
        return mg(self.dose.dose_mg)


def next_dose(user, patient: Patient, now: datetime) -> NextDose | None:
    zone = patient.zone
    dose = (
        patient_doses(user, patient)
        .filter(due_at__gt=now, state=DoseState.PENDING)
        .order_by("due_at")
        .first()
    )
    if dose is None:
        return None
    today = now.astimezone(zone).date()
    local = dose.due_at.astimezone(zone)
    return NextDose(
        dose=dose,
        when=f"{day_phrase(local.date(), today)} at {local:%H:%M}",
        later_day=local.date() > today,
    )


# --- infusions -----------------------------------------------------------------------------------


@dataclass
class InfusionVisit:
    appointment: InfusionAppointment
    zone: ZoneInfo
    today: date
    drugs: dict[str, Drug]

    @property
    def local(self) -> datetime:
        return self.appointment.scheduled_at.astimezone(self.zone)

    @property
    def day_text(self) -> str:
        return day_phrase(self.local.date(), self.today)

    @property
    def when_text(self) -> str:
        """'Today, Thursday 26 November, at 09:30' / 'Sunday 29 November at 09:30 (in 3
        days)'."""
        day = self.local.date()
        phrase = self.day_text
        clock = f"{self.local:%H:%M}"
        if phrase in ("today", "tomorrow"):
            return f"{phrase.capitalize()}, {day:%A} {day.day} {day:%B}, at {clock}"
        days = (day - self.today).days
        return f"{phrase} at {clock} (in {days} days)"

    @property
    def steps(self) -> list[str]:
        """What happens, in order (drugs.md: both the same day, atezolizumab first; its
        first infusion over 60 minutes, later ones over 30 if tolerated)."""
        lines = []
        for index, dose in enumerate(self.appointment.doses or []):
            drug = self.drugs.get(dose.get("drug"))
            name = drug.name.capitalize() if drug else str(dose.get("drug", "")).capitalize()
            brand = f" ({drug.brand})" if drug else ""
            amount = mg(dose.get("display_dose_mg") or dose.get("dose_mg") or 0)
            text = f"{'First' if index == 0 else 'Then'}: {name}{brand}, {amount}, as a drip"
            if dose.get("minutes"):
                text += f" over about {dose['minutes']} minutes"
                if dose.get("drug") == "atezolizumab":
                    if int(dose["minutes"]) >= services.ATEZOLIZUMAB_FIRST_MINUTES:
                        text += " (the first one is given slowly)"
                    else:
                        text += " (shorter now that you have had it before)"
            lines.append(text + ".")
        return lines


def _infusion_drugs() -> dict[str, Drug]:
    return {
        drug.code: drug for drug in Drug.objects.filter(code__in=["atezolizumab", "bevacizumab"])
    }


def next_infusion(user, patient: Patient, now: datetime) -> InfusionVisit | None:
    # An appointment stays "next" on its day even after its start time has passed.
    today = now.astimezone(patient.zone).date()
    appointment = (
        selectors.appointments_visible_to(user)
        .filter(
            patient=patient,
            state=AppointmentState.SCHEDULED,
            course__status=CourseStatus.ACTIVE,
            scheduled_at__gte=local_day_start(today, patient.zone),
        )
        .order_by("scheduled_at")
        .first()
    )
    if appointment is None:
        return None
    return InfusionVisit(
        appointment=appointment, zone=patient.zone, today=today, drugs=_infusion_drugs()
    )


# --- my treatment --------------------------------------------------------------------------------


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


# --- history: the dose calendar ------------------------------------------------------------------

# Calendar statuses, worst first: a day shows the worst thing that happened to its doses.
TAKEN, LATE, SKIPPED, MISSED, HELD, OFF, NONE, TO_COME, FUTURE = (
    "taken",
    "late",
    "skipped",
    "missed",
    "held",
    "off",
    "none",
    "to-come",
    "future",
)
DAY_STATUS_BY_DOSE_STATE = {
    DoseState.TAKEN: TAKEN,
    DoseState.TAKEN_LATE: LATE,
    DoseState.SKIPPED: SKIPPED,
    DoseState.MISSED: MISSED,
}
WORST_FIRST = (MISSED, SKIPPED, LATE, TAKEN)
LEGEND = [
    (TAKEN, "Taken", "All of that day's doses taken"),
    (LATE, "Late", "Taken late, after the safe time to take it"),
    (SKIPPED, "Skipped", "You told us you did not take a dose"),
    (MISSED, "Missed", "A dose was not recorded in time"),
    (HELD, "Held", "Your team paused your tablets"),
    (OFF, "Off week", "A planned break with no tablets"),
]
SHORT_LABELS = {code: label for code, label, _ in LEGEND}


@dataclass
class CalendarDay:
    day: date
    status: str
    label: str
    description: str
    is_today: bool = False
    infusion: str = ""  # "given", "planned", "missed" or ""


@dataclass
class Calendar:
    weeks: list[list[CalendarDay]]
    first_day: date
    last_day: date

    @property
    def days(self) -> list[CalendarDay]:
        return [day for week in self.weeks for day in week if day.status != FUTURE]


def _count_words(counts: dict[str, int], total: int) -> str:
    parts = []
    for state, words in (
        (DoseState.TAKEN, "taken"),
        (DoseState.TAKEN_LATE, "taken late"),
        (DoseState.SKIPPED, "not taken"),
        (DoseState.MISSED, "missed"),
        (DoseState.HELD, "held by your team"),
        (DUE, "still to take"),
        (UPCOMING, "still to come"),
    ):
        if counts.get(state):
            parts.append(f"{counts[state]} {words}")
    noun = "dose" if total == 1 else "doses"
    return f"{total} {noun}: " + ", ".join(parts)


def _day_status(states: list[str], off_label: str) -> tuple[str, str]:
    if not states:
        return (OFF, off_label) if off_label else (NONE, "")
    done = [DAY_STATUS_BY_DOSE_STATE[s] for s in states if s in DAY_STATUS_BY_DOSE_STATE]
    for status in WORST_FIRST:
        if status in done:
            return status, SHORT_LABELS[status]
    if all(s == DoseState.HELD for s in states):
        return HELD, SHORT_LABELS[HELD]
    return TO_COME, "To come"


def _off_label(prescriptions: Iterable[Prescription], day: date, zone: ZoneInfo) -> str:
    """A planned break of a cycle (regorafenib days 22-28): no doses, and not missed."""
    noon = datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC)
    for prescription in prescriptions:
        if day < prescription.start_date or (prescription.end_date and day > prescription.end_date):
            continue
        if prescription.stopped_at and prescription.stopped_at <= noon:
            continue
        if noon < prescription.recorded_at:
            continue
        regimen = current_regimen(prescription, noon)
        if regimen.has_cycle and not regimen.is_dosing_day(day, prescription.start_date):
            return "Off week" if regimen.cycle_days_off >= 7 else "Day off"
    return ""


def dose_calendar(user, patient: Patient, now: datetime, weeks: int = 6) -> Calendar:
    """The last `weeks` weeks, Monday to Sunday, ending with this week."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    last_day = today + timedelta(days=6 - today.weekday())
    first_day = last_day - timedelta(days=7 * weeks - 1)
    doses = selectors.doses_between(
        patient_doses(user, patient), first_day=first_day, last_day=today, zone=zone
    )
    by_day: dict[date, list[str]] = {}
    for dose in doses:
        by_day.setdefault(dose.due_at.astimezone(zone).date(), []).append(dose.display_state(now))
    prescriptions = list(
        selectors.prescriptions_visible_to(user).filter(patient=patient, drug__route="oral")
    )
    infusions: dict[date, str] = {}
    appointments = selectors.appointments_visible_to(user).filter(
        patient=patient,
        scheduled_at__gte=local_day_start(first_day - timedelta(days=1), zone),
        scheduled_at__lt=local_day_start(last_day + timedelta(days=2), zone),
    )
    for appointment in appointments:
        if appointment.state == AppointmentState.CANCELLED:
            continue
        moment = appointment.given_at or appointment.scheduled_at
        kind = {"given": "given", "missed": "missed"}.get(appointment.state, "planned")
        infusions[moment.astimezone(zone).date()] = kind

    calendar_weeks = []
    day = first_day
    while day <= last_day:
        week = []
        for _ in range(7):
            week.append(_calendar_day(day, today, by_day, prescriptions, infusions, zone))
            day += timedelta(days=1)
        calendar_weeks.append(week)
    return Calendar(weeks=calendar_weeks, first_day=first_day, last_day=last_day)


def _calendar_day(day, today, by_day, prescriptions, infusions, zone) -> CalendarDay:
    infusion = infusions.get(day, "")
    name = f"{day:%A} {day.day} {day:%B}"
    infusion_words = {
        "given": "Infusion given.",
        "planned": "Infusion planned.",
        "missed": "Infusion missed.",
    }.get(infusion, "")
    if day > today:
        description = " ".join(filter(None, [f"{name}:", infusion_words or "still to come."]))
        return CalendarDay(day, FUTURE, "", description, infusion=infusion)
    states = by_day.get(day, [])
    off_label = "" if states else _off_label(prescriptions, day, zone)
    status, label = _day_status(states, off_label)
    if states:
        counts: dict[str, int] = {}
        for state in states:
            counts[state] = counts.get(state, 0) + 1
        words = _count_words(counts, len(states)) + "."
    elif status == OFF:
        words = f"{label}, no tablets planned."
    else:
        words = "no tablets planned."
    description = " ".join(
        filter(None, [f"{name}{' (today)' if day == today else ''}:", words, infusion_words])
    )
    return CalendarDay(day, status, label, description, is_today=day == today, infusion=infusion)


@dataclass
class DoseLine:
    dose: ExpectedDose
    state: str
    label: str
    drug: Drug
    due_local: datetime
    detail: str

    @property
    def amount(self) -> str:
        return mg(self.dose.dose_mg)


@dataclass
class DayOfDoses:
    day: date
    heading: str
    lines: list[DoseLine] = field(default_factory=list)


def recent_doses(user, patient: Patient, now: datetime, days: int = 7) -> list[DayOfDoses]:
    """Dose by dose, newest day first: what the calendar shows, in words."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    doses = selectors.doses_between(
        patient_doses(user, patient),
        first_day=today - timedelta(days=days - 1),
        last_day=today,
        zone=zone,
    )
    grouped: dict[date, DayOfDoses] = {}
    for dose in doses:
        local = dose.due_at.astimezone(zone)
        state = dose.display_state(now)
        group = grouped.setdefault(
            local.date(),
            DayOfDoses(local.date(), _sentence_case(day_phrase(local.date(), today))),
        )
        detail = ""
        if state in (DoseState.TAKEN, DoseState.TAKEN_LATE) and dose.taken_at:
            detail = f"at {dose.taken_at.astimezone(zone):%H:%M}"
        elif state == DoseState.SKIPPED and dose.skip_reason in SkipReason.values:
            detail = SkipReason(dose.skip_reason).label
        group.lines.append(
            DoseLine(
                dose=dose,
                state=state,
                label=STATE_LABELS.get(state, state),
                drug=dose.prescription.drug,
                due_local=local,
                detail=detail,
            )
        )
    return sorted(grouped.values(), key=lambda g: g.day, reverse=True)


# --- history: the symptom chart ------------------------------------------------------------------

# The chart is server-rendered SVG (no script, so it works with a strict CSP and without
# JavaScript). Coordinates are in the SVG's own units; CSS scales the whole drawing.
CHART_WIDTH = 360
CHART_LEFT = 8
CHART_RIGHT = 8
ROW_LABEL_HEIGHT = 18
ROW_BAND_HEIGHT = 30
ROW_GAP = 10
AXIS_HEIGHT = 22
LEVEL_WORDS = {"red": "Red: call now", "amber": "Amber: needs review", "green": "Green: self-care"}
LEVEL_LETTER = {"red": "R", "amber": "A", "green": "G"}
GRADE_LEVEL = {1: "green", 2: "amber", 3: "red"}


@dataclass
class ChartMark:
    x: float
    y: float
    height: float
    level: str
    title: str

    @property
    def bar_x(self) -> float:
        return round(self.x - 3, 1)

    @property
    def text_y(self) -> float:
        return round(self.y + 4, 1)


@dataclass
class ChartRow:
    label: str
    y: float
    baseline: float
    marks: list[ChartMark]
    kind: str = "bars"  # "bars" for grades, "levels" for whole reports, "points" for figures
    # Reference lines across the row (a measurement's red thresholds): (y, label).
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def line_labels(self) -> list[tuple[float, float, str]]:
        """(line y, label y, label): the top line labelled above it, the others below, so
        two close thresholds (37.5 and 36.0 °C) do not print on top of each other."""
        ordered = sorted(self.lines)
        return [
            (y, round(y - 3 if index == 0 else y + 11, 1), label)
            for index, (y, label) in enumerate(ordered)
        ]

    @property
    def label_y(self) -> float:
        return self.y + 14


@dataclass
class ChartTick:
    x: float
    label: str
    anchor: str = "middle"  # the last label ends at the right edge instead of running off it


@dataclass
class SymptomChart:
    rows: list[ChartRow]
    ticks: list[ChartTick]
    width: int
    height: float
    axis_y: float
    first_day: date
    last_day: date
    description: str

    @property
    def plot_right(self) -> float:
        return self.width - CHART_RIGHT

    @property
    def tick_y(self) -> float:
        return self.axis_y + 16


@dataclass
class ReportRow:
    report: object
    when: datetime
    level: str
    items: list[tuple[str, str]]  # (label, answer) for everything above "none"
    temperature: Decimal | None
    blood_pressure: str


def _label(labels: dict[str, str], rules: dict, code: str) -> str:
    return labels.get(code) or triage.item_label(rules, code)


def _grade_text(rules: dict, code: str, grade: int) -> str:
    kind = triage.symptom_kind(rules, code)
    if kind == triage.GRADED:
        grades = rules["graded_symptoms"][code]["grades"]
        return grades[grade] if 0 <= grade < len(grades) else str(grade)
    if kind == triage.RED_FLAG:
        answers = rules["red_flag_answers"]
        return answers[grade] if 0 <= grade < len(answers) else str(grade)
    return str(grade)


def symptom_chart(history, *, zone: ZoneInfo, now: datetime, rules: dict) -> SymptomChart | None:
    """Report levels over time, then one row per symptom ever above grade 0 in the period:
    bar height is the grade (1-3), so the picture does not rely on colour alone."""
    if not history.reports:
        return None
    start = history.since
    span = max((now - start).total_seconds(), 1.0)
    plot = CHART_WIDTH - CHART_LEFT - CHART_RIGHT

    def x_of(moment: datetime) -> float:
        fraction = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return round(CHART_LEFT + fraction * plot, 1)

    rows: list[ChartRow] = []
    y = 0.0
    level_marks = [
        ChartMark(
            x=x_of(moment),
            y=y + ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT / 2,
            height=0,
            level=level,
            title=f"{moment.astimezone(zone):%a %d %b %H:%M}: {LEVEL_WORDS.get(level, level)}",
        )
        for moment, level in history.levels
    ]
    rows.append(
        ChartRow(
            label="Result of each report",
            y=y,
            baseline=y + ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT,
            marks=level_marks,
            kind="levels",
        )
    )
    y += ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT + ROW_GAP
    if history.temperature:
        rows.append(_temperature_row(history.temperature, y, x_of, zone, rules))
        y += ROW_LABEL_HEIGHT + TEMPERATURE_BAND_HEIGHT + ROW_GAP
    for code, points in history.symptoms.items():
        present = [(moment, grade) for moment, grade in points if isinstance(grade, int) and grade]
        if not present:
            continue
        is_flag = triage.symptom_kind(rules, code) == triage.RED_FLAG
        highest = 1 if is_flag else max(len(rules["graded_symptoms"][code]["grades"]) - 1, 1)
        baseline = y + ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT
        marks = []
        for moment, grade in present:
            height = ROW_BAND_HEIGHT * (grade / 3 if not is_flag else 1.0)
            level = "red" if is_flag else GRADE_LEVEL.get(grade, "red")
            answer = _grade_text(rules, code, grade)
            grade_words = "present" if is_flag else f"grade {grade} of {highest}"
            marks.append(
                ChartMark(
                    x=x_of(moment),
                    y=round(baseline - height, 1),
                    height=round(height, 1),
                    level=level,
                    title=f"{moment.astimezone(zone):%a %d %b %H:%M}: {grade_words} ({answer})",
                )
            )
        rows.append(
            ChartRow(label=_label(history.labels, rules, code), y=y, baseline=baseline, marks=marks)
        )
        y += ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT + ROW_GAP
    axis_y = y
    first_day = start.astimezone(zone).date()
    last_day = now.astimezone(zone).date()
    # Weekly ticks counted back from today, so the most recent week is always labelled.
    ticks = []
    day = last_day
    while day >= first_day:
        moment = datetime.combine(day, time(0), tzinfo=zone)
        if moment >= start:
            ticks.append(ChartTick(x=x_of(moment), label=f"{day.day} {day:%b}"))
        day -= timedelta(days=7)
    ticks.reverse()
    for tick in ticks:
        if tick.x > CHART_WIDTH - CHART_RIGHT - 18:
            tick.anchor = "end"
        elif tick.x < CHART_LEFT + 18:
            tick.anchor = "start"
    reds = sum(1 for _, level in history.levels if level == "red")
    ambers = sum(1 for _, level in history.levels if level == "amber")
    symptom_names = [row.label for row in rows[1:] if row.kind == "bars"]
    description = (
        f"{len(history.reports)} reports from {first_day.day} {first_day:%B} to "
        f"{last_day.day} {last_day:%B}: {reds} red, {ambers} amber, "
        f"{len(history.levels) - reds - ambers} green. "
        + (
            "Symptoms reported: " + ", ".join(symptom_names) + "."
            if symptom_names
            else "No symptoms above 'none' were reported."
        )
    )
    return SymptomChart(
        rows=rows,
        ticks=ticks,
        width=CHART_WIDTH,
        height=axis_y + AXIS_HEIGHT,
        axis_y=axis_y,
        first_day=first_day,
        last_day=last_day,
        description=description,
    )


TEMPERATURE_BAND_HEIGHT = 64


def _temperature_row(points, y: float, x_of, zone: ZoneInfo, rules: dict) -> ChartRow:
    """Temperatures as dots between 35 and 40 °C (wider if a reading is outside), with the
    rule set's red thresholds drawn across: a dot past a line is a red reading."""
    conditions = (
        rules.get("measurements", {}).get("temperature", {}).get("levels", {}).get("red", [])
    )
    thresholds = [
        Decimal(str(c.get("at_or_above", c.get("below"))))
        for c in conditions
        if c.get("figure") == "temperature_c"
    ]
    values = [Decimal(str(value)) for _, value in points]
    low = min([Decimal(35), *values, *thresholds])
    high = max([Decimal(40), *values, *thresholds])
    top = y + ROW_LABEL_HEIGHT + 4
    band = TEMPERATURE_BAND_HEIGHT - 8

    def y_of(value: Decimal) -> float:
        return round(top + float((high - value) / (high - low)) * band, 1)

    def is_red(value: Decimal) -> bool:
        for condition in conditions:
            if "at_or_above" in condition and value >= Decimal(str(condition["at_or_above"])):
                return True
            if "below" in condition and value < Decimal(str(condition["below"])):
                return True
        return False

    marks = [
        ChartMark(
            x=x_of(moment),
            y=y_of(Decimal(str(value))),
            height=0,
            level="red" if is_red(Decimal(str(value))) else "green",
            title=f"{moment.astimezone(zone):%a %d %b %H:%M}: {value} °C",
        )
        for moment, value in points
    ]
    return ChartRow(
        label="Temperature (°C)",
        y=y,
        baseline=y + ROW_LABEL_HEIGHT + TEMPERATURE_BAND_HEIGHT,
        marks=marks,
        kind="points",
        lines=[(y_of(value), f"{value} °C") for value in thresholds],
    )


def report_rows(history, *, zone: ZoneInfo, rules: dict) -> list[ReportRow]:
    """Each report in words, newest first: the data table behind the chart."""
    rows = []
    for report in reversed(history.reports):
        items = []
        for item in report.symptoms if isinstance(report.symptoms, list) else []:
            code, grade = item.get("code"), item.get("grade")
            if isinstance(code, str) and isinstance(grade, int) and grade:
                items.append((_label(history.labels, rules, code), _grade_text(rules, code, grade)))
        pressure = ""
        if report.systolic_bp is not None and report.diastolic_bp is not None:
            pressure = f"{report.systolic_bp}/{report.diastolic_bp}"
        rows.append(
            ReportRow(
                report=report,
                when=report.reported_at.astimezone(zone),
                level=report.triage_level,
                items=items,
                temperature=report.temperature_c,
                blood_pressure=pressure,
            )
        )
    return rows


# --- the result of a symptom report --------------------------------------------------------------

SYMPTOM_HISTORY = timedelta(days=28)


@dataclass
class ReportResult:
    level: str  # "red", "amber", "green", or "" if not graded yet
    call_now: bool
    lead: str  # the first advice line of the level (red: "Call your advice line now.")
    lines: list[str]  # the rest of the level's lines, in the rule set's order
    self_care: list[tuple[str, str]]  # (symptom, advice)
    why: list[str]  # the reasons, in words
    told: list[tuple[str, str]]  # what the patient reported, above "none"

    @property
    def heading(self) -> str:
        return self.lead.rstrip(".") or "Call your advice line now"


def _reason_words(reason: dict, report, rules: dict) -> str:
    code, rule = reason.get("code", ""), reason.get("rule", "")
    label = triage.item_label(rules, code)
    grades = {
        item.get("code"): item.get("grade")
        for item in (report.symptoms if isinstance(report.symptoms, list) else [])
        if isinstance(item, dict)
    }
    if rule == triage.RULE_TWO_AMBERS:
        return "Two or more of your answers need review, which together makes this urgent."
    if code == "temperature" and report.temperature_c is not None:
        return f"Temperature {report.temperature_c} °C."
    if code == "blood_pressure" and report.systolic_bp is not None:
        words = f"Blood pressure {report.systolic_bp}/{report.diastolic_bp}."
    elif isinstance(grades.get(code), int):
        words = f"{label}: {_grade_text(rules, code, grades[code])}."
    else:
        words = f"{label}."
    if rule == triage.RULE_REPEAT_AMBER:
        hours = rules["combination_rules"]["repeat_amber"]["window_hours"]
        words += f" You also reported this in the last {hours} hours."
    elif rule == triage.RULE_IMMUNOTHERAPY:
        words += " With immunotherapy (atezolizumab) this can be a sign of an immune reaction."
    elif rule == triage.RULE_BP_WITH_HEADACHE:
        words += " High blood pressure together with a headache needs checking at once."
    return words


def report_result(report, rules: dict) -> ReportResult:
    level = report.triage_level or ""
    advice = list(report.triage_advice or [])
    graded = rules.get("graded_symptoms", {})
    self_care_texts = {graded[code]["self_care"]: graded[code]["label"] for code in graded}
    lines, self_care = [], []
    for line in advice:
        label, _, text = line.partition(": ")
        if text and text in self_care_texts:
            self_care.append((label, text))
        else:
            lines.append(line)
    told = []
    for item in report.symptoms if isinstance(report.symptoms, list) else []:
        code, grade = item.get("code"), item.get("grade")
        if isinstance(code, str) and isinstance(grade, int) and grade:
            told.append((triage.item_label(rules, code), _grade_text(rules, code, grade)))
    if report.temperature_c is not None:
        told.append(("Temperature", f"{report.temperature_c} °C"))
    if report.systolic_bp is not None and report.diastolic_bp is not None:
        told.append(("Blood pressure", f"{report.systolic_bp}/{report.diastolic_bp}"))
    seen: list[str] = []
    for reason in report.triage_reasons or []:
        if isinstance(reason, dict):
            words = _reason_words(reason, report, rules)
            if words not in seen:
                seen.append(words)
    # Not graded (yet): say "call" rather than nothing - never under-triage.
    call_now = bool(report.call_advice_line) or not level
    return ReportResult(
        level=level,
        call_now=call_now,
        lead=lines[0] if lines else "",
        lines=lines[1:],
        self_care=self_care,
        why=seen,
        told=told,
    )


def red_measurement_text(rules: dict, key: str) -> str:
    """'37.5 °C or higher, or below 36.0 °C': a measurement's red conditions in words,
    from the rule set (a Trust may change them)."""
    measurement = rules.get("measurements", {}).get(key)
    if not measurement:
        return ""
    parts = []
    for condition in measurement["levels"].get("red", []):
        unit = rules["validation"][condition["figure"]]["unit"]
        if "at_or_above" in condition:
            parts.append(f"{condition['at_or_above']} {unit} or higher")
        else:
            parts.append(f"below {condition['below']} {unit}")
    return ", or ".join(parts)
