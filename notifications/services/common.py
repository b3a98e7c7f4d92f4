"""Small pieces the alert services share: the clock, claiming rows for a sweep batch, and
alert history rows (events), which the outbox writes too."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import QuerySet
from django.utils import timezone

from core import bulk

from ..models import (
    AlertEvent,
)

# Rows one sweep transaction handles. A batch costs a fixed number of queries (about 15 for
# missed doses), so 10,000 patients are a few batches, not 10,000 round trips.
SWEEP_BATCH = 5000


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _event_row(alert_id: int, kind: str, at: datetime, data: dict, actor_id=None) -> dict:
    return {"alert_id": alert_id, "at": at, "actor_id": actor_id, "kind": kind, "data": data}


def _insert_events(rows: list[dict]) -> None:
    if not rows:
        return
    bulk.insert_rows(AlertEvent, rows)


def _event(alert_id: int, kind: str, now: datetime, actor=None, **data) -> AlertEvent:
    return AlertEvent.objects.create(alert_id=alert_id, at=now, kind=kind, actor=actor, data=data)


def _claim_ids(queryset: QuerySet, limit: int) -> list[int]:
    """Lock up to `limit` rows (skipping rows another process holds) and return their ids.
    PostgreSQL: two concurrent sweeps take disjoint rows; a dose being logged (its row is
    locked by dose_log) is skipped. SQLite serialises writers, so the lock is not needed."""
    return list(
        queryset.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
            :limit
        ]
    )
