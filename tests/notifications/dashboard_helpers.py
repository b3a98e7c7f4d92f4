"""Shared set-up for the nurse dashboard tests: alerts made directly as rows (the queue is a
read of what the alerts pipeline stored), at known times."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from notifications.models import ACKNOWLEDGE_WITHIN, Alert, AlertKind, AlertLevel, AlertStatus

SYMPTOM_REASONS = {
    "red": [{"code": "chest_pain", "level": "red", "rule": "red_flag"}],
    "amber": [{"code": "diarrhoea", "level": "amber", "rule": "grade"}],
    "green": [{"code": "fatigue", "level": "green", "rule": "grade"}],
}


def make_alert(
    patient,
    *,
    level: str = AlertLevel.RED,
    kind: str = AlertKind.SYMPTOM,
    minutes_ago: float = 5,
    status: str = AlertStatus.OPEN,
    reasons=None,
    **fields,
) -> Alert:
    created = timezone.now() - timedelta(minutes=minutes_ago)
    within = ACKNOWLEDGE_WITHIN.get(level, timedelta(hours=24))
    return Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind=kind,
        level=level,
        status=status,
        reasons=SYMPTOM_REASONS.get(level, []) if reasons is None else reasons,
        summary=fields.pop("summary", f"{level.capitalize()} symptom report"),
        created_at=created,
        due_by=created + within,
        **fields,
    )


def alert_rows(patient, count: int, *, level: str = AlertLevel.AMBER) -> list[Alert]:
    """`count` unresolved alerts in one insert (query-count tests)."""
    now = timezone.now()
    rows = [
        Alert(
            patient=patient,
            care_team=patient.care_team,
            kind=AlertKind.SYMPTOM,
            level=(AlertLevel.RED, AlertLevel.AMBER, AlertLevel.GREEN)[i % 3],
            status=AlertStatus.OPEN,
            reasons=SYMPTOM_REASONS["amber"],
            summary="Amber symptom report",
            created_at=now - timedelta(minutes=i),
            due_by=now + timedelta(hours=4) - timedelta(minutes=i),
        )
        for i in range(count)
    ]
    return Alert.objects.bulk_create(rows, batch_size=500)


# --- a realistic patient for the patient page (browser tests, screenshots) ----------------


def report(patient, *, days_ago: float, symptoms=None, now=None, **figures):
    """A symptom report graded by the real service (its alert raised by the receiver)."""
    from medications.symptoms.services import symptom_report_create
    from notifications import services

    now = now or timezone.now()
    handled_by = figures.pop("handled_by", None)
    data = {"symptoms": [{"code": c, "grade": g} for c, g in (symptoms or {}).items()]}
    data.update({k: v for k, v in figures.items() if v is not None})
    reported_at = now - timedelta(days=days_ago)
    created = symptom_report_create(
        patient=patient, data=data, entered_by=patient.user, reported_at=reported_at
    )
    alert = Alert.objects.filter(symptom_report=created).first()
    if alert is not None:
        # History: the alert was raised when the report came in, and (when a nurse is
        # given) handled within the deadline.
        within = ACKNOWLEDGE_WITHIN.get(alert.level, timedelta(hours=24))
        Alert.objects.filter(pk=alert.pk).update(
            created_at=reported_at, due_by=reported_at + within
        )
        alert.events.update(at=reported_at)
        if handled_by is not None and days_ago > 1:
            services.alert_acknowledge(
                alert=alert, user=handled_by, now=reported_at + timedelta(minutes=12)
            )
            services.alert_resolve(
                alert=alert,
                user=handled_by,
                outcome="advice_given_by_phone",
                note="Phoned: advice given, patient to report again tomorrow.",
                now=reported_at + timedelta(minutes=25),
            )
    return created


def seed_lenvatinib_patient(patient, *, now=None, nurse=None) -> None:
    """Lenvatinib with six weeks of dose history and a three-day hold (medications.demo), and
    four weeks of symptom reports with blood pressure and temperature, ending in an amber."""
    from medications.demo import seed_patient_treatment

    now = now or timezone.now()
    patient.clinical_notes = (
        "Lives alone; daughter (Asha) helps with tablets at weekends. Hard of hearing in the "
        "left ear: speak slowly. Prefers calls after 10:00."
    )
    patient.mobile_phone = "07700 900123"
    patient.save(update_fields=["clinical_notes", "mobile_phone", "updated_at"])
    seed_patient_treatment(patient, "lenvatinib", now)
    history = [
        (27, {"fatigue": 1}, {"systolic_bp": 132, "diastolic_bp": 84, "temperature_c": 36.7}),
        (23, {"fatigue": 1, "headache": 1}, {"systolic_bp": 138, "diastolic_bp": 88}),
        (19, {"diarrhoea": 1}, {"systolic_bp": 164, "diastolic_bp": 101, "temperature_c": 36.9}),
        (15, {"diarrhoea": 1, "fatigue": 1}, {"systolic_bp": 136, "diastolic_bp": 86}),
        (10, {"hand_foot": 1}, {"systolic_bp": 134, "diastolic_bp": 85, "temperature_c": 37.1}),
        (6, {"diarrhoea": 2}, {"systolic_bp": 130, "diastolic_bp": 82, "temperature_c": 36.8}),
        (2, {"fatigue": 1, "nausea": 1}, {"temperature_c": 37.0}),
        (0.05, {"fatigue": 1, "headache": 1}, {"systolic_bp": 148, "diastolic_bp": 92}),
    ]
    for days_ago, symptoms, figures in history:
        report(patient, days_ago=days_ago, symptoms=symptoms, now=now, handled_by=nurse, **figures)


HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def row_order(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="alert-row-(\d+)"', response.content.decode())]
