"""How the advice line is doing: the figures of /nurse/metrics/ (docs/nurse-dashboard.md,
"Advice-line metrics").

Three reads whatever the period: the alerts raised in it (one row each), the number of
symptom reports, and check-in completion (medications.symptoms.selectors). Percentiles need
every value, and neither SQLite nor Django's ORM has a portable percentile, so the alert rows
come back as plain tuples and the figures are worked out here. Everything below the reads is
pure (plain values in, a `Metrics` out), so the tests check it against figures worked out by
hand.

Definitions (the same words are on the page):
- The period is whole local days (the advice line's zone, notifications.rules.TEAM_ZONE):
  an alert counts in it when it was raised on one of those days.
- Time to acknowledge: from the alert being raised to its acknowledgement; an alert resolved
  straight from open counts as acknowledged when it was resolved (the nurse dealt with it).
- Within target: acknowledged by its deadline (due_by: 30 minutes for red, 4 hours for
  amber, from the moment it reached that level). Alerts not yet acknowledged whose deadline
  has not passed are not counted either way.
- Median and 90th percentile: linear interpolation between the closest ranks (PostgreSQL's
  percentile_cont): the median of 4 values is the mean of the middle two.
- Out of hours: raised 18:00-08:00 local time on a weekday, or any time on Saturday or Sunday.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import QuerySet

from medications.models import SymptomReport
from medications.symptoms.selectors import CHECK_IN_COMPLETION_TARGET, check_in_completion
from patients.selectors import visible_to

from .. import rules
from ..models import Alert, AlertKind, AlertLevel, AlertOutcome
from ..selectors import alerts_visible_to

ZONE = rules.TEAM_ZONE
DEFAULT_DAYS = 28
MAX_DAYS = 366
DAY_STARTS = time(8, 0)
EVENING_STARTS = time(18, 0)
LEVELS = (AlertLevel.RED, AlertLevel.AMBER, AlertLevel.GREEN)
TARGET_WORDS = {AlertLevel.RED: "30 minutes", AlertLevel.AMBER: "4 hours"}
CHECK_IN_TARGET = CHECK_IN_COMPLETION_TARGET  # percent (checkins.md, "Measure")


# --- the period -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    zone: tzinfo = ZONE

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.zone).astimezone(UTC)

    @property
    def until(self) -> datetime:
        day_after = self.last_day + timedelta(days=1)
        return datetime.combine(day_after, time(0), tzinfo=self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def default_period(now: datetime, zone: tzinfo = ZONE) -> Period:
    today = now.astimezone(zone).date()
    return Period(today - timedelta(days=DEFAULT_DAYS - 1), today, zone)


# --- the reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFacts:
    level: str
    kind: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    due_by: datetime
    escalated_at: datetime | None
    outcome: str

    @property
    def responded_at(self) -> datetime | None:
        return self.acknowledged_at or self.resolved_at


FACT_FIELDS = (
    "level",
    "kind",
    "created_at",
    "acknowledged_at",
    "resolved_at",
    "due_by",
    "escalated_at",
    "outcome",
)


def _alerts(user, team_id: int | None, period: Period) -> QuerySet[Alert]:
    qs = alerts_visible_to(user).filter(created_at__gte=period.since, created_at__lt=period.until)
    if team_id:
        qs = qs.filter(care_team_id=team_id)
    return qs


def alert_facts(user, *, team_id: int | None, period: Period) -> list[AlertFacts]:
    """The alerts raised in the period that the user may see: one query."""
    rows = _alerts(user, team_id, period).order_by().values_list(*FACT_FIELDS)
    return [AlertFacts(*row) for row in rows]


def symptom_report_count(user, *, team_id: int | None, period: Period) -> int:
    """Symptom reports sent in the period by patients of the user's teams: one query."""
    qs = visible_to(user, SymptomReport.objects.all(), patient_path="patient").filter(
        reported_at__gte=period.since, reported_at__lt=period.until
    )
    if team_id:
        qs = qs.filter(patient__care_team_id=team_id)
    return qs.count()


