"""Adherence measures of ../shared/clinical/adherence.md ("Adherence measures").

Pure: dose rows (as plain records) and the clock go in, figures come out. Definitions:

- expected: doses whose late window has closed, or that were taken or skipped, excluding
  held ones (adherence.md: "expected excludes held and upcoming doses"). A dose still
  inside its late window and not logged ("due") is not counted yet: at 08:52 an 08:00
  dose may still be taken, so it is neither taken nor missed (issue 13).
- dose-taking adherence: taken (on time or late) / expected, as a percentage.
- timing adherence: doses taken within +/- 2 h of the due time (twice-daily drugs) or
  +/- 3 h (once-daily drugs) / expected.
- days covered (PDC-style): local days on which every expected dose was taken / local days
  with at least one expected dose.
- drug holiday: a run of 3 or more consecutive calendar days, each with expected doses and
  none of them taken.
- persistence: days from the first taken dose to the prescription's stop (or today).
- infusion dose intensity: infusions given / infusions planned, and the mean delay beyond
  the interval (21 days) between consecutive infusions actually given.

Percentages are rounded to one decimal place (half up); None when nothing was expected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PENDING = "pending"
TAKEN = "taken"
TAKEN_LATE = "taken_late"
SKIPPED = "skipped"
MISSED = "missed"
HELD = "held"
UPCOMING = "upcoming"
DUE = "due"

TAKEN_STATES = frozenset({TAKEN, TAKEN_LATE})
HOLIDAY_MIN_DAYS = 3
TWICE_DAILY_TOLERANCE = timedelta(hours=2)
ONCE_DAILY_TOLERANCE = timedelta(hours=3)


def display_state(state: str, due_at: datetime, late_until: datetime, now: datetime) -> str:
    """Stored state -> the state a person sees (pending becomes upcoming, due or missed)."""
    if state != PENDING:
        return state
    if now < due_at:
        return UPCOMING
    if now < late_until:
        return DUE
    return MISSED


def percentage(part: int, whole: int) -> float | None:
    if not whole:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return float(value)


@dataclass(frozen=True)
class DoseRecord:
    due_at: datetime
    late_until: datetime
    state: str  # as stored
    day: date  # the local calendar day the dose was due on (patient's zone)
    taken_at: datetime | None = None
    doses_per_day: int = 1
    prescription_id: int | None = None

    def shown_state(self, now: datetime) -> str:
        return display_state(self.state, self.due_at, self.late_until, now)

    def taken_on_time(self) -> bool:
        if self.state not in TAKEN_STATES or self.taken_at is None:
            return False
        tolerance = TWICE_DAILY_TOLERANCE if self.doses_per_day >= 2 else ONCE_DAILY_TOLERANCE
        return abs(self.taken_at - self.due_at) <= tolerance


@dataclass(frozen=True)
class DrugHoliday:
    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.first_day, "to": self.last_day, "days": self.days}


@dataclass
class DoseSummary:
    expected: int = 0
    taken: int = 0  # on time, within the late window
    taken_late: int = 0
    taken_within_timing: int = 0
    skipped: int = 0
    missed: int = 0
    held: int = 0
    upcoming: int = 0
    due: int = 0
    days_with_doses: int = 0
    days_fully_taken: int = 0
    drug_holidays: list[DrugHoliday] = field(default_factory=list)

    @property
    def taken_total(self) -> int:
        return self.taken + self.taken_late

    @property
    def dose_taking(self) -> float | None:
        return percentage(self.taken_total, self.expected)

    @property
    def timing(self) -> float | None:
        return percentage(self.taken_within_timing, self.expected)

    @property
    def days_covered(self) -> float | None:
        return percentage(self.days_fully_taken, self.days_with_doses)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dose_taking": self.dose_taking,
            "timing": self.timing,
            "days_covered": self.days_covered,
            "expected": self.expected,
            "taken": self.taken,
            "taken_late": self.taken_late,
            "taken_within_timing": self.taken_within_timing,
            "missed": self.missed,
            "skipped": self.skipped,
            "held": self.held,
            "due": self.due,
            "days_with_doses": self.days_with_doses,
            "days_fully_taken": self.days_fully_taken,
            "drug_holidays": [holiday.as_dict() for holiday in self.drug_holidays],
        }


def summarise_doses(records: Iterable[DoseRecord], *, now: datetime) -> DoseSummary:
    summary = DoseSummary()
    # day -> [expected doses that day, of which taken]
    days: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        state = record.shown_state(now)
        if state == HELD:
            summary.held += 1
            continue
        if state == UPCOMING:
            summary.upcoming += 1
            continue
        if state == DUE:
            summary.due += 1  # still inside its window: not counted until taken or closed
            continue
        summary.expected += 1
        tally = days[record.day]
        tally[0] += 1
        if state == TAKEN:
            summary.taken += 1
        elif state == TAKEN_LATE:
            summary.taken_late += 1
        elif state == SKIPPED:
            summary.skipped += 1
        elif state == MISSED:
            summary.missed += 1
        if state in TAKEN_STATES:
            tally[1] += 1
            if record.taken_on_time():
                summary.taken_within_timing += 1
    summary.days_with_doses = len(days)
    summary.days_fully_taken = sum(1 for expected, taken in days.values() if taken == expected)
    summary.drug_holidays = drug_holidays(
        sorted(day for day, (_expected, taken) in days.items() if taken == 0)
    )
    return summary


def drug_holidays(days_with_none_taken: Sequence[date]) -> list[DrugHoliday]:
    """Runs of >= 3 consecutive calendar days with expected doses and none taken."""
    holidays: list[DrugHoliday] = []
    run: list[date] = []
    for day in days_with_none_taken:
        if run and day != run[-1] + timedelta(days=1):
            if len(run) >= HOLIDAY_MIN_DAYS:
                holidays.append(DrugHoliday(run[0], run[-1]))
            run = []
        run.append(day)
    if len(run) >= HOLIDAY_MIN_DAYS:
        holidays.append(DrugHoliday(run[0], run[-1]))
    return holidays


def persistence_days(first_taken_on: date | None, ended_on: date) -> int | None:
    """Days from the first taken dose to the stop (or today); None if nothing taken yet."""
    if first_taken_on is None:
        return None
    return max(0, (ended_on - first_taken_on).days)


@dataclass(frozen=True)
class AppointmentRecord:
    scheduled_at: datetime
    state: str  # scheduled / given / missed / cancelled
    scheduled_on: date  # local date it is (was) planned for
    given_on: date | None = None  # local date actually given

    @property
    def day(self) -> date:
        return self.given_on if self.state == "given" and self.given_on else self.scheduled_on


@dataclass
class InfusionSummary:
    planned: int = 0
    given: int = 0
    missed: int = 0
    delays_days: list[int] = field(default_factory=list)

    @property
    def dose_intensity(self) -> float | None:
        return percentage(self.given, self.planned)

    @property
    def mean_delay_days(self) -> float | None:
        if not self.delays_days:
            return None
        mean = Decimal(sum(self.delays_days)) / len(self.delays_days)
        return float(mean.quantize(Decimal("0.1"), ROUND_HALF_UP))

    def as_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "given": self.given,
            "missed": self.missed,
            "dose_intensity": self.dose_intensity,
            "mean_delay_days": self.mean_delay_days,
            "delays_days": list(self.delays_days),
        }


def summarise_infusions(
    appointments: Iterable[AppointmentRecord],
    *,
    interval_days: int,
    now: datetime,
    first_day: date | None = None,
) -> InfusionSummary:
    """Planned: appointments given, or whose time has come, and not cancelled. Delay: days
    between consecutive infusions actually given beyond the interval (never negative). With
    `first_day`, only appointments (and gaps ending) on or after that local day count."""
    appointments = list(appointments)
    summary = InfusionSummary()
    for appointment in appointments:
        if appointment.state == "cancelled":
            continue
        if appointment.state != "given" and appointment.scheduled_at > now:
            continue
        if first_day is not None and appointment.day < first_day:
            continue
        summary.planned += 1
        if appointment.state == "given":
            summary.given += 1
        elif appointment.state == "missed":
            summary.missed += 1
    given_days = sorted(a.given_on for a in appointments if a.state == "given" and a.given_on)
    for earlier, later in zip(given_days, given_days[1:], strict=False):
        if first_day is not None and later < first_day:
            continue
        summary.delays_days.append(max(0, (later - earlier).days - interval_days))
    return summary
