"""The one dose calendar: doses counted per local day, by the rules of adherence.md, for
every page that draws days (the patient's History, the nurse's patient page).

Pure: dose rows and the clock go in, days come out. The day rules, in one place:

- a dose belongs to the local calendar day (patient's zone) it was due on;
- its state is the state a person sees (adherence.display_state): a pending dose is
  upcoming before its due time, due while its late window is open, missed after it;
- held doses are not expected (drugs.md: "doses inside a hold are held, never missed");
- a day is finished when none of its doses is still upcoming or due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .adherence import DUE, HELD, MISSED, SKIPPED, TAKEN, TAKEN_LATE, UPCOMING, display_state

# Worst first: a day shows the worst thing that happened on it.
WORST_FIRST = (MISSED, SKIPPED, TAKEN_LATE, TAKEN)


@dataclass
class DoseDay:
    """One local day's doses, counted by the state a person sees."""

    day: date
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def held(self) -> int:
        return self.counts[HELD]

    @property
    def expected(self) -> int:
        """Doses the patient was meant to take that day (held ones are not)."""
        return self.total - self.held

    @property
    def taken(self) -> int:
        return self.counts[TAKEN] + self.counts[TAKEN_LATE]

    @property
    def not_taken(self) -> int:
        """Missed, or skipped with a reason."""
        return self.counts[MISSED] + self.counts[SKIPPED]

    @property
    def still_open(self) -> int:
        """Upcoming, or due with the late window still open."""
        return self.counts[UPCOMING] + self.counts[DUE]

    @property
    def worst(self) -> str | None:
        """The worst finished state of the day (missed, skipped, taken late, taken), or
        None when no dose of the day is finished yet."""
        for state in WORST_FIRST:
            if self.counts[state]:
                return state
        return None

    @property
    def all_held(self) -> bool:
        return self.total > 0 and self.held == self.total


def days_of_doses(
    doses: Iterable[tuple[datetime, datetime, str]], *, zone: ZoneInfo, now: datetime
) -> dict[date, DoseDay]:
    """(due_at, late_until, stored state) rows -> their local days, counted."""
    days: dict[date, DoseDay] = {}
    for due_at, late_until, state in doses:
        day = due_at.astimezone(zone).date()
        tally = days.get(day)
        if tally is None:
            tally = days[day] = DoseDay(day)
        tally.counts[display_state(state, due_at, late_until, now)] += 1
    return days


def week_rows(first_day: date, last_day: date) -> list[list[date]]:
    """Whole weeks, Monday first, from the week of `first_day` to the week of `last_day`."""
    monday = first_day - timedelta(days=first_day.weekday())
    weeks = []
    while monday <= last_day:
        weeks.append([monday + timedelta(days=offset) for offset in range(7)])
        monday += timedelta(days=7)
    return weeks
