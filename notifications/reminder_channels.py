"""How a reminder reaches a patient: the patient's own channels, in order (adherence.md,
"Dose reminders": web push to the installed web app, then SMS, then e-mail).

This module sends one attempt on one channel and says how it went; which channel comes next
and what is recorded is the outbox's business (services/outbox.py). PRIVACY: a reminder says
only what time it is for ("It's time for your 08:00 medicine"): no drug, no condition, no
name; a lock screen and an SMS inbox are public.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from patients.models import Patient, PushSubscription, ReminderChannel, reminder_channels

from . import push, sms, taken_links
from .models import Delivery

logger = logging.getLogger(__name__)

ORDER = (ReminderChannel.PUSH, ReminderChannel.SMS, ReminderChannel.EMAIL)
EMAIL_SUBJECT = "Medicine reminder"
OPEN_PATH = "/me/"
# How long a push service keeps a reminder for a phone that is off: until the next repeat.
PUSH_TTL = timedelta(minutes=30)
ERROR_LIMIT = 500


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


def routes_for(patient: Patient) -> list[str]:
    """The channels that can carry a reminder to this patient now, in order."""
    return reminder_channels(patient)


def next_route(patient: Patient, after: str) -> str:
    """The first channel after `after` in the chain that can carry a reminder now ("" when
    none is left). A push subscription deleted by a 404/410 is no longer counted."""
    later = ORDER[ORDER.index(after) + 1 :] if after in ORDER else ORDER
    available = set(routes_for(patient))
    return next((route.value for route in later if route.value in available), "")


def open_url(message: dict) -> str:
    return settings.SITE_URL + (message.get("open_path") or OPEN_PATH)


def text_for(message: dict) -> str:
    """SMS and e-mail: the same words as the notification, and where to record it."""
    words = " ".join(part for part in (message.get("title", ""), message.get("body", "")) if part)
    words = words.rstrip(".")
    return f"{words}. You can record it in the tracker: {open_url(message)}"


def push_payload(delivery: Delivery) -> dict:
    """The push message (API.md, "push payload"): the words, a tag that makes a repeat replace
    the earlier notification on the device, the two actions and their URLs. "Taken" is
    offered only for a reminder of exactly one dose (one link logs one dose)."""
    message = delivery.message
    payload = {
        "title": message.get("title", ""),
        "body": message.get("body", ""),
        "tag": message.get("tag") or f"reminder-{delivery.pk}",
        "actions": [{"action": "open", "title": "Open"}],
        "taken_url": None,
        "open_url": open_url(message),
    }
    dose_ids = message.get("dose_ids") or []
    dose = delivery.expected_dose
    if len(dose_ids) == 1 and dose is not None and dose.pk == dose_ids[0]:
        # Valid until the dose's late window closes (adherence.md), not just while the
        # reminder itself is fresh.
        payload["actions"].insert(0, {"action": "taken", "title": "Taken"})
        payload["taken_url"] = taken_links.taken_url(
            dose_id=dose.pk, delivery_id=delivery.pk, expires_at=dose.late_until
        )
    return payload


def _short(text: str) -> str:
    return text[:ERROR_LIMIT]


def _send_push(
    delivery: Delivery,
    now: datetime,
    subscriptions: list[PushSubscription] | None = None,
    accepted_by: list[int] | None = None,
) -> SendResult:
    if subscriptions is None:
        subscriptions = list(PushSubscription.objects.filter(patient_id=delivery.patient_id))
    if not subscriptions:
        return SendResult(False, None, "no device is subscribed to notifications")
    payload = push_payload(delivery)
    ttl = PUSH_TTL
    if delivery.expires_at is not None:
        ttl = min(ttl, max(delivery.expires_at - now, timedelta(0)))
    results = []
    for subscription in subscriptions:
        result = push.send_push(
            subscription.subscription_info(),
            payload,
            ttl=int(ttl.total_seconds()),
            topic=payload["tag"][:32],
        )
        results.append(result)
        if result.ok and accepted_by is not None:
            accepted_by.append(subscription.pk)  # the caller notes these in one statement
        else:
            _note_subscription(subscription, result)
    accepted = [r for r in results if r.ok]
    if accepted:
        return SendResult(True, accepted[0].status_code)
    gone = sum(1 for r in results if r.gone)
    errors = "; ".join(sorted({r.error for r in results if r.error}))
    summary = f"{len(results)} device(s): none accepted"
    if gone:
        summary += f", {gone} gone (subscription removed)"
    return SendResult(False, results[-1].status_code, _short(f"{summary}: {errors}"))


def _note_subscription(subscription: PushSubscription, result: push.PushResult) -> None:
    now = timezone.now()
    rows = PushSubscription.objects.filter(pk=subscription.pk)
    if result.ok:
        rows.update(last_success_at=now, consecutive_failures=0)
    elif result.gone:
        # RFC 8030 8.2.1: the subscription has expired or been removed; it will never work.
        rows.delete()
        logger.info(
            "push subscription %s of patient %s removed (HTTP %s)",
            subscription.pk,
            subscription.patient_id,
            result.status_code,
        )
    else:
        rows.update(last_failure_at=now, consecutive_failures=F("consecutive_failures") + 1)


def _send_sms(delivery: Delivery, now: datetime) -> SendResult:
    number = delivery.patient.mobile_phone.strip()
    if not number:
        return SendResult(False, None, "no mobile number recorded")
    try:
        sms.send_sms(to=number, body=text_for(delivery.message))
    except Exception as exc:  # noqa: BLE001 - any gateway failure is a failed attempt
        return SendResult(False, None, _short(f"{exc.__class__.__name__}: {exc}"))
    return SendResult(True)


def _send_email(delivery: Delivery, now: datetime) -> SendResult:
    address = delivery.patient.user.email
    if not address:
        return SendResult(False, None, "no e-mail address recorded")
    message = EmailMessage(
        subject=EMAIL_SUBJECT,
        body=text_for(delivery.message)
        + "\n\nYou get this because medicine reminders are on. You can change this on the "
        "Account page of the tracker.\n",
        to=[address],
    )
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any mail failure is a failed attempt
        return SendResult(False, None, _short(f"{exc.__class__.__name__}: {exc}"))
    return SendResult(True)


SENDERS = {
    ReminderChannel.PUSH.value: _send_push,
    ReminderChannel.SMS.value: _send_sms,
    ReminderChannel.EMAIL.value: _send_email,
}


def send(
    delivery: Delivery,
    now: datetime,
    *,
    subscriptions: list[PushSubscription] | None = None,
    accepted_by: list[int] | None = None,
) -> SendResult:
    """One attempt on the delivery's current channel (`route`). Never raises. A caller
    sending many may pass the patient's push subscriptions (loaded for all at once) and a
    list that collects the subscriptions that accepted, to note them in one statement."""
    sender = SENDERS.get(delivery.route)
    if sender is None:
        return SendResult(
            False, None, "no way to reach the patient: no device, mobile number or e-mail address"
        )
    try:
        if sender is _send_push:
            return _send_push(delivery, now, subscriptions, accepted_by)
        return sender(delivery, now)
    except Exception as exc:  # noqa: BLE001 - a bug in a transport must not lose the reminder
        return SendResult(False, None, _short(f"{exc.__class__.__name__}: {exc}"))
