"""Demo symptom-report history for `manage.py seed_demo` (a tracker.demo PATIENT_HOOK).

A few reports over the past weeks for each demo patient, graded by the real service so each
carries a real triage result. All green except one recent amber (Priya's blood pressure,
after her lenvatinib was held for high blood pressure), which puts one alert in the demo
queue. Idempotent: a patient who already has any report is left alone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from patients.models import Patient

from ..models import SymptomReport
from .services import symptom_report_create

# drug -> [(days ago, local time or None for "hours ago", hours ago, report body)]
Entry = tuple[int, str | None, int, dict[str, Any]]


def _symptoms(**grades: int) -> list[dict[str, Any]]:
    return [{"code": code, "grade": grade} for code, grade in grades.items()]


HISTORY: dict[str, list[Entry]] = {
    "sorafenib": [
        (30, "19:30", 0, {"symptoms": _symptoms(fatigue=1)}),
        (16, "20:15", 0, {"symptoms": _symptoms(hand_foot=1, fatigue=1)}),
        (5, "18:40", 0, {"symptoms": _symptoms(hand_foot=1, diarrhoea=1)}),
    ],
    "lenvatinib": [
        (
            26,
            "09:30",
            0,
            {"symptoms": _symptoms(fatigue=1, headache=1), "systolic_bp": 136, "diastolic_bp": 86},
        ),
        (
            12,
            "09:10",
            0,
            {"symptoms": _symptoms(fatigue=1), "systolic_bp": 132, "diastolic_bp": 84},
        ),
        # The one amber of the demo: blood pressure 140-159 (triage.md, "Measurements").
        (
            0,
            None,
            20,
            {
                "symptoms": _symptoms(headache=1),
                "systolic_bp": 148,
                "diastolic_bp": 92,
                "notes": "Home monitor reading after breakfast.",
            },
        ),
    ],
    "regorafenib": [
        (25, "17:00", 0, {"symptoms": _symptoms(fatigue=1)}),
        (10, "18:20", 0, {"symptoms": _symptoms(hand_foot=1, mouth_sores=1)}),
    ],
    "cabozantinib": [
        (21, "11:00", 0, {"symptoms": _symptoms(diarrhoea=1), "temperature_c": 36.8}),
        (8, "10:45", 0, {"symptoms": _symptoms(fatigue=1, abdominal_swelling=1)}),
    ],
    "atezolizumab": [
        (35, "20:00", 0, {"symptoms": _symptoms(fatigue=1)}),
        (14, "19:00", 0, {"symptoms": _symptoms(rash=1), "temperature_c": 36.9}),
        (3, "08:50", 0, {"symptoms": _symptoms(nausea=1)}),
    ],
}


def _moment(patient: Patient, now: datetime, days_ago: int, at: str | None, hours: int):
    if at is None:
        return now - timedelta(hours=hours)
    day = now.astimezone(patient.zone).date() - timedelta(days=days_ago)
    hour, minute = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=patient.zone)


@transaction.atomic
def seed_symptom_history(patient: Patient, drug_code: str, now: datetime | None = None) -> None:
    if SymptomReport.objects.filter(patient=patient).exists():
        return
    now = now or timezone.now()
    for days_ago, at, hours, body in HISTORY.get(drug_code, []):
        reported_at = _moment(patient, now, days_ago, at, hours)
        if reported_at > now:
            continue
        symptom_report_create(
            patient=patient, data=body, entered_by=patient.user, reported_at=reported_at
        )
