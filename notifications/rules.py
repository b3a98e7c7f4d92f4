"""Pure alerting rules (no database): deadlines, missed-dose levels, delivery back-off.

Clinical rules: ../shared/clinical/triage.md ("Alerts from symptom reports") and
adherence.md ("Missed-dose alerts"). Tests call these directly, table-driven.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

# triage.md: acknowledge red within 30 minutes, amber within 4 hours. Green has no clinical
# deadline; the team looks at it on the next working day at 09:00 (London: the advice line's
# working hours), which is what due_by shows on the dashboard.
RED_WITHIN = timedelta(minutes=30)
AMBER_WITHIN = timedelta(hours=4)
WORKING_DAY_STARTS = time(9, 0)
TEAM_ZONE = zoneinfo.ZoneInfo("Europe/London")

LEVELS = ("green", "amber", "red")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}

# adherence.md: amber when dose-taking adherence over the last 7 days is below 80%, or when
# two or more consecutive expected doses are missed.
ADHERENCE_WINDOW = timedelta(days=7)
ADHERENCE_AMBER_BELOW_PERCENT = 80
CONSECUTIVE_MISSES_AMBER = 2
# The two most recent expected doses are looked for this far back (a hold or an off week
# between two misses still makes them consecutive).
CONSECUTIVE_LOOKBACK = timedelta(days=14)
# The words of the missed-dose reasons. assess_missed_doses below and the sweep's SQL
# (notifications/services/missed_dose_sql.py) both build them from these.
MISSED_DOSE_RULES = {
    "missed_one": "1 missed dose",
    "missed_many": "{n} missed doses",
    "consecutive": "{consecutive} or more consecutive expected doses missed",
    "low_adherence": "dose-taking adherence over the last 7 days {taken}/{expected} "
    "({percent}%), below {below}%",
}

# Delivery retries: 30 s, 2 min, 10 min, 30 min, then hourly; give up after MAX attempts.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)
MAX_DELIVERY_ATTEMPTS = 10


def higher_level(a: str, b: str) -> str:
    """Never under-triage: where two levels meet, the higher one wins."""
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b


def level_at_least(level: str, minimum: str) -> bool:
    return LEVEL_RANK[level] >= LEVEL_RANK[minimum]


def next_working_day_start(now: datetime, zone: zoneinfo.ZoneInfo = TEAM_ZONE) -> datetime:
    """09:00 on the next working day (Monday to Friday) after `now`'s local date, in UTC.

    "Next" is strictly after today: a green alert raised at 07:00 on a Tuesday is due at
    09:00 on Wednesday, one raised on Friday, Saturday or Sunday is due on Monday. Bank
    holidays are not known here (a Trust calendar would be data, not code)."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += timedelta(days=1)
    return datetime.combine(day, WORKING_DAY_STARTS, tzinfo=zone).astimezone(UTC)


def due_by_for(level: str, now: datetime) -> datetime:
    """When the team must have acknowledged an alert of this level raised at `now`."""
    if level == "red":
        return now + RED_WITHIN
    if level == "amber":
        return now + AMBER_WITHIN
    return next_working_day_start(now)


def escalates(level: str) -> bool:
    """Red and amber alerts past their deadline escalate (triage.md). A green alert past
    09:00 the next working day shows as overdue on the dashboard but pages no one."""
    return level in ("red", "amber")


@dataclass(frozen=True)
class MissedDoseAssessment:
    level: str
    reasons: list[dict]
    adherence_percent: int | None


def assess_missed_doses(
    *, newly_missed: int, consecutive_missed: bool, taken_7d: int, expected_7d: int
) -> MissedDoseAssessment:
    """The level of a prescription's missed-dose alert (adherence.md, "Missed-dose alerts").

    `consecutive_missed`: the two most recent expected (not held, not pending) doses are both
    missed. `taken_7d` / `expected_7d`: taken on time or late / expected over the last 7 days,
    held and not-yet-closed doses excluded. Integer arithmetic so 79.99% is never rounded up
    to 80%."""
    reasons = [
        {
            "code": "missed_dose",
            "level": "green",
            "rule": MISSED_DOSE_RULES["missed_one"]
            if newly_missed == 1
            else MISSED_DOSE_RULES["missed_many"].format(n=newly_missed),
        }
    ]
    level = "green"
    if consecutive_missed:
        level = "amber"
        reasons.append(
            {
                "code": "consecutive_missed_doses",
                "level": "amber",
                "rule": MISSED_DOSE_RULES["consecutive"].format(
                    consecutive=CONSECUTIVE_MISSES_AMBER
                ),
            }
        )
    percent = None
    if expected_7d > 0:
        percent = (100 * taken_7d) // expected_7d
        if 100 * taken_7d < ADHERENCE_AMBER_BELOW_PERCENT * expected_7d:
            level = "amber"
            reasons.append(
                {
                    "code": "low_adherence_7d",
                    "level": "amber",
                    "rule": MISSED_DOSE_RULES["low_adherence"].format(
                        taken=taken_7d,
                        expected=expected_7d,
                        percent=percent,
                        below=ADHERENCE_AMBER_BELOW_PERCENT,
                    ),
                }
            )
    return MissedDoseAssessment(level=level, reasons=reasons, adherence_percent=percent)


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failed tries (1-based), capped at 1 hour."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def gives_up(attempts: int, max_attempts: int = MAX_DELIVERY_ATTEMPTS) -> bool:
    return attempts >= max_attempts


# checkins.md, "Telling the patient": what a resolved alert's outcome means, in the words the
# patient reads on their report. The nurse's note stays internal.
PATIENT_OUTCOME_WORDS = {
    "advice_given_by_phone": "A nurse gave you advice by phone.",
    "same_day_assessment": "You were asked to come in to be seen.",
    "told_to_call_999": "You were told to call 999.",
    "treatment_held": "Your team has paused your treatment.",
    "supply_arranged": "Your team arranged a new supply of your medicine.",
    "no_action_needed": "Your team looked at this; nothing else is needed now.",
    "doses_resumed": "You took your doses again, so nothing else is needed now.",
    "other": "Your team looked at this.",
}


def patient_outcome_words(outcome: str) -> str:
    return PATIENT_OUTCOME_WORDS.get(outcome, "Your team looked at this.")
