"""Check-ins and alert load on the nurse's patient page (checkins.md, "Measure"): check-in
completion over the last 28 days (target 90%), alerts per 100 symptom reports, the next
check-in and whether check-ins are paused. Three queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from medications.models import CheckIn, CheckInPlan, CheckInStatus, SymptomReport
from medications.symptoms.selectors import CheckInCompletion, check_in_completion
from patients.models import Patient

from ..models import Alert, AlertKind

FIGURES_DAYS = 28


@dataclass(frozen=True)
class CheckInFigures:
    completion: CheckInCompletion
    reports: int
    symptom_alerts: int
    next_check_in: CheckIn | None
    plan: CheckInPlan | None
    days: int = FIGURES_DAYS
    weekdays: tuple[str, ...] = (
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    )

    @property
    def alerts_per_100_reports(self) -> float | None:
        return round(100 * self.symptom_alerts / self.reports, 1) if self.reports else None


def alerts_per_100_reports(
    patient: Patient, *, since: datetime, until: datetime
) -> tuple[int, int]:
    """(symptom alerts raised, symptom reports sent) for one patient over [since, until)."""
    reports = SymptomReport.objects.filter(
        patient=patient, reported_at__gte=since, reported_at__lt=until
    ).count()
    alerts = Alert.objects.filter(
        patient=patient, kind=AlertKind.SYMPTOM, created_at__gte=since, created_at__lt=until
    ).count()
    return alerts, reports


def check_in_figures(patient: Patient, now: datetime) -> CheckInFigures:
    since = now - timedelta(days=FIGURES_DAYS)
    completion = check_in_completion(since=since, until=now, patient_ids=[patient.pk])["overall"]
    alerts, reports = alerts_per_100_reports(patient, since=since, until=now)
    next_check_in = (
        CheckIn.objects.filter(
            patient=patient, status__in=[CheckInStatus.SCHEDULED, CheckInStatus.OPEN]
        )
        .order_by("opens_at")
        .first()
    )
    plan = CheckInPlan.objects.filter(patient=patient).first()
    return CheckInFigures(completion, reports, alerts, next_check_in, plan)
