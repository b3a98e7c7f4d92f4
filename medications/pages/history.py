"""What History shows about doses: the calendar of the last weeks and the doses of the
last days, dose by dose, in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from patients.models import Patient

from .. import calendar, selectors
from ..calendar import DoseDay
from ..models import (
    AppointmentState,
    DoseState,
    Drug,
    ExpectedDose,
    Prescription,
    SkipReason,
)
from .today import DoseCard, patient_doses
from .treatment import current_regimen
from .words import DUE, STATE_LABELS, UPCOMING, _sentence_case, day_phrase, local_day_start, mg

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
LEGEND = [
    (TAKEN, "Taken", "All of that day's doses taken"),
    (LATE, "Late", "Taken late, after the safe time to take it"),
    (SKIPPED, "Skipped", "You told us you did not take a dose"),
    (MISSED, "Missed", "A dose was not recorded in time"),
    (HELD, "Held", "Your team paused your tablets"),
    (OFF, "Off week", "A planned break with no tablets"),
]
SHORT_LABELS = {code: label for code, label, _ in LEGEND}
INFUSION_WEEKS_AHEAD = 3


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


def _day_status(doses: DoseDay | None, off_label: str) -> tuple[str, str]:
    if doses is None or not doses.total:
        return (OFF, off_label) if off_label else (NONE, "")
    if doses.worst is not None:
        status = DAY_STATUS_BY_DOSE_STATE[doses.worst]
        return status, SHORT_LABELS[status]
    if doses.all_held:
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


def dose_calendar(
    user, patient: Patient, now: datetime, weeks: int = 6, *, tablets: bool = True
) -> Calendar:
    """The last `weeks` weeks, Monday to Sunday, ending with this week. Without tablets (an
    infusion-only patient) it is their infusion calendar: 3 weeks ahead too (the next visit),
    and no "no tablets planned" in every cell."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    last_day = today + timedelta(days=6 - today.weekday())
    if not tablets:
        last_day += timedelta(weeks=INFUSION_WEEKS_AHEAD)
    first_day = last_day - timedelta(days=7 * weeks - 1)
    by_day = selectors.dose_days(patient, first_day=first_day, last_day=today, now=now)
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

    calendar_weeks = [
        [
            _calendar_day(day, today, by_day, prescriptions, infusions, zone, tablets=tablets)
            for day in week
        ]
        for week in calendar.week_rows(first_day, last_day)
    ]
    return Calendar(weeks=calendar_weeks, first_day=first_day, last_day=last_day)


def _calendar_day(
    day, today, by_day, prescriptions, infusions, zone, *, tablets: bool = True
) -> CalendarDay:
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
    if not tablets:
        words = infusion_words or "no infusion."
        today_words = " (today)" if day == today else ""
        return CalendarDay(
            day, NONE, "", f"{name}{today_words}: {words}", is_today=day == today, infusion=infusion
        )
    doses = by_day.get(day)
    off_label = "" if doses else _off_label(prescriptions, day, zone)
    status, label = _day_status(doses, off_label)
    if doses:
        words = _count_words(doses.counts, doses.total) + "."
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
    card: DoseCard | None = None  # the patient may still log it (due in the last 72 hours)

    @property
    def amount(self) -> str:
        return mg(self.dose.dose_mg)

    @property
    def to_record(self) -> bool:
        return self.state in (DUE, DoseState.MISSED)


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
        card = DoseCard(dose=dose, now=now, zone=zone, today=today)
        group.lines.append(
            DoseLine(
                dose=dose,
                state=state,
                label=STATE_LABELS.get(state, state),
                drug=dose.prescription.drug,
                due_local=local,
                detail=detail,
                card=card if card.patient_may_log and state != DoseState.HELD else None,
            )
        )
    return sorted(grouped.values(), key=lambda g: g.day, reverse=True)
