"""Dose reminders to patients (adherence.md, "Dose reminders")."""

from __future__ import annotations

import logging
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from medications.models import (
    DoseState,
    ExpectedDose,
)
from patients.models import ReminderChannel

from .. import sms
from .common import SWEEP_BATCH, _claim_ids, _now

logger = logging.getLogger(__name__)

# Dose reminders go out from the due time until this long after it (a sweep that was down
# for hours does not send stale reminders) and never after the late window closed.
REMINDER_STALE_AFTER = timedelta(hours=1)
REMINDER_SUBJECT = "Medicine reminder"


def reminder_text(local_time: str) -> str:
    """Deliberately minimal: no drug name, no condition (a phone's lock screen is public)."""
    return (
        f"It's time for your {local_time} medicine. You can record it in the tracker: "
        f"{settings.SITE_URL}/me/"
    )


def dose_reminders_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """Remind patients who opted in (Patient.dose_reminders) when a dose falls due.

    Not repeated: each dose's reminder_sent_at is claimed with a conditional update before
    sending (at-most-once: a failed send is logged, not retried, so a reminder never comes
    twice). Held doses and off weeks have no pending dose, so they get no reminder. One
    message per patient per due time, however many doses fall due together."""
    now = _now(now)
    with transaction.atomic():
        ids = _claim_ids(
            ExpectedDose.objects.filter(
                state=DoseState.PENDING,
                reminder_sent_at__isnull=True,
                due_at__lte=now,
                due_at__gt=now - REMINDER_STALE_AFTER,
                late_until__gt=now,
                patient__dose_reminders__in=[ReminderChannel.EMAIL, ReminderChannel.SMS],
            ).order_by("due_at"),
            batch_size,
        )
        if not ids:
            return {"reminders_sent": 0, "failed": 0}
        ExpectedDose.objects.filter(
            pk__in=ids, state=DoseState.PENDING, reminder_sent_at__isnull=True
        ).update(reminder_sent_at=now)
        claimed = list(
            ExpectedDose.objects.filter(pk__in=ids, reminder_sent_at=now).values(
                "pk",
                "patient_id",
                "due_at",
                "patient__dose_reminders",
                "patient__mobile_phone",
                "patient__user__email",
                "patient__timezone",
            )
        )
    messages: dict[tuple[int, datetime], dict] = {}
    for row in claimed:
        messages.setdefault((row["patient_id"], row["due_at"]), row)
    sent = failed = 0
    for (patient_id, due_at), row in messages.items():
        local = due_at.astimezone(zoneinfo.ZoneInfo(row["patient__timezone"])).strftime("%H:%M")
        body = reminder_text(local)
        try:
            if row["patient__dose_reminders"] == ReminderChannel.SMS:
                sms.send_sms(to=row["patient__mobile_phone"], body=body)
            else:
                address = row["patient__user__email"]
                if not address:
                    raise ValueError("no e-mail address")
                send_mail(REMINDER_SUBJECT, body, None, [address], fail_silently=False)
            sent += 1
        except Exception as exc:  # noqa: BLE001 - one failed reminder must not stop others
            failed += 1
            logger.warning(
                "dose reminder for patient %s failed (%s)", patient_id, exc.__class__.__name__
            )
    return {"reminders_sent": sent, "failed": failed}
