"""Web Push to one browser (RFC 8030 delivery, RFC 8291 aes128gcm encryption, RFC 8292
VAPID), through pywebpush. The payload is encrypted for the subscription's keys, so only that
browser can read it; the push service sees the endpoint and the headers alone.

Answers, as the push services give them: 201 (or any 2xx) accepted; 404 or 410 the
subscription is gone for good (uninstalled, expired, permission revoked): the caller deletes
it; 413 payload too large, 400/401/403 a request or key problem (403 also when the VAPID pair
changed since the browser subscribed), 429 and 5xx transient. Anything but 2xx is a failed
attempt, and the reminder moves on to the next channel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from core.vapid import vapid_keys

GONE_STATUSES = (404, 410)
ERROR_LIMIT = 300


@dataclass(frozen=True)
class PushResult:
    ok: bool
    status_code: int | None = None
    error: str = ""

    @property
    def gone(self) -> bool:
        """The push service says this subscription no longer exists (RFC 8030 8.2.1)."""
        return self.status_code in GONE_STATUSES


class _NoRedirects(requests.Session):
    """A push service answers, it does not redirect: following one would send the encrypted
    body and the VAPID token somewhere the subscription never named."""

    def __init__(self):
        super().__init__()
        self.max_redirects = 0


def send_push(
    subscription_info: dict, payload: dict, *, ttl: int, topic: str = "", urgency: str = "high"
) -> PushResult:
    """Encrypt and POST one message. Never raises: a failure is a result.

    `ttl`: seconds the push service keeps the message for an offline device (a reminder is
    stale after its next repeat). `topic` (RFC 8030 5.4): a newer message with the same topic
    replaces one still waiting, so a phone that was off gets the latest reminder only.
    `urgency` "high" asks the service to wake a device in power saving (RFC 8030 5.3)."""
    keys = vapid_keys()
    if keys is None:
        return PushResult(False, None, "push is not configured on this server (VAPID_* unset)")
    headers = {"Urgency": urgency}
    if topic:
        headers["Topic"] = topic
    try:
        with _NoRedirects() as session:
            response = webpush(
                subscription_info=subscription_info,
                data=json.dumps(payload, separators=(",", ":")),
                vapid_private_key=keys.private_key,
                vapid_claims={"sub": keys.subject},
                content_encoding="aes128gcm",
                timeout=settings.PUSH_TIMEOUT,
                ttl=max(int(ttl), 0),
                headers=headers,
                requests_session=session,
            )
    except WebPushException as exc:
        code = exc.status_code
        if code is not None:
            return PushResult(False, int(code), f"HTTP {code}")
        return PushResult(False, None, _short(exc.message))
    except requests.Timeout:
        return PushResult(False, None, "Timeout: the push service did not answer in time")
    except requests.TooManyRedirects:
        return PushResult(False, None, "the push service answered with a redirect (not followed)")
    except requests.ConnectionError:
        return PushResult(False, None, "ConnectionError: could not connect to the push service")
    except (requests.RequestException, ValueError, TypeError) as exc:
        # Not str(exc): it may quote the endpoint, a capability URL.
        return PushResult(False, None, exc.__class__.__name__)
    return PushResult(True, response.status_code)


def _short(text: str) -> str:
    return str(text)[:ERROR_LIMIT]