# --- pure figures ---------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (percentile_cont); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def is_out_of_hours(moment: datetime, zone: tzinfo = ZONE) -> bool:
    local = moment.astimezone(zone)
    if local.weekday() >= 5:
        return True
    return not DAY_STARTS <= local.time() < EVENING_STARTS


def share(part: int, whole: int) -> float | None:
    return None if not whole else 100.0 * part / whole


def _minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None  # minutes
    p90: float | None


def spread(minutes: Sequence[float]) -> Spread:
    return Spread(len(minutes), percentile(minutes, 0.5), percentile(minutes, 0.9))


@dataclass(frozen=True)
class Target:
    due: int  # acknowledged, or deadline passed
    within: int

    @property
    def share(self) -> float | None:
        return share(self.within, self.due)


@dataclass
class Metrics:
    period: Period
    total: int = 0
    by_kind_level: dict[tuple[str, str], int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    acknowledge: dict[str, Spread] = field(default_factory=dict)
    resolve: dict[str, Spread] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    escalated: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    weekday_day: int = 0
    weekday_night: int = 0
    weekend: int = 0
    reports: int = 0
    report_alerts: int = 0
    check_ins_completed: int = 0
    check_ins_due: int = 0  # completed or missed (paused ones are not asked, open ones not yet)

    @property
    def out_of_hours(self) -> int:
        return self.weekday_night + self.weekend

    @property
    def check_in_completion(self) -> float | None:
        return share(self.check_ins_completed, self.check_ins_due)

    @property
    def alerts_per_100_reports(self) -> float | None:
        return None if not self.reports else 100.0 * self.report_alerts / self.reports


def summarise(
    facts: Sequence[AlertFacts], *, reports: int, period: Period, now: datetime
) -> Metrics:
    metrics = Metrics(period=period, total=len(facts), reports=reports)
    kind_level = Counter((f.kind, f.level) for f in facts)
    metrics.by_kind_level = dict(kind_level)
    metrics.by_level = {level: sum(1 for f in facts if f.level == level) for level in LEVELS}
    metrics.by_kind = {kind: sum(1 for f in facts if f.kind == kind) for kind in AlertKind.values}
    for level in LEVELS:
        of_level = [f for f in facts if f.level == level]
        metrics.acknowledge[level] = spread(
            [_minutes(f.created_at, f.responded_at) for f in of_level if f.responded_at]
        )
        metrics.resolve[level] = spread(
            [_minutes(f.created_at, f.resolved_at) for f in of_level if f.resolved_at]
        )
        metrics.escalated[level] = sum(1 for f in of_level if f.escalated_at)
        if level in TARGET_WORDS:
            due = [f for f in of_level if f.responded_at or f.due_by <= now]
            within = sum(1 for f in due if f.responded_at and f.responded_at <= f.due_by)
            metrics.targets[level] = Target(len(due), within)
    resolved = [f for f in facts if f.resolved_at]
    metrics.resolved = len(resolved)
    outcomes = Counter(f.outcome for f in resolved)
    metrics.outcomes = {value: outcomes.get(value, 0) for value in AlertOutcome.values}
    for f in facts:
        local = f.created_at.astimezone(period.zone)
        if local.weekday() >= 5:
            metrics.weekend += 1
        elif is_out_of_hours(f.created_at, period.zone):
            metrics.weekday_night += 1
        else:
            metrics.weekday_day += 1
    metrics.report_alerts = metrics.by_kind.get(AlertKind.SYMPTOM, 0)
    return metrics


def advice_line_metrics(
    user, *, team_id: int | None, team_ids: Sequence[int], period: Period, now: datetime
) -> Metrics:
    """The page's figures: three queries whatever the period. `team_ids`: the teams the user
    may see (care_teams_visible_to), for the check-ins, which belong to patients."""
    facts = alert_facts(user, team_id=team_id, period=period)
    reports = symptom_report_count(user, team_id=team_id, period=period)
    metrics = summarise(facts, reports=reports, period=period, now=now)
    completion = check_in_completion(
        since=period.since,
        until=period.until,
        care_team_ids=[team_id] if team_id else list(team_ids),
    )["overall"]
    metrics.check_ins_completed, metrics.check_ins_due = completion.completed, completion.due
    return metrics
