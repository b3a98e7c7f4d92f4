"""The delivery outbox (docs/alerts.md): a Delivery row is written with its alert in one
transaction; after commit a task claims it, sends it through its channel and records the
attempt (at-least-once); a sweep retries failures with back-off and reclaims deliveries
whose sender died. This module owns its two tasks."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F

from core import bulk
from core.queue import enqueue_on_commit
from patients.models import CareTeam

from .. import channels, rules
from ..models import (
    Alert,
    AlertEventKind,
    AlertLevel,
    Channel,
    ChannelKind,
    ChannelPurpose,
    Delivery,
    DeliveryAttempt,
    DeliveryPurpose,
    DeliveryStatus,
)
from . import reminder_outbox
from .common import SWEEP_BATCH, _event, _now

logger = logging.getLogger(__name__)

# Deliveries the delivery sweep sends itself per run, and for how long (under the task's
# soft time limit of 60 s); the rest wait for the next run.
DELIVERY_SWEEP_LIMIT = 500
DELIVERY_SWEEP_BUDGET_SECONDS = 40.0
# A delivery claimed ("sending") longer than this lost its sender (worker killed, machine
# restarted): it goes back to pending. Well above the webhook and SMTP timeouts (10 s).
DELIVERY_STUCK_AFTER = timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
# Up to this many new deliveries get one task each after commit; more are sent by tasks of
# SEND_CHUNK deliveries each (a missed-dose sweep over 10,000 patients must not publish 10,000
# messages inside the request that committed them). Chunks rather than one delivery sweep:
# every worker process takes a share at once, where one sweep sent them all in one process,
# at most DELIVERY_SWEEP_LIMIT per beat tick (bench 8: 2,000 reminders due at 08:00 left in
# steps of 500 every 30 s while the other worker process sat idle).
ENQUEUE_EACH_UP_TO = 50
SEND_CHUNK = 100
# A chunk stops sending after this long (under the task's soft time limit of 60 s, even if
# every channel answers slowly); what it left is pending, for the delivery sweep.
SEND_CHUNK_BUDGET_SECONDS = 40.0
# Fallback channel for a team with no channel at all (CareTeam.advice_line_email).
FALLBACK_CHANNEL_NAME = "Advice line e-mail (automatic)"


def _fallback_channels(team_ids: Iterable[int]) -> list[Channel]:
    """A team with no channel at all gets one: e-mail to its advice-line address
    (CareTeam.advice_line_email: "Where alert e-mails go when no channel is configured").
    Shown in the admin like any other channel, so it can be changed or switched off."""
    teams = CareTeam.objects.filter(pk__in=list(team_ids)).exclude(advice_line_email="")
    new = [
        Channel(
            name=FALLBACK_CHANNEL_NAME,
            care_team_id=team.pk,
            kind=ChannelKind.EMAIL,
            purpose=ChannelPurpose.BOTH,
            target=team.advice_line_email,
            min_level=AlertLevel.AMBER,
        )
        for team in teams
    ]
    return Channel.objects.bulk_create(new) if new else []


def _channels_by_team(team_ids: set[int], purpose: str) -> dict[int, list[Channel]]:
    wanted = (
        (ChannelPurpose.ALERTS, ChannelPurpose.BOTH)
        if purpose == DeliveryPurpose.ALERT
        else (ChannelPurpose.ESCALATION, ChannelPurpose.BOTH)
    )
    found = list(Channel.objects.filter(care_team_id__in=list(team_ids)))
    without = team_ids - {channel.care_team_id for channel in found}
    if without:
        found += _fallback_channels(without)
    by_team: dict[int, list[Channel]] = defaultdict(list)
    for channel in found:
        if channel.is_active and channel.purpose in wanted:
            by_team[channel.care_team_id].append(channel)
    return by_team


def _deliveries_create(
    alerts: Sequence[Alert], *, purpose: str, now: datetime, renotify: Iterable[int] = ()
) -> int:
    """Outbox rows, one per (alert, channel, purpose), in the caller's transaction; their
    sending is enqueued for after commit (and the delivery sweep sends whatever that
    missed). A channel only gets alerts at or above its minimum level.

    `renotify`: ids of alerts that may already have rows (a level rise, a second
    escalation): channels told at the lower level are told again through the same outbox
    row (its attempt log keeps every send)."""
    if not alerts:
        return 0
    by_team = _channels_by_team({alert.care_team_id for alert in alerts}, purpose)
    rows = [
        {
            "alert_id": alert.pk,
            "channel_id": channel.pk,
            "purpose": purpose,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for alert in alerts
        for channel in by_team.get(alert.care_team_id, [])
        if rules.level_at_least(alert.level, channel.min_level)
    ]
    if not rows:
        return 0
    again: list[int] = []
    renotify = list(renotify)
    if renotify:
        again = list(
            Delivery.objects.filter(
                alert_id__in=renotify,
                purpose=purpose,
                status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED],
                channel__is_active=True,
            ).values_list("pk", flat=True)
        )
        if again:
            Delivery.objects.filter(pk__in=again).update(
                status=DeliveryStatus.PENDING, next_attempt_at=now, attempts=0, sent_at=None
            )
    # ON CONFLICT: a channel that already has this alert's row keeps it (see renotify).
    new = [
        pk
        for (pk,) in bulk.insert_rows(
            Delivery,
            rows,
            on_conflict="ON CONFLICT (alert_id, channel_id, purpose) "
            "WHERE alert_id IS NOT NULL DO NOTHING",
            returning=("id",),
        )
    ]
    ids = set(new) | set(again)
    _enqueue_new_deliveries(ids)
    return len(ids)


def _enqueue_new_deliveries(ids: Iterable[int]) -> None:
    """After commit: one task per delivery for a few, tasks of SEND_CHUNK for many."""
    ids = sorted(ids)
    if len(ids) <= ENQUEUE_EACH_UP_TO:
        for delivery_id in ids:
            enqueue_on_commit(send_delivery, delivery_id)
        return
    for start in range(0, len(ids), SEND_CHUNK):
        enqueue_on_commit(send_deliveries, ids[start : start + SEND_CHUNK])


def _enqueue_deliveries(ids: Iterable[int]) -> None:
    for delivery_id in ids:
        enqueue_on_commit(send_delivery, delivery_id)


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Claim, send, record: at-least-once delivery of one outbox row.

    Claim is a conditional update (pending and due -> sending, attempts + 1) committed before
    sending, so a second worker or the sweep cannot send it at the same time; the attempt row
    is written with the claim, so a sender killed mid-send leaves an unfinished attempt that
    the sweep closes when it reclaims the delivery. Returns what happened."""
    now = _now(now)
    with transaction.atomic():
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if claimed != 1:
            return "not due"
        attempt = DeliveryAttempt.objects.create(delivery_id=delivery_id, started_at=now)
    delivery = Delivery.objects.select_related(
        "channel__care_team", "alert", "patient__user", "expected_dose"
    ).get(pk=delivery_id)
    if delivery.purpose == DeliveryPurpose.REMINDER:
        outcome = reminder_outbox.reminder_send(delivery, attempt, claimed_at=now)
        if outcome == "fell back":
            _enqueue_deliveries([delivery_id])
        return outcome
    started = time.monotonic()
    result = channels.send(delivery)
    finished = now + timedelta(seconds=time.monotonic() - started)
    return _delivery_record(delivery, attempt, result, claimed_at=now, finished=finished)


