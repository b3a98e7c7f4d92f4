"""Sending one reminder row of the outbox (purpose "reminder"): the patient's channels in
order, the next one tried at once when one fails, every attempt recorded, and the patient's
reach kept current (Patient.reminders_reached_at / reminders_failing_since, which the
patient's and the nurse's pages read without importing this app).

Called by outbox.delivery_send after it claimed the row (pending -> sending, attempt row
written): this module sends and records; the outbox enqueues the next channel's attempt.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core import bulk
from medications.models import DoseState
from patients.models import Patient, PushSubscription

from .. import reminder_channels
from ..models import Delivery, DeliveryAttempt, DeliveryPurpose, DeliveryStatus

logger = logging.getLogger(__name__)

DOSE_KIND = "dose"


def _not_needed(delivery: Delivery, now: datetime) -> str:
    """Why this reminder should not go out any more ("" if it should)."""
    if delivery.expires_at is not None and now >= delivery.expires_at:
        return "not sent: too late to be useful"
    if delivery.reminder_kind == DOSE_KIND:
        if not delivery.patient.reminders_enabled:
            return "not sent: the patient turned reminders off"
        dose = delivery.expected_dose
        if dose is None or dose.state != DoseState.PENDING:
            return "not sent: the dose was logged (or held) meanwhile"
        if now >= dose.late_until:
            return "not sent: the dose's window closed"
    return ""


def reminder_send(delivery: Delivery, attempt: DeliveryAttempt, *, claimed_at: datetime) -> str:
    """Send the claimed reminder on its current channel and record what happened. Returns
    "sent", "fell back" (the next channel is due now: the caller enqueues it), "failed" (no
    channel left) or "cancelled" (no longer needed)."""
    if not delivery.route:
        routes = reminder_channels.routes_for(delivery.patient)
        delivery.route = routes[0] if routes else ""
    reason = _not_needed(delivery, claimed_at)
    if reason:
        with transaction.atomic():
            _cancel(delivery, attempt, claimed_at=claimed_at, reason=reason)
        return "cancelled"
    started = time.monotonic()
    result = reminder_channels.send(delivery, claimed_at)
    finished = claimed_at + timedelta(seconds=time.monotonic() - started)
    with transaction.atomic():
        return _record(delivery, attempt, result, claimed_at=claimed_at, finished=finished)


def _cancel(delivery: Delivery, attempt: DeliveryAttempt, *, claimed_at: datetime, reason: str):
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        finished_at=claimed_at, ok=False, error=reason, route=delivery.route
    )
    _mine(delivery, claimed_at).update(
        status=DeliveryStatus.CANCELLED, last_error=reason, route=delivery.route
    )


def _record(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    result: reminder_channels.SendResult,
    *,
    claimed_at: datetime,
    finished: datetime,
) -> str:
    """Record one attempt's result (inside the caller's transaction)."""
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        finished_at=finished,
        ok=result.ok,
        status_code=result.status_code,
        error=result.error,
        route=delivery.route,
    )
    if result.ok:
        Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.SENT).update(
            status=DeliveryStatus.SENT, sent_at=finished, last_error="", route=delivery.route
        )
        patient_reached(patient_id=delivery.patient_id, at=finished)
        return "sent"
    following = reminder_channels.next_route(delivery.patient, delivery.route)
    if following:
        _mine(delivery, claimed_at).update(
            status=DeliveryStatus.PENDING,
            route=following,
            next_attempt_at=finished,
            last_error=result.error,
        )
        logger.info(
            "reminder %s to patient %s: %s failed, trying %s",
            delivery.pk,
            delivery.patient_id,
            delivery.route or "no channel",
            following,
        )
        return "fell back"
    _mine(delivery, claimed_at).update(
        status=DeliveryStatus.FAILED, last_error=result.error, route=delivery.route
    )
    patient_not_reached(patient_id=delivery.patient_id, since=delivery.created_at)
    logger.info(
        "reminder %s to patient %s: no channel reached them", delivery.pk, delivery.patient_id
    )
    return "failed"


# --- many at once (the 08:00 peak) ----------------------------------------------------------
# A chunk of reminder rows is claimed, sent and recorded in groups: a handful of statements
# per group instead of ~13 per reminder (bench 8). A worker killed mid-group leaves at most
# this many claimed rows for the sweep to reclaim and send again (a repeated push carries the
# same tag, so the phone replaces the notification rather than showing two).
GROUP = 20
OUT_OF_TIME = "not tried: its batch ran out of time (the delivery sweep sends it)"


def reminders_send(delivery_ids: Sequence[int], *, deadline: float) -> dict[int, str]:
    """Claim, send and record the due pending *reminder* rows among `delivery_ids` (others
    are left alone), one group at a time. Returns what happened to each row taken here:
    recorded exactly as `reminder_send` records it ("fell back": the caller sends it on its
    next channel; "left_for_next_run": not tried before `deadline`, a time.monotonic() value,
    and back to pending for the delivery sweep)."""
    done: dict[int, str] = {}
    for start in range(0, len(delivery_ids), GROUP):
        if time.monotonic() > deadline:
            break  # not claimed: the caller leaves them to the sweep
        claimed_at = timezone.now()
        group = _claim(delivery_ids[start : start + GROUP], claimed_at)
        if group:
            done.update(_send_group(group, claimed_at, deadline))
    return done


def _claim(ids: Sequence[int], claimed_at: datetime) -> dict[int, DeliveryAttempt]:
    """pending and due -> sending (attempts + 1), the rows this claim took returned by the
    same statement, and their attempt rows: one transaction, as delivery_send claims one."""
    if not ids:
        return {}
    at = connection.ops.adapt_datetimefield_value(claimed_at)
    with transaction.atomic():
        mine = bulk.update_returning(
            Delivery,
            set_sql="status = %s, claimed_at = %s, attempts = attempts + 1",
            where_sql=f"id IN ({', '.join(['%s'] * len(ids))}) AND purpose = %s"
            " AND status = %s AND next_attempt_at <= %s",
            params=[
                DeliveryStatus.SENDING.value,
                at,
                *ids,
                DeliveryPurpose.REMINDER.value,
                DeliveryStatus.PENDING.value,
                at,
            ],
            returning=["id"],
        )
        attempts = DeliveryAttempt.objects.bulk_create(
            [DeliveryAttempt(delivery_id=pk, started_at=claimed_at) for (pk,) in sorted(mine)]
        )
    return {attempt.delivery_id: attempt for attempt in attempts}


def _send_group(
    attempts: dict[int, DeliveryAttempt], claimed_at: datetime, deadline: float
) -> dict[int, str]:
    deliveries = list(
        Delivery.objects.select_related("patient__user", "expected_dose")
        .filter(pk__in=attempts)
        .order_by("pk")
    )
    subscriptions: dict[int, list[PushSubscription]] = defaultdict(list)
    for subscription in PushSubscription.objects.filter(
        patient_id__in={d.patient_id for d in deliveries}
    ):
        subscriptions[subscription.patient_id].append(subscription)
    cancelled, sent, others, accepted_by, unsent = [], [], [], [], []
    for delivery in deliveries:
        if time.monotonic() > deadline:
            unsent.append(delivery)
            continue
        delivery.patient.has_push_subscription = bool(subscriptions[delivery.patient_id])
        if not delivery.route:
            routes = reminder_channels.routes_for(delivery.patient)
            delivery.route = routes[0] if routes else ""
        reason = _not_needed(delivery, claimed_at)
        if reason:
            cancelled.append((delivery, reason))
            continue
        started = time.monotonic()
        result = reminder_channels.send(
            delivery,
            claimed_at,
            subscriptions=subscriptions[delivery.patient_id],
            accepted_by=accepted_by,
        )
        finished = claimed_at + timedelta(seconds=time.monotonic() - started)
        (sent if result.ok else others).append((delivery, result, finished))
    done: dict[int, str] = {}
    with transaction.atomic():
        for delivery, reason in cancelled:
            _cancel(delivery, attempts[delivery.pk], claimed_at=claimed_at, reason=reason)
            done[delivery.pk] = "cancelled"
        if sent:
            _record_sent(sent, attempts)
            done.update((delivery.pk, "sent") for delivery, _result, _finished in sent)
        if accepted_by:
            PushSubscription.objects.filter(pk__in=accepted_by).update(
                last_success_at=timezone.now(), consecutive_failures=0
            )
        if unsent:
            _release(unsent, attempts, claimed_at)
            done.update((delivery.pk, "left_for_next_run") for delivery in unsent)
        for delivery, result, finished in others:
            attempt = attempts[delivery.pk]
            done[delivery.pk] = _record(
                delivery, attempt, result, claimed_at=claimed_at, finished=finished
            )
    return done


def _release(unsent: list[Delivery], attempts: dict[int, DeliveryAttempt], claimed_at) -> None:
    """Claimed but not tried before the chunk's time ran out: back to pending, due now."""
    now = timezone.now()
    DeliveryAttempt.objects.filter(pk__in=[attempts[d.pk].pk for d in unsent]).update(
        finished_at=now, ok=False, error=OUT_OF_TIME
    )
    Delivery.objects.filter(
        pk__in=[d.pk for d in unsent], status=DeliveryStatus.SENDING, claimed_at=claimed_at
    ).update(status=DeliveryStatus.PENDING, next_attempt_at=now, last_error=OUT_OF_TIME)


