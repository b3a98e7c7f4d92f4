"""How one delivery is sent: e-mail, signed JSON webhook, or text message.

PRIVACY: what leaves the service carries only the alert's id, level, kind, status, care
team, deadline and a link to the nurse page (settings.SITE_URL + /nurse/alerts/<id>/). Never
the patient's name, NHS number, symptoms, reasons, summary or notes: a pager, an inbox or a
phone's lock screen is not a clinical record. Everything else is one click away, behind
sign-in.

Webhook receivers verify `X-Tracker-Signature: sha256=<hex HMAC-SHA256 of the raw body,
keyed with the channel's secret>` and de-duplicate by `delivery_id` (and `alert_id`):
delivery is at-least-once. See docs/alerts.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.core.mail import EmailMessage

from . import sms
from .models import Alert, AlertKind, ChannelKind, Delivery, DeliveryPurpose
from .rules import TEAM_ZONE

SIGNATURE_HEADER = "X-Tracker-Signature"
DELIVERY_HEADER = "X-Tracker-Delivery"
EVENT_HEADER = "X-Tracker-Event"
NURSE_ALERT_PATH = "/nurse/alerts/{id}/"
# Longest error text kept on a delivery or channel (a proxy's HTML error page is not useful).
ERROR_LIMIT = 500


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


def alert_url(alert_id: int) -> str:
    return settings.SITE_URL + NURSE_ALERT_PATH.format(id=alert_id)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def payload_for(delivery: Delivery) -> dict:
    """The whole message, as data. Only the fields listed in the module docstring."""
    alert: Alert | None = delivery.alert
    body: dict = {
        "delivery_id": delivery.pk,
        "event": delivery.purpose,
        "team": delivery.channel.care_team.name,
        "team_id": delivery.channel.care_team_id,
    }
    if alert is None:  # a test message from the admin
        body.update(alert_id=None, message="Test message: this channel works.")
        return body
    body.update(
        alert_id=alert.pk,
        level=alert.level,
        kind=alert.kind,
        status=alert.status,
        created_at=_iso(alert.created_at),
        due_by=_iso(alert.due_by),
        escalated=delivery.purpose == DeliveryPurpose.ESCALATION,
        url=alert_url(alert.pk),
    )
    return body


def sign(body: bytes, secret: str) -> str:
    """The X-Tracker-Signature header value for a raw body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does (kept here so tests and docs share one definition)."""
    return hmac.compare_digest(sign(body, secret), header or "")


def _local(moment: datetime) -> str:
    return moment.astimezone(TEAM_ZONE).strftime("%H:%M on %a %d %b")


def _kind_label(kind: str) -> str:
    return AlertKind(kind).label if kind in AlertKind.values else kind


def subject_for(payload: dict) -> str:
    if payload.get("alert_id") is None:
        return f"Tracker test message for {payload['team']}"
    level = payload["level"].upper()
    kind = _kind_label(payload["kind"]).lower()
    if payload["event"] == DeliveryPurpose.ESCALATION:
        return f"ESCALATION: {level} alert #{payload['alert_id']} ({kind}) not acknowledged"
    return f"{level} alert #{payload['alert_id']} ({kind}) for {payload['team']}"


def text_for(payload: dict, due_by: datetime | None) -> str:
    """Plain text for e-mail and SMS: no patient details, only where to look."""
    if payload.get("alert_id") is None:
        return f"{payload['message']} Team: {payload['team']}."
    lines = [subject_for(payload) + "."]
    if due_by is not None:
        if payload["event"] == DeliveryPurpose.ESCALATION:
            lines.append(f"Please acknowledge now: it was due by {_local(due_by)}.")
        else:
            lines.append(f"Please acknowledge by {_local(due_by)}.")
    lines.append(f"Open: {payload['url']}")
    return " ".join(lines)


def _short(text: str) -> str:
    return text[:ERROR_LIMIT]


def _send_webhook(delivery: Delivery, payload: dict) -> SendResult:
    channel = delivery.channel
    if not channel.secret:
        return SendResult(False, None, "no signing secret set for this webhook channel")
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "hcc-tracker-alerts/1",
        SIGNATURE_HEADER: sign(body, channel.secret),
        DELIVERY_HEADER: str(delivery.pk),
        EVENT_HEADER: payload["event"],
    }
    try:
        response = requests.post(
            channel.target,
            data=body,
            headers=headers,
            timeout=getattr(settings, "WEBHOOK_TIMEOUT", 10),
            allow_redirects=False,  # a redirect would resend the body somewhere unverified
        )
    except requests.RequestException as exc:
        # Not str(exc): it quotes the URL, and a receiver's URL may carry a token.
        return SendResult(False, None, _webhook_error(exc))
    if 200 <= response.status_code < 300:
        return SendResult(True, response.status_code)
    return SendResult(False, response.status_code, f"HTTP {response.status_code}")


def _webhook_error(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"{exc.__class__.__name__}: no answer within the timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "SSLError: the receiver's TLS certificate or handshake failed"
    if isinstance(exc, requests.ConnectionError):
        return "ConnectionError: could not connect to the receiver"
    return exc.__class__.__name__


def _send_email(delivery: Delivery, payload: dict) -> SendResult:
    alert = delivery.alert
    message = EmailMessage(
        subject=subject_for(payload),
        body=text_for(payload, alert.due_by if alert else None)
        + "\n\nThis message carries no patient details. Sign in to see the alert.\n",
        to=[delivery.channel.target],
        headers={DELIVERY_HEADER: str(delivery.pk)},
    )
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any mail failure is a failed attempt
        return SendResult(False, None, _short(f"{exc.__class__.__name__}: {exc}"))
    return SendResult(True)


def _send_sms(delivery: Delivery, payload: dict) -> SendResult:
    alert = delivery.alert
    try:
        sms.send_sms(
            to=delivery.channel.target, body=text_for(payload, alert.due_by if alert else None)
        )
    except Exception as exc:  # noqa: BLE001 - any gateway failure is a failed attempt
        return SendResult(False, None, _short(f"{exc.__class__.__name__}: {exc}"))
    return SendResult(True)


SENDERS = {
    ChannelKind.WEBHOOK: _send_webhook,
    ChannelKind.EMAIL: _send_email,
    ChannelKind.SMS: _send_sms,
}


def send(delivery: Delivery) -> SendResult:
    """Send one delivery through its channel. Never raises: a failure is a result."""
    payload = payload_for(delivery)
    sender = SENDERS.get(delivery.channel.kind)
    if sender is None:
        return SendResult(False, None, f"unknown channel kind {delivery.channel.kind!r}")
    try:
        return sender(delivery, payload)
    except Exception as exc:  # noqa: BLE001 - a bug in a transport must not lose the delivery
        return SendResult(False, None, _short(f"{exc.__class__.__name__}: {exc}"))