def _delivery_record(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    result: channels.SendResult,
    *,
    claimed_at: datetime,
    finished: datetime,
) -> str:
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=finished, ok=result.ok, status_code=result.status_code, error=result.error
        )
        if result.ok:
            # Success stands even if the sweep reclaimed this meanwhile: marking it sent
            # spares the receiver one duplicate.
            done = (
                Delivery.objects.filter(pk=delivery.pk)
                .exclude(status=DeliveryStatus.SENT)
                .update(status=DeliveryStatus.SENT, sent_at=finished, last_error="")
            )
            Channel.objects.filter(pk=delivery.channel_id).update(
                consecutive_failures=0, last_success_at=finished
            )
            if done and delivery.alert_id:
                _event(
                    delivery.alert_id,
                    AlertEventKind.DELIVERED,
                    finished,
                    delivery_id=delivery.pk,
                    channel_id=delivery.channel_id,
                    channel_kind=delivery.channel.kind,
                    purpose=delivery.purpose,
                    attempts=delivery.attempts,
                )
            return "sent"
        mine = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at
        )
        Channel.objects.filter(pk=delivery.channel_id).update(
            consecutive_failures=F("consecutive_failures") + 1,
            last_failure_at=finished,
            last_error=result.error,
        )
        if rules.gives_up(delivery.attempts):
            gave_up = mine.update(status=DeliveryStatus.FAILED, last_error=result.error)
            if gave_up and delivery.alert_id:
                _event(
                    delivery.alert_id,
                    AlertEventKind.DELIVERY_FAILED,
                    finished,
                    delivery_id=delivery.pk,
                    channel_id=delivery.channel_id,
                    attempts=delivery.attempts,
                    error=result.error,
                )
            return "failed"
        mine.update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=finished + rules.retry_delay(delivery.attempts),
            last_error=result.error,
        )
        logger.info(
            "delivery %s via channel %s failed (attempt %s): %s",
            delivery.pk,
            delivery.channel_id,
            delivery.attempts,
            result.error,
        )
        return "retrying"


