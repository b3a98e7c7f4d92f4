"""Signing in without losing anything (issue 13): patients may stay signed in on their own
phone for 30 days (a sliding session); staff keep short sessions. A nurse can issue a
one-time sign-in link for a patient who cannot sign in (24 hours, single use, audited)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import CareTeam, Patient, SignInLink

logger = logging.getLogger(__name__)

SIGN_IN_LINK_LIFETIME = timedelta(hours=24)


def remembered_session_seconds() -> int:
    return int(settings.PATIENT_SESSION_DAYS) * 24 * 60 * 60


def service_advice_line_phone() -> str:
    """The number the signed-out pages show: the care teams' one number, or the default
    when teams differ (a signed-in patient sees their own team's)."""
    phones = set(
        CareTeam.objects.exclude(advice_line_phone="")
        .order_by()
        .values_list("advice_line_phone", flat=True)
        .distinct()[:2]
    )
    return phones.pop() if len(phones) == 1 else settings.DEFAULT_ADVICE_LINE_PHONE


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def sign_in_link_issue(
    *, patient: Patient, issued_by, now: datetime | None = None
) -> tuple[SignInLink, str]:
    """A new one-time link for this patient; earlier unused links of theirs stop working
    (only the newest one the nurse read out should). Returns the row and the raw token."""
    now = now or timezone.now()
    SignInLink.objects.filter(user=patient.user, used_at__isnull=True).update(used_at=now)
    token = secrets.token_urlsafe(32)
    link = SignInLink.objects.create(
        user=patient.user,
        token_hash=_hash(token),
        issued_by=issued_by,
        issued_at=now,
        expires_at=now + SIGN_IN_LINK_LIFETIME,
    )
    logger.info("sign-in link %s issued for patient %s", link.pk, patient.pk)
    return link, token


def sign_in_link_valid(token: str, now: datetime | None = None) -> SignInLink | None:
    now = now or timezone.now()
    return (
        SignInLink.objects.select_related("user")
        .filter(token_hash=_hash(token or ""), used_at__isnull=True, expires_at__gt=now)
        .first()
    )


@transaction.atomic
def sign_in_link_use(*, token: str, now: datetime | None = None) -> SignInLink | None:
    """Spend the link: a conditional update, so two taps (or two devices) sign in once."""
    now = now or timezone.now()
    link = sign_in_link_valid(token, now)
    if link is None:
        return None
    used = SignInLink.objects.filter(pk=link.pk, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if used != 1:
        return None
    link.used_at = now
    logger.info("sign-in link %s used", link.pk)
    return link


__all__ = [
    "SIGN_IN_LINK_LIFETIME",
    "remembered_session_seconds",
    "service_advice_line_phone",
    "sign_in_link_issue",
    "sign_in_link_use",
    "sign_in_link_valid",
]
