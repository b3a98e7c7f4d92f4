"""Pure rules of scheduled check-ins (../shared/clinical/checkins.md, "Scheduled check-ins"):
when a check-in opens, when the patient is chased, when it is missed, what a run of misses
means, what a follow-up asks about first and when follow-ups end, and when blood pressure
is asked for. No database: tests call these with plain values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A weekly check-in is asked for on a fixed weekday at 10:00 local time.
CHECK_IN_TIME = time(10, 0)
OPEN_FOR = timedelta(hours=72)
# Chasing: a reminder when it opens, a second one 24 hours later.
SECOND_REMINDER_AFTER = timedelta(hours=24)
REMINDERS = 2
POST_INFUSION_DAYS = 7
FOLLOW_UP_AFTER = timedelta(hours=24)
# A follow-up continues while a focus item is above grade 1.
SETTLED_AT_OR_BELOW = 1
# Two consecutive missed check-ins: "no contact for two weeks".
MISSES_FOR_AMBER = 2

WEEKLY, POST_INFUSION, FOLLOW_UP = "weekly", "post_infusion", "follow_up"
MISSED, COMPLETED = "missed", "completed"


def local_at(day: date, zone: ZoneInfo, at: time = CHECK_IN_TIME) -> datetime:
    """`at` on `day` in the patient's zone, as an aware datetime (DST-safe: 10:00 stays
    10:00 local whichever offset applies that day)."""
    return datetime.combine(day, at, tzinfo=zone)


def weekly_opening(after: datetime, weekday: int, zone: ZoneInfo) -> datetime:
    """The first weekly opening (10:00 local on `weekday`, Monday = 0) at or after `after`."""
    day = after.astimezone(zone).date()
    day += timedelta(days=(weekday - day.weekday()) % 7)
    opening = local_at(day, zone)
    if opening < after:
        opening = local_at(day + timedelta(days=7), zone)
    return opening


def post_infusion_opening(given_at: datetime, zone: ZoneInfo) -> datetime:
    """10:00 local, 7 days after the day the infusion was given."""
    return local_at(given_at.astimezone(zone).date() + timedelta(days=POST_INFUSION_DAYS), zone)


def follow_up_opening(reported_at: datetime) -> datetime:
    return reported_at + FOLLOW_UP_AFTER


def closes_at(opens_at: datetime) -> datetime:
    return opens_at + OPEN_FOR


def next_reminder_at(opens_at: datetime, reminders_sent: int) -> datetime | None:
    """When the next chasing reminder is due (at opening, then +24 h), or None."""
    if reminders_sent <= 0:
        return opens_at
    if reminders_sent == 1:
        return opens_at + SECOND_REMINDER_AFTER
    return None


def next_look_at(opens_at: datetime, reminders_sent: int) -> datetime:
    """The sweep's "look at this next" time of an unfinished check-in: its next reminder,
    else its closing."""
    reminder = next_reminder_at(opens_at, reminders_sent)
    end = closes_at(opens_at)
    return min(reminder, end) if reminder is not None else end


def missed_alert_level(outcomes_newest_first: Sequence[str]) -> str:
    """Level of the "check-in not done" alert from the patient's finished check-ins,
    newest first: amber when the last two were both missed, else green."""
    recent = list(outcomes_newest_first[:MISSES_FOR_AMBER])
    if len(recent) == MISSES_FOR_AMBER and all(outcome == MISSED for outcome in recent):
        return "amber"
    return "green"


def follow_up_focus(item_levels: Mapping[str, str], graded_codes: Iterable[str]) -> list[str]:
    """The graded symptoms a follow-up asks about first: those amber (or raised to red by a
    combination rule) in the report that started it. Red flags and measurements are not
    followed up this way: they are red and go straight to the team."""
    graded = set(graded_codes)
    return [code for code, level in item_levels.items() if code in graded and level != "green"]


def follow_up_still_open(focus: Sequence[str], grades: Mapping[str, int]) -> list[str]:
    """The focus items still above grade 1 in a report answering a follow-up: another
    follow-up opens for them; none left means the follow-ups end. An item not reported is
    grade 0."""
    return [code for code in focus if int(grades.get(code, 0)) > SETTLED_AT_OR_BELOW]


# --- blood pressure (lenvatinib SmPC monitoring; bevacizumab before each infusion) ------------


def treatment_week(start: date, on: date) -> int:
    """Week of treatment `on` falls in: days 0-6 from `start` are week 1."""
    return (on - start).days // 7 + 1


def lenvatinib_bp_week(week: int) -> bool:
    """Lenvatinib: blood pressure after 1 week, then every 2 weeks for the first 2 months,
    then monthly: weeks 1, 3, 5 and 7, then every 4 weeks (11, 15, 19, ...)."""
    if week < 1:
        return False
    if week <= 8:
        return week % 2 == 1
    return (week - 7) % 4 == 0


def asks_bp(
    *,
    has_monitor: bool,
    lenvatinib_start: date | None,
    on: date,
    bevacizumab_infusion_within_7_days: bool,
) -> bool:
    """Whether a check-in on local date `on` asks for a blood pressure reading: only for a
    patient with a home monitor; on lenvatinib by the week schedule; on bevacizumab at the
    check-in before each infusion (one opening in the 7 days before it)."""
    if not has_monitor:
        return False
    on_lenvatinib_schedule = (
        lenvatinib_start is not None
        and on >= lenvatinib_start
        and lenvatinib_bp_week(treatment_week(lenvatinib_start, on))
    )
    return on_lenvatinib_schedule or bevacizumab_infusion_within_7_days
