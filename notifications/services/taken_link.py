"""A dose reminder's "Taken" action: the service worker POSTs the reminder's taken_url (no
session, no body) and that one dose is logged as taken now, as the patient's own log
(adherence.md, "Dose reminders"). See notifications/taken_links.py for the token."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from medications.models import DoseAction, DoseState, ExpectedDose
from medications.services import dose_log

from ..models import Delivery, DeliveryPurpose
from ..taken_links import TakenLinkError, read_token
from .common import _now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TakenByLink:
    dose: ExpectedDose
    log_id: int


def dose_taken_by_link(*, dose_id: int, token: str, now: datetime | None = None) -> TakenByLink:
    """Log the dose the link names as taken now, once. Refused (TakenLinkError, nothing
    logged) when the signature is wrong, the link names another dose, its window has closed,
    the link was used before, or the dose is no longer waiting to be logged.

    Reasons: "invalid" (tampered, another dose, unknown), "expired", "used" (this link, or the
    dose was logged another way)."""
    now = _now(now)
    link = read_token(token, dose_id=dose_id, now=now)
    with transaction.atomic():
        used = Delivery.objects.filter(
            pk=link.delivery_id,
            purpose=DeliveryPurpose.REMINDER,
            expected_dose_id=dose_id,
            taken_link_used_at__isnull=True,
        ).update(taken_link_used_at=now)
        if used != 1:
            known = Delivery.objects.filter(pk=link.delivery_id, expected_dose_id=dose_id).exists()
            raise TakenLinkError("used" if known else "invalid")
        dose = (
            ExpectedDose.objects.select_related("patient__user", "prescription")
            .filter(pk=dose_id)
            .first()
        )
        if dose is None:
            raise TakenLinkError("invalid")
        if now >= dose.late_until:
            raise TakenLinkError("expired")
        if dose.state != DoseState.PENDING:
            raise TakenLinkError("used")
        try:
            result = dose_log(
                dose=dose, action=DoseAction.TAKEN, recorded_by=dose.patient.user, now=now
            )
        except ValidationError as exc:
            # e.g. held meanwhile; the link is refused and its use rolled back with the log.
            raise TakenLinkError("refused") from exc
        if not result.created:
            raise TakenLinkError("used")
    logger.info("dose %s logged taken from reminder %s", dose_id, link.delivery_id)
    return TakenByLink(dose=result.dose, log_id=result.log.pk)
