"""The alert queue of the nurse dashboard: scope, filters, order (red first, then oldest),
counts, the red banner, failing channels, and the rows as the page shows them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from patients.models import REMINDERS_UNREACHABLE_AFTER, Role
from patients.roles import role_of, team_ids_for

from .. import selectors
from ..models import (
    Alert,
    AlertKind,
    AlertLevel,
    AlertStatus,
    Channel,
)
from .words import ReasonLine, alert_reasons, deadline_words, duration_words, late_log_lines

QUEUE_PAGE_SIZE = 25
# How many newly raised red alerts the banner names; more are counted.
BANNER_NAMES = 3


def sees_several_teams(user) -> bool:
    return role_of(user) == Role.ADMIN or len(team_ids_for(user)) > 1


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts of the user's care teams (the team an alert was raised for); admin: all."""
    return selectors.alerts_visible_to(user)


# Filter values of "status": the default shows what still needs someone.
STATUS_ACTIVE = "active"
STATUS_ALL = "all"
STATUS_FILTERS = {
    STATUS_ACTIVE: (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
    AlertStatus.OPEN.value: (AlertStatus.OPEN,),
    AlertStatus.ACKNOWLEDGED.value: (AlertStatus.ACKNOWLEDGED,),
    AlertStatus.RESOLVED.value: (AlertStatus.RESOLVED,),
    STATUS_ALL: (),
}


@dataclass(frozen=True)
class QueueFilters:
    team_id: int | None = None
    level: str = ""
    kind: str = ""
    status: str = STATUS_ACTIVE
    search: str = ""
    # "unreachable": only patients no reminder has reached for 48 hours (adherence.md).
    reminders: str = ""


def _search_filter(search: str, prefix: str = "patient__") -> Q:
    """Every word must match the given name, family name or NHS number (spaces in an NHS
    number are ignored: nurses read it out as 3-3-4)."""
    condition = Q()
    compact = search.replace(" ", "").replace("-", "")
    if compact.isdigit():
        return Q(**{f"{prefix}nhs_number__contains": compact})
    for word in search.split():
        condition &= (
            Q(**{f"{prefix}given_name__icontains": word})
            | Q(**{f"{prefix}family_name__icontains": word})
            | Q(**{f"{prefix}nhs_number__contains": word})
        )
    return condition


def alert_queue(user, filters: QueueFilters) -> QuerySet[Alert]:
    """The queue (notifications.selectors.alert_queue_for: red, amber, green, oldest first
    within a level, with its joins), narrowed by team and a name or NHS number search."""
    statuses = STATUS_FILTERS.get(filters.status, STATUS_FILTERS[STATUS_ACTIVE])
    qs = selectors.alert_queue_for(
        user,
        status=list(statuses) if statuses else list(AlertStatus.values),
        level=filters.level or None,
        kind=filters.kind or None,
    )
    if filters.team_id:
        qs = qs.filter(care_team_id=filters.team_id)
    if filters.search.strip():
        qs = qs.filter(_search_filter(filters.search.strip()))
    if filters.reminders == "unreachable":
        qs = qs.filter(
            patient__reminders_enabled=True,
            patient__reminders_failing_since__lte=timezone.now() - REMINDERS_UNREACHABLE_AFTER,
        )
    return qs


# Statuses for which the queue shows one row per patient (what still needs someone).
GROUPED_STATUSES = (STATUS_ACTIVE, AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)


def grouped_by_patient(alerts: QuerySet[Alert], filters: QueueFilters) -> QuerySet[Alert]:
    """The queue with one alert per patient, their most urgent (red first, then oldest), in
    queue order; `alerts` itself when listing resolved or all alerts (history, not work)."""
    if filters.status not in GROUPED_STATUSES:
        return alerts
    return alerts.annotate(
        patient_rank=Window(
            RowNumber(),
            partition_by=[F("patient_id")],
            order_by=[selectors.LEVEL_ORDER.asc(), F("created_at").asc(), F("pk").asc()],
        )
    ).filter(patient_rank=1)


def attach_other_alerts(rows: list[QueueRow], alerts: QuerySet[Alert]) -> None:
    """row.others: the rest of each row's patient's alerts in the filtered queue: one query
    for the page."""
    if not rows:
        return
    shown = {row.alert.pk for row in rows}
    by_patient: dict[int, list[Alert]] = defaultdict(list)
    others = (
        alerts.select_related(None)
        .filter(patient_id__in={row.alert.patient_id for row in rows})
        .exclude(pk__in=shown)
        .only("pk", "patient_id", "kind", "level", "status", "created_at", "summary")
    )
    for alert in others:
        by_patient[alert.patient_id].append(alert)
    for row in rows:
        row.others = by_patient.get(row.alert.patient_id, [])


def queue_counts(alerts: QuerySet[Alert], now: datetime) -> dict[str, Any]:
    """How many of the filtered queue are at each level (red first) and how many are
    overdue (open past their deadline): one query."""
    totals = alerts.order_by().aggregate(
        red=Count("id", filter=Q(level=AlertLevel.RED)),
        amber=Count("id", filter=Q(level=AlertLevel.AMBER)),
        green=Count("id", filter=Q(level=AlertLevel.GREEN)),
        overdue=Count("id", filter=Q(status=AlertStatus.OPEN, due_by__lte=now)),
    )
    return {
        "levels": [(level, totals[level]) for level in LEVEL_RANKED if totals[level]],
        "overdue": totals["overdue"],
    }


LEVEL_RANKED = (AlertLevel.RED, AlertLevel.AMBER, AlertLevel.GREEN)


def latest_red_alert_id(user) -> int:
    """The newest red alert the user can see: the live queue announces any newer one."""
    return alerts_visible_to(user).filter(level=AlertLevel.RED).aggregate(m=Max("id"))["m"] or 0


def new_red_alerts(user, after_id: int, limit: int = 50) -> list[Alert]:
    """Open red alerts raised since the page was opened (id above `after_id`), oldest
    first; an alert leaves this list once someone acknowledges it."""
    return list(
        alerts_visible_to(user)
        .filter(level=AlertLevel.RED, status=AlertStatus.OPEN, id__gt=after_id)
        .select_related("patient", "symptom_report")
        .order_by("id")[:limit]
    )


def failing_channels(user) -> list[Channel]:
    """Delivery channels of the user's teams that keep failing: alerts may not be reaching
    the on-call phone or inbox, so the queue says so (notifications.selectors)."""
    return list(selectors.failing_channels_for(user))


@dataclass
class QueueRow:
    alert: Alert
    reasons: list[ReasonLine]
    age: str
    due_text: str
    overdue: bool
    reminders_unreachable: bool = False
    # The patient's other alerts in the same (filtered) queue, most urgent first.
    others: list[Alert] = field(default_factory=list)

    @property
    def level_label(self) -> str:
        return self.alert.get_level_display()

    @property
    def late_lines(self) -> list[str]:
        return late_log_lines(self.alert)


def queue_rows(alerts: Iterable[Alert], rules: Mapping[str, Any], now: datetime) -> list[QueueRow]:
    rows = []
    for alert in alerts:
        due_text, overdue = deadline_words(alert, now)
        rows.append(
            QueueRow(
                alert=alert,
                reasons=alert_reasons(alert, rules),
                age=duration_words(now - alert.created_at),
                due_text=due_text,
                overdue=overdue,
                reminders_unreachable=alert.patient.reminders_unreachable(now),
            )
        )
    return rows


def kind_choices() -> list[tuple[str, str]]:
    return list(AlertKind.choices)


def level_choices() -> list[tuple[str, str]]:
    return [(AlertLevel.RED, "Red"), (AlertLevel.AMBER, "Amber"), (AlertLevel.GREEN, "Green")]
