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
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from medications.models import DoseState
from patients.models import Patient

from .. import reminder_channels
from ..models import Delivery, DeliveryAttempt, DeliveryStatus

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
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                finished_at=claimed_at, ok=False, error=reason, route=delivery.route
            )
            _mine(delivery, claimed_at).update(
                status=DeliveryStatus.CANCELLED, last_error=reason, route=delivery.route
            )
        return "cancelled"
    started = time.monotonic()
    result = reminder_channels.send(delivery, claimed_at)
    finished = claimed_at + timedelta(seconds=time.monotonic() - started)
    with transaction.atomic():
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