def _record_sent(sent: list, attempts: dict[int, DeliveryAttempt]) -> None:
    """What `_record` writes for a success, for a group in four statements."""
    rows = []
    for delivery, result, finished in sent:
        attempt = attempts[delivery.pk]
        attempt.finished_at, attempt.ok = finished, True
        attempt.status_code, attempt.error, attempt.route = result.status_code, "", delivery.route
        rows.append(attempt)
        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, finished, ""
    if bulk.fast():  # PostgreSQL: one statement each (bulk_update's CASE costs ~1 ms a row)
        attempt_rows = [
            {
                "id": a.pk,
                "finished_at": a.finished_at,
                "ok": True,
                "status_code": a.status_code,
                "error": "",
                "route": a.route,
            }
            for a in rows
        ]
        delivery_rows = [
            {
                "id": d.pk,
                "status": DeliveryStatus.SENT.value,
                "sent_at": d.sent_at,
                "last_error": "",
                "route": d.route,
            }
            for d, _result, _finished in sent
        ]
        bulk.update_rows(DeliveryAttempt, attempt_rows)
        bulk.update_rows(Delivery, delivery_rows)
    else:
        DeliveryAttempt.objects.bulk_update(
            rows, ["finished_at", "ok", "status_code", "error", "route"]
        )
        # Success stands even if the sweep reclaimed one meanwhile (as in _record).
        Delivery.objects.exclude(status=DeliveryStatus.SENT).bulk_update(
            [delivery for delivery, _result, _finished in sent],
            ["status", "sent_at", "last_error", "route"],
        )
    # One statement for the group: every patient reached at the group's last finish (seconds
    # apart at most; never moved backwards).
    at = max(finished for _delivery, _result, finished in sent)
    Patient.objects.filter(pk__in={delivery.patient_id for delivery, _r, _f in sent}).filter(
        Q(reminders_reached_at__isnull=True) | Q(reminders_reached_at__lt=at)
    ).update(reminders_reached_at=at, reminders_failing_since=None)


def _mine(delivery: Delivery, claimed_at: datetime):
    return Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at
    )


def patient_reached(*, patient_id: int, at: datetime) -> None:
    """A reminder got through: the patient is reachable again (never moved backwards)."""
    Patient.objects.filter(pk=patient_id).filter(
        Q(reminders_reached_at__isnull=True) | Q(reminders_reached_at__lt=at)
    ).update(reminders_reached_at=at, reminders_failing_since=None)


def patient_not_reached(*, patient_id: int, since: datetime) -> None:
    """Every channel failed for a reminder meant for `since`: the patient has been failing
    since then, unless a reminder reached them after it (or they were failing already)."""
    Patient.objects.filter(pk=patient_id, reminders_failing_since__isnull=True).filter(
        Q(reminders_reached_at__isnull=True) | Q(reminders_reached_at__lt=since)
    ).update(reminders_failing_since=since)
