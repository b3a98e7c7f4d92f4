"""Small helpers the medication services share."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.models import Patient

# Phones' clocks drift: an `at` this far ahead of the server's clock still counts as now.
CLOCK_SKEW = timedelta(minutes=5)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _mg(value: Decimal) -> str:
    """Decimal -> '400', '1057.5' (no trailing zeros): how doses are stored in JSON."""
    text = f"{Decimal(value).normalize():f}"
    return text


def _local(moment: datetime, patient: Patient) -> datetime:
    return moment.astimezone(patient.zone)


def _aware(value: datetime, field: str) -> datetime:
    if timezone.is_naive(value):
        raise ValidationError({field: ["Give a time with its UTC offset, e.g. 2026-01-05T09:00Z."]})
    return value
