"""Expected levels ("baselines") of a symptom per patient (clinical/checkins.md, "Alert
burden"): a nurse records that one graded symptom is expected up to grade 1 or 2 until a
date at most 30 days ahead, with a reason. While it is active an amber report whose only
amber items are expected gets the usual answer but raises no alert (the rule itself is the
pure `triage.expected_items_only`). Rows are never deleted; ending one keeps it on record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from patients.models import Patient
from patients.services import lock_patient

from ..models import ExpectedSymptom
from . import triage
from .selectors import active_ruleset

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 500


def local_date(patient: Patient, at: datetime) -> date:
    return at.astimezone(patient.zone).date()


# --- reads ---------------------------------------------------------------------------------------


def expected_symptoms_active(patient: Patient, *, on: date) -> QuerySet[ExpectedSymptom]:
    """The patient's baselines that apply on their local date `on` (one query)."""
    return ExpectedSymptom.objects.filter(
        patient=patient, ended_at__isnull=True, until__gte=on, created_at__date__lte=on
    ).order_by("code", "-created_at")


def expected_grades(patient: Patient, *, at: datetime) -> dict[str, int]:
    """Code -> highest expected grade on the patient's local date of `at` (one query)."""
    grades: dict[str, int] = {}
    rows = ExpectedSymptom.objects.filter(
        patient=patient, ended_at__isnull=True, until__gte=local_date(patient, at)
    ).values_list("code", "max_grade", "created_at")
    for code, max_grade, created_at in rows:
        if created_at <= at:
            grades[code] = max(grades.get(code, 0), max_grade)
    return grades


def expected_symptoms_for_patient(patient: Patient) -> QuerySet[ExpectedSymptom]:
    """Every baseline of the patient, active and ended, newest first (the record)."""
    return ExpectedSymptom.objects.filter(patient=patient).select_related("created_by", "ended_by")


def is_active(baseline: ExpectedSymptom, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return baseline.ended_at is None and baseline.until >= local_date(baseline.patient, now)


# --- writes --------------------------------------------------------------------------------------


def expected_symptom_errors(
    data: Mapping[str, Any], rules: triage.Rules, *, today: date
) -> dict[str, list[str]]:
    """Field -> messages; {} when the baseline can be stored."""
    errors: dict[str, list[str]] = {}
    code = data.get("code")
    if code not in rules["graded_symptoms"]:
        errors["code"] = [
            "Choose a graded symptom (red flags and measurements cannot have an expected level)."
        ]
    max_grade = data.get("max_grade")
    if (
        isinstance(max_grade, bool)
        or not isinstance(max_grade, int)
        or not (1 <= max_grade <= ExpectedSymptom.MAX_GRADE)
    ):
        errors["max_grade"] = [f"Give a grade from 1 to {ExpectedSymptom.MAX_GRADE}."]
    until = data.get("until")
    last = today + timedelta(days=ExpectedSymptom.MAX_DAYS)
    if not isinstance(until, date):
        errors["until"] = ["Give the last day it applies (YYYY-MM-DD)."]
    elif until < today:
        errors["until"] = ["The last day cannot be in the past."]
    elif until > last:
        errors["until"] = [
            f"At most {ExpectedSymptom.MAX_DAYS} days ahead (until {last.isoformat()})."
        ]
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = ["Say why this level is expected (e.g. managed with creams)."]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [f"Keep the reason to {REASON_MAX_LENGTH} characters."]
    return errors


def expected_symptom_set(
    *,
    patient: Patient,
    data: Mapping[str, Any],
    user: User | None,
    now: datetime | None = None,
) -> ExpectedSymptom:
    """Record an expected level; an active one for the same code is ended by it (one
    baseline per code at a time). Bad input: ValidationError naming each field, nothing
    stored."""
    with transaction.atomic():
        lock_patient(patient)
        now = now or timezone.now()
        errors = expected_symptom_errors(
            data, active_ruleset().rules, today=local_date(patient, now)
        )
        if errors:
            raise ValidationError(errors)
        ExpectedSymptom.objects.filter(
            patient=patient, code=data["code"], ended_at__isnull=True
        ).update(ended_at=now, ended_by=user)
        baseline = ExpectedSymptom.objects.create(
            patient=patient,
            code=data["code"],
            max_grade=data["max_grade"],
            until=data["until"],
            reason=data["reason"].strip(),
            created_at=now,
            created_by=user,
        )
    logger.info("expected symptom %s set for patient %s", baseline.pk, patient.pk)
    return baseline


def expected_symptom_end(
    *, baseline: ExpectedSymptom, user: User | None, now: datetime | None = None
) -> ExpectedSymptom:
    """End a baseline now (kept on record). Ending an ended one changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        ExpectedSymptom.objects.filter(pk=baseline.pk, ended_at__isnull=True).update(
            ended_at=now, ended_by=user
        )
    baseline.refresh_from_db()
    logger.info("expected symptom %s ended", baseline.pk)
    return baseline
