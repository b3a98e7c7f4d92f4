"""Words and small helpers every patient page uses: dose states in plain words, days and
times said the way people say them, amounts in mg."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..models import (
    DoseState,
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


def brand_name(brand: str) -> str:
    """'Cabometyx (tablets; not interchangeable with Cometriq capsules)' -> 'Cabometyx': the
    catalogue's notes in brackets are said separately (brand_note), never nested."""
    return brand.split(" (", 1)[0].strip()


def brand_note(brand: str) -> str:
    """'Cabometyx (tablets; not ...)' -> 'Tablets; not interchangeable with Cometriq
    capsules.'; '' when the brand has no note."""
    _, _, rest = brand.partition(" (")
    note = rest.rstrip(")").strip()
    return f"{_sentence_case(note)}." if note else ""