def _reclaim_stuck(now: datetime) -> int:
    """Deliveries whose sender died mid-send (worker killed) go back to pending."""
    cutoff = now - DELIVERY_STUCK_AFTER
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff)
    ids = list(stuck.values_list("pk", flat=True)[:SWEEP_BATCH])
    if not ids:
        return 0
    with transaction.atomic():
        DeliveryAttempt.objects.filter(delivery_id__in=ids, finished_at__isnull=True).update(
            finished_at=now, ok=False, error="no result recorded: the sender stopped mid-send"
        )
        note = "the sender stopped mid-send; reclaimed"
        base = Delivery.objects.filter(
            pk__in=ids, status=DeliveryStatus.SENDING, claimed_at__lt=cutoff
        )
        failed = base.filter(attempts__gte=rules.MAX_DELIVERY_ATTEMPTS).update(
            status=DeliveryStatus.FAILED, last_error=note
        )
        reclaimed = base.update(status=DeliveryStatus.PENDING, next_attempt_at=now, last_error=note)
    return reclaimed + failed


def deliveries_sweep(
    *,
    now: datetime | None = None,
    limit: int = DELIVERY_SWEEP_LIMIT,
    budget_seconds: float = DELIVERY_SWEEP_BUDGET_SECONDS,
) -> dict:
    """Reclaim deliveries stuck in "sending", then send due pending ones here, in this
    process (so `manage.py sweep` delivers even when the broker is down)."""
    now = _now(now)
    reclaimed = _reclaim_stuck(now)
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcome: Counter = Counter()
    started = time.monotonic()
    for delivery_id in due:
        if time.monotonic() - started > budget_seconds:
            outcome["left_for_next_run"] += 1
            continue
        outcome[delivery_send(delivery_id=delivery_id, now=now)] += 1
    return {
        "reclaimed": reclaimed,
        "sent": outcome["sent"],
        "retrying": outcome["retrying"] + outcome["fell back"],
        "failed": outcome["failed"],
        "cancelled": outcome["cancelled"],
        "left_for_next_run": outcome["left_for_next_run"],
    }


@transaction.atomic
def _test_delivery(channel: Channel, now: datetime) -> Delivery:
    return Delivery.objects.create(
        alert=None,
        channel=channel,
        purpose=DeliveryPurpose.TEST,
        next_attempt_at=now,
        created_at=now,
    )


def channel_send_test(*, channel: Channel, now: datetime | None = None) -> Delivery:
    """Send a test message through a channel now (admin action); recorded like any delivery."""
    now = _now(now)
    delivery = _test_delivery(channel, now)
    delivery_send(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    return delivery


@shared_task(name="notifications.tasks.send_delivery")
def send_delivery(delivery_id: int) -> dict:
    """Claim, send and record one outbox row (a second call finds it claimed or sent)."""
    return {"delivery": delivery_id, "result": delivery_send(delivery_id=delivery_id)}


def deliveries_send(*, delivery_ids: list[int], budget_seconds: float = SEND_CHUNK_BUDGET_SECONDS):
    """Send these deliveries, one after another (each claim is conditional: a delivery
    another process sent or claimed is skipped). Stops after `budget_seconds`; the rest stay
    pending for the delivery sweep."""
    outcome: Counter = Counter()
    started = time.monotonic()
    ids = list(delivery_ids)
    for start in range(0, len(ids), reminder_outbox.GROUP):
        if time.monotonic() - started > budget_seconds:
            outcome["left_for_next_run"] += len(ids) - start
            break
        group = ids[start : start + reminder_outbox.GROUP]
        # Reminders (the 08:00 peak) a group at a time, in a few statements; then whatever
        # that left (alerts, tests, a reminder that must go on its next channel) one by one.
        done = reminder_outbox.reminders_send(group, deadline=started + budget_seconds)
        for delivery_id in group:
            result = done.get(delivery_id)
            if result is None and time.monotonic() - started > budget_seconds:
                result = "left_for_next_run"
            elif result in (None, "fell back"):
                result = _send_on(delivery_id, result)
            outcome[result] += 1
    return dict(outcome)


def _send_on(delivery_id: int, result: str | None = None) -> str:
    """One delivery (unless the group already sent it), following a reminder's fall-back
    channels while the next is due now: push -> SMS -> e-mail."""
    if result is None:
        result = delivery_send(delivery_id=delivery_id)
    for _ in range(2):
        if result != "fell back":
            break
        result = delivery_send(delivery_id=delivery_id)
    return result


@shared_task(name="notifications.tasks.send_deliveries")
def send_deliveries(delivery_ids: list[int]) -> dict:
    """Claim, send and record a chunk of outbox rows (safe to run twice)."""
    return deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="notifications.tasks.sweep_deliveries")
def sweep_deliveries() -> dict:
    return deliveries_sweep()
