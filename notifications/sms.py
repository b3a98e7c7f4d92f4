"""Pluggable text-message transport, chosen by settings.SMS_BACKEND (a dotted class path).

A real gateway (an NHS-approved SMS provider) is a class with `send(*, to, body)` that raises
on failure. The console backend writes messages to stdout for development; the locmem
backend keeps them in `outbox` for tests.
"""

from __future__ import annotations

import sys
import threading

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "notifications.sms.ConsoleSMSBackend"

outbox: list[dict] = []
_outbox_lock = threading.Lock()


class SMSError(Exception):
    """The gateway refused or could not take the message."""


class BaseSMSBackend:
    def send(self, *, to: str, body: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class UnconfiguredSMSBackend(BaseSMSBackend):
    """Production default: no gateway is set, so every text fails as a visible delivery
    failure (retried, shown in admin, and the alert escalates) rather than vanishing."""

    def send(self, *, to: str, body: str) -> None:
        raise SMSError("no SMS gateway is configured (set SMS_BACKEND)")


class ConsoleSMSBackend(BaseSMSBackend):
    """Development: print the message (the console is the developer's own machine)."""

    def send(self, *, to: str, body: str) -> None:
        sys.stdout.write(f"SMS to {to}: {body}\n")
        sys.stdout.flush()


class LocmemSMSBackend(BaseSMSBackend):
    """Tests: keep messages in notifications.sms.outbox."""

    def send(self, *, to: str, body: str) -> None:
        with _outbox_lock:
            outbox.append({"to": to, "body": body})


def get_backend() -> BaseSMSBackend:
    return import_string(getattr(settings, "SMS_BACKEND", DEFAULT_BACKEND))()


def send_sms(*, to: str, body: str) -> None:
    if not to.strip():
        raise SMSError("no phone number")
    get_backend().send(to=to, body=body)
