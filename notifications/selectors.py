"""Reads for alerts and channels, always scoped to what the asking user may see.

For the nurse dashboard and the API: admin sees every team's alerts, a nurse their own
care teams', anyone else nothing. Querysets carry their joins so a page of alerts costs a
fixed number of queries.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from patients.selectors import get_or_404, visible_to

from .models import (
    Alert,
    AlertEvent,
    AlertLevel,
    AlertStatus,
    Channel,
    Delivery,
)

LEVEL_ORDER = Case(
    When(level=AlertLevel.RED, then=Value(0)),
    When(level=AlertLevel.AMBER, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts of the user's care teams (the team an alert was raised for); admin: all;
    patients: none."""
    return visible_to(user, Alert.objects.all(), patient_path=None, team_path="care_team_id")


def with_overdue(qs: QuerySet[Alert], now: datetime | None = None) -> QuerySet[Alert]:
    """Annotate `overdue`: open (not acknowledged) and past its deadline. Computed, never
    stored (it changes with the clock)."""
    now = now or timezone.now()
    return qs.annotate(
        overdue=Case(
            When(status=AlertStatus.OPEN, due_by__lte=now, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def alert_queue_for(
    user,
    *,
    status: str | list[str] | None = None,
    level: str | None = None,
    kind: str | None = None,
    patient_id: int | None = None,
    overdue: bool | None = None,
    now: datetime | None = None,
) -> QuerySet[Alert]:
    """The advice-line queue: red first, then amber, then green; oldest first within a
    level. `status` defaults to everything not resolved (open and acknowledged)."""
    qs = alerts_visible_to(user)
    if status is None:
        qs = qs.exclude(status=AlertStatus.RESOLVED)
    elif isinstance(status, str):
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=status)
    if level:
        qs = qs.filter(level=level)
    if kind:
        qs = qs.filter(kind=kind)
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    qs = with_overdue(qs, now)
    if overdue is not None:
        qs = qs.filter(overdue=overdue)
    return (
        qs.select_related(
            "patient",
            "care_team",
            "prescription__drug",
            "symptom_report",
            "appointment",
            "acknowledged_by",
            "resolved_by",
        )
        .annotate(level_order=LEVEL_ORDER)
        .order_by("level_order", "created_at", "pk")
    )


def alert_for(user, alert_id, *, now: datetime | None = None) -> Alert:
    """One alert the user may see, with its history and deliveries; 404 otherwise (never
    403: that would confirm the alert exists)."""
    qs = with_overdue(alerts_visible_to(user), now).select_related(
        "patient",
        "care_team",
        "prescription__drug",
        "symptom_report",
        "appointment",
        "acknowledged_by",
        "resolved_by",
    )
    qs = qs.prefetch_related(
        Prefetch(
            "events", queryset=AlertEvent.objects.select_related("actor").order_by("at", "pk")
        ),
        Prefetch(
            "deliveries",
            queryset=Delivery.objects.select_related("channel").order_by("created_at", "pk"),
        ),
    )
    return get_or_404(qs, alert_id, "alert")


def channels_visible_to(user) -> QuerySet[Channel]:
    return visible_to(
        user,
        Channel.objects.select_related("care_team"),
        patient_path=None,
        team_path="care_team_id",
    )


def failing_channels_for(user) -> QuerySet[Channel]:
    """Channels of the user's teams that keep failing (Channel.FAILING_AFTER consecutive
    failures) or have gone quiet after giving up: shown on the dashboard, never hidden."""
    return (
        channels_visible_to(user)
        .filter(is_active=True, consecutive_failures__gte=Channel.FAILING_AFTER)
        .order_by("care_team__name", "name")
    )


def open_alert_counts_for(user, *, now: datetime | None = None) -> dict:
    """Counts for the dashboard header: unresolved alerts by level, and overdue ones."""
    now = now or timezone.now()
    return (
        alerts_visible_to(user)
        .exclude(status=AlertStatus.RESOLVED)
        .aggregate(
            red=Count("pk", filter=Q(level=AlertLevel.RED)),
            amber=Count("pk", filter=Q(level=AlertLevel.AMBER)),
            green=Count("pk", filter=Q(level=AlertLevel.GREEN)),
            overdue=Count("pk", filter=Q(status=AlertStatus.OPEN, due_by__lte=now)),
        )
    )
