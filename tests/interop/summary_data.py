"""A patient with 28 days of daily logs: sorafenib twice daily, most doses taken, some not
taken or missed, a symptom report every day with blood pressure and temperature (some
amber), so the clinic summary has every section full."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from medications import services
from medications.models import DoseLog, DoseState, Drug, ExpectedDose, SkipReason
from medications.symptoms.services import symptom_report_create

SYMPTOMS = ["fatigue", "hand_foot", "diarrhoea", "rash", "nausea", "mouth_sores"]


def twenty_eight_days(patient, nurse=None, *, now=None):
    now = now or timezone.now()
    start = now - timedelta(days=28)
    prescription = services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code="sorafenib"),
        dose_mg=Decimal(400),
        times=["08:00", "20:00"],
        start_date=start.astimezone(patient.zone).date(),
        recorded_by=nurse,
        now=start - timedelta(hours=1),
    )
    services.expected_doses_generate(now=now, prescription_ids=[prescription.pk])
    doses = list(
        ExpectedDose.objects.filter(prescription=prescription, late_until__lt=now).order_by(
            "due_at"
        )
    )
    logs = []
    for index, dose in enumerate(doses):
        if index % 10 == 3:
            dose.state, dose.skip_reason = DoseState.SKIPPED, SkipReason.SIDE_EFFECTS
            logs.append(
                DoseLog(
                    expected_dose=dose,
                    action="skipped",
                    at=dose.due_at,
                    reason="side_effects",
                    recorded_by=patient.user,
                )
            )
        elif index % 17 == 5:
            dose.state = DoseState.MISSED
        else:
            dose.state, dose.taken_at = DoseState.TAKEN, dose.due_at + timedelta(minutes=15)
            logs.append(
                DoseLog(
                    expected_dose=dose, action="taken", at=dose.taken_at, recorded_by=patient.user
                )
            )
        dose.state_changed_at = dose.taken_at or dose.late_until
    ExpectedDose.objects.bulk_update(
        doses, ["state", "taken_at", "skip_reason", "state_changed_at"]
    )
    DoseLog.objects.bulk_create(logs)
    for day in range(28):
        at = now - timedelta(days=27 - day, hours=2)
        if at > now:
            continue
        symptom_report_create(
            patient=patient,
            data={
                "symptoms": [
                    {"code": SYMPTOMS[day % len(SYMPTOMS)], "grade": 1 + (day % 3 == 0)},
                    {"code": SYMPTOMS[(day + 2) % len(SYMPTOMS)], "grade": 1},
                ],
                "systolic_bp": 128 + (day % 5) * 5,
                "diastolic_bp": 82 + (day % 4) * 3,
                "temperature_c": 36.8,
            },
            entered_by=patient.user,
            reported_at=at,
        )
    return prescription, doses
