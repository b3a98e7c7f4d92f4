"""A patient's dose-reminder settings, their devices subscribed to notifications, and whether
reminders reach them: what the patient's Account page, the API and the nurse's pages show.

Reads and writes of patient data only; sending is notifications' business (it keeps
Patient.reminders_reached_at / reminders_failing_since current, read here). Clinical rules:
../shared/clinical/adherence.md, "Dose reminders".
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import (
    REMINDER_MINUTES_BEFORE_MAX,
    REMINDERS_UNREACHABLE_AFTER,
    Patient,
    PushSubscription,
    ReminderChannel,
    reminder_channels,
)

# --- reading ---------------------------------------------------------------------------------


@dataclass
class ReminderStatus:
    enabled: bool
    minutes_before: int
    channels: list[str]  # push, sms, email: those that could carry a reminder now, in order
    unreachable: bool  # no channel succeeded for 48 h (staff see "reminders unreachable")
    reached_at: datetime | None
    failing_since: datetime | None
    devices: list[PushSubscription] = field(default_factory=list)

    @property
    def reachable(self) -> bool:
        """Reminders are on, something can carry them, and they have not been failing for
        48 hours."""
        return self.enabled and bool(self.channels) and not self.unreachable

    @property
    def channel_labels(self) -> list[str]:
        return [ReminderChannel(channel).label for channel in self.channels]


def reminder_status(patient: Patient, now: datetime | None = None) -> ReminderStatus:
    now = now or timezone.now()
    return ReminderStatus(
        enabled=patient.reminders_enabled,
        minutes_before=patient.reminder_minutes_before,
        channels=reminder_channels(patient),
        unreachable=patient.reminders_unreachable(now),
        reached_at=patient.reminders_reached_at,
        failing_since=patient.reminders_failing_since,
        devices=list(patient.push_subscriptions.all()),
    )


def unreachable_patients(qs, now: datetime | None = None):
    """Narrow a Patient queryset to those whose reminders have reached them by no channel for
    48 hours (the partial index patient_reminders_failing)."""
    now = now or timezone.now()
    return qs.filter(
        reminders_enabled=True, reminders_failing_since__lte=now - REMINDERS_UNREACHABLE_AFTER
    )


# --- settings --------------------------------------------------------------------------------


def reminder_settings_update(*, patient: Patient, enabled: bool, minutes_before: int) -> Patient:
    """Turn reminders on or off and set how early they come (0-60 minutes). Applies from the
    next reminder due. Turning them back on clears an old "unreachable" state: it is judged
    afresh from the next reminders."""
    if not isinstance(minutes_before, int) or not (
        0 <= minutes_before <= REMINDER_MINUTES_BEFORE_MAX
    ):
        raise ValidationError(
            {"minutes_before": [f"Choose 0 to {REMINDER_MINUTES_BEFORE_MAX} minutes."]}
        )
    fields = ["reminders_enabled", "reminder_minutes_before", "updated_at"]
    if enabled and not patient.reminders_enabled:
        patient.reminders_failing_since = None
        fields.append("reminders_failing_since")
    patient.reminders_enabled = bool(enabled)
    patient.reminder_minutes_before = minutes_before
    patient.save(update_fields=fields)
    return patient


# --- push subscriptions ----------------------------------------------------------------------

P256DH_BYTES = 65  # an uncompressed P-256 point (RFC 8291 3.1)
AUTH_BYTES = 16  # RFC 8291 3.2
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _b64url_bytes(value: str) -> bytes | None:
    if not isinstance(value, str) or not _B64URL.match(value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _known_push_service(host: str) -> bool:
    for allowed in settings.PUSH_SERVICE_HOSTS:
        allowed = allowed.lower()
        if host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def endpoint_problem(endpoint: str) -> str:
    """Why this endpoint is refused ("" if it is fine). The server POSTs to it, so it must be
    a push service's https URL (PUSH_SERVICE_HOSTS), never an address inside our network;
    development and tests also take plain http to this machine (a local push endpoint)."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "This is not a valid URL."
    if parts.username or parts.password:
        return "A push endpoint carries no user name or password."
    if parts.scheme == "http" and settings.PUSH_ALLOW_LOOPBACK_HTTP and _loopback(host):
        return ""
    if parts.scheme != "https":
        return "A push endpoint must be an https:// URL."
    if not _known_push_service(host):
        return "This is not the address of a known push service."
    return ""


def _check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 1000:
        errors["endpoint"] = ["Give the subscription's endpoint URL (at most 1000 characters)."]
    elif problem := endpoint_problem(endpoint):
        errors["endpoint"] = [problem]
    key = _b64url_bytes(p256dh)
    if key is None or len(key) != P256DH_BYTES or key[0] != 4:
        errors["keys.p256dh"] = ["Give the browser's p256dh key (base64url, 65 bytes)."]
    secret = _b64url_bytes(auth)
    if secret is None or len(secret) != AUTH_BYTES:
        errors["keys.auth"] = ["Give the browser's auth secret (base64url, 16 bytes)."]
    if errors:
        raise ValidationError(errors)


def device_label(user_agent: str) -> str:
    """A name the patient recognises in their device list, e.g. "Chrome on Android"."""
    agent = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("SamsungBrowser/", "Samsung Internet"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if token in agent
        ),
        "Browser",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS X", "Mac"),
                ("CrOS", "Chromebook"),
                ("Linux", "Linux"),
            )
            if token in agent
        ),
        "",
    )
    return f"{browser} on {system}" if system else browser


def push_subscription_save(
    *,
    patient: Patient,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str = "",
    now: datetime | None = None,
) -> tuple[PushSubscription, bool]:
    """Store this browser's subscription for the patient (created True), or update the one
    with the same endpoint (False): a browser re-subscribing after its keys changed, or a
    shared device now signed in by another patient (the device follows who signed in last)."""
    _check_subscription(endpoint, p256dh, auth)
    now = now or timezone.now()
    values = {
        "patient": patient,
        "p256dh": p256dh.rstrip("="),
        "auth": auth.rstrip("="),
        "device": device_label(user_agent),
        "updated_at": now,
        "consecutive_failures": 0,
    }
    try:
        with transaction.atomic():
            subscription, created = PushSubscription.objects.select_for_update().update_or_create(
                endpoint=endpoint, defaults=values, create_defaults={**values, "created_at": now}
            )
    except IntegrityError:  # two requests for one new endpoint at once: the other created it
        subscription = PushSubscription.objects.get(endpoint=endpoint)
        created = False
    return subscription, created


def push_subscription_delete(*, patient: Patient, subscription_id: int) -> bool:
    """Forget one of the patient's devices; False if there was no such device of theirs."""
    deleted, _ = PushSubscription.objects.filter(pk=subscription_id, patient=patient).delete()
    return bool(deleted)
