"""The "Taken" link of a dose reminder (adherence.md, "Dose reminders"): a signed token that
lets the service worker log that one dose as taken with a bare POST, no session, no body.

The token names the dose and the reminder (delivery) it came with and when it stops working
(the dose's late window closing); it is signed with SECRET_KEY under its own salt, so it
cannot be altered or used for anything else. Single use is enforced by the database, not the
token: the reminder row records the link's use with a conditional update, and a dose that is
no longer waiting to be logged is refused whatever the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "notifications.reminders.taken-link"


class TakenLinkError(Exception):
    """Why a link is refused: "invalid" (tampered, or for another dose) or "expired"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TakenLink:
    dose_id: int
    delivery_id: int
    expires_at: datetime


def make_token(*, dose_id: int, delivery_id: int, expires_at: datetime) -> str:
    return signing.dumps(
        {"d": dose_id, "r": delivery_id, "e": int(expires_at.timestamp())}, salt=SALT
    )


def taken_url(*, dose_id: int, delivery_id: int, expires_at: datetime) -> str:
    """Absolute (the service worker runs it with no page around it): SITE_URL + path."""
    token = make_token(dose_id=dose_id, delivery_id=delivery_id, expires_at=expires_at)
    path = reverse("push-taken", kwargs={"dose_id": dose_id})
    return f"{settings.SITE_URL}{path}?t={token}"


def read_token(token: str, *, dose_id: int, now: datetime) -> TakenLink:
    """The link's contents if the signature holds, it names this dose and it has not
    expired; else TakenLinkError."""
    try:
        data = signing.loads(token or "", salt=SALT)
        link = TakenLink(
            dose_id=int(data["d"]),
            delivery_id=int(data["r"]),
            expires_at=datetime.fromtimestamp(int(data["e"]), tz=UTC),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise TakenLinkError("invalid") from exc
    if link.dose_id != dose_id:
        raise TakenLinkError("invalid")
    if now >= link.expires_at:
        raise TakenLinkError("expired")
    return link
