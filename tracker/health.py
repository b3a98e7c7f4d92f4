"""Readiness (GET /readyz/, docs/alerts.md "When a part is down") and the nurse dashboard's
"background jobs are down" banner.

/healthz/ says the process answers; /readyz/ says whether alerts flow as designed: the
database answers, the broker accepts a connection, a worker ran the heartbeat job in the
last 3 minutes, beat published it in the last 3 minutes, and no alert delivery has waited
more than 5 minutes past its time. Any of those failing answers 503 naming it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_MAX_AGE = timedelta(minutes=3)
OUTBOX_MAX_DELAY = timedelta(minutes=5)


def _stamp(name: str, at: datetime | None) -> None:
    from .models import Heartbeat

    try:
        Heartbeat.objects.update_or_create(name=name, defaults={"at": at or timezone.now()})
    except DatabaseError:
        logger.warning("heartbeat %s not recorded: database unavailable", name)


def worker_ran(at: datetime | None = None) -> None:
    from .models import Heartbeat

    _stamp(Heartbeat.WORKER, at)


def beat_published(at: datetime | None = None) -> None:
    from .models import Heartbeat

    _stamp(Heartbeat.BEAT, at)


def heartbeat_ages(now: datetime | None = None) -> dict[str, int | None]:
    """Seconds since the worker and beat heartbeats (None: never seen). One query."""
    from .models import Heartbeat

    now = now or timezone.now()
    stamps = dict(Heartbeat.objects.values_list("name", "at"))
    return {
        name: (None if name not in stamps else max(0, int((now - stamps[name]).total_seconds())))
        for name in (Heartbeat.WORKER, Heartbeat.BEAT)
    }


def background_problems(now: datetime | None = None) -> list[str]:
    """What the nurse banner says is down: "worker" and/or "beat"."""
    try:
        ages = heartbeat_ages(now)
    except DatabaseError:
        return []
    limit = HEARTBEAT_MAX_AGE.total_seconds()
    return [name for name, age in ages.items() if age is None or age > limit]


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _broker_ok() -> bool:
    from celery import current_app as app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        return True
    except Exception:  # noqa: BLE001 - any failure to reach the broker is "not ready"
        return False


def _oldest_pending_delivery_s(now: datetime) -> int:
    from notifications.models import Delivery, DeliveryStatus

    oldest = (
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return 0 if oldest is None else max(0, int((now - oldest).total_seconds()))


def readiness(now: datetime | None = None) -> tuple[bool, dict]:
    now = now or timezone.now()
    body: dict = {
        "database": "ok" if _database_ok() else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
        "worker_heartbeat_age_s": None,
        "beat_lag_s": None,
        "outbox_oldest_pending_s": None,
    }
    failing = [name for name in ("database", "broker") if body[name] != "ok"]
    if body["database"] == "ok":
        try:
            ages = heartbeat_ages(now)
            body["worker_heartbeat_age_s"] = ages["worker"]
            body["beat_lag_s"] = ages["beat"]
            body["outbox_oldest_pending_s"] = _oldest_pending_delivery_s(now)
        except DatabaseError:
            failing.append("database")
            body["database"] = "unavailable"
    limit = HEARTBEAT_MAX_AGE.total_seconds()
    if body["database"] == "ok":
        for key in ("worker_heartbeat_age_s", "beat_lag_s"):
            if body[key] is None or body[key] > limit:
                failing.append(key)
        if body["outbox_oldest_pending_s"] > OUTBOX_MAX_DELAY.total_seconds():
            failing.append("outbox_oldest_pending_s")
    body["status"] = "ok" if not failing else "unavailable"
    body["failing"] = failing
    if failing:
        body["detail"] = "Not ready: " + ", ".join(failing) + "."
    return not failing, body
