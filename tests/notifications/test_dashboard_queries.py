"""The nurse dashboard reads a fixed number of queries however many alerts, doses and
reports there are (select_related / prefetch_related / one query per list; no N+1)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from medications.models import DoseState, ExpectedDose, SymptomReport
from notifications.models import Alert, AlertKind, AlertLevel, AlertStatus
from tests.factories import PatientFactory
from tests.notifications.dashboard_helpers import SYMPTOM_REASONS
from tests.notifications.helpers import prescribe

# A ceiling as well as "the same": a page that grew a query per row would also blow this.
# 22: the resolve forms' prescriptions and the patients' other alerts are one query each.
MAX_QUEUE_QUERIES = 22
# + 5 for check-ins and alert load (issue 15: completion, reports, alerts, next, plan).
MAX_PATIENT_QUERIES = 50


def queries_for(client, url: str) -> int:
    client.get(url)  # warm per-process caches (the active triage rule set)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def add_alerts(patients, count: int, *, start: int = 0) -> None:
    now = timezone.now()
    levels = (AlertLevel.RED, AlertLevel.AMBER, AlertLevel.GREEN)
    Alert.objects.bulk_create(
        [
            Alert(
                patient=patients[i % len(patients)],
                care_team=patients[i % len(patients)].care_team,
                kind=AlertKind.SYMPTOM,
                level=levels[i % 3],
                status=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)[i % 2],
                acknowledged_at=now if i % 2 else None,
                reasons=SYMPTOM_REASONS[levels[i % 3]],
                summary="Symptom report",
                created_at=now - timedelta(minutes=i + 1),
                due_by=now + timedelta(minutes=30 - i),
            )
            for i in range(start, start + count)
        ],
        batch_size=500,
    )


def add_reports(patient, count: int, *, start: int = 0) -> None:
    now = timezone.now()
    SymptomReport.objects.bulk_create(
        [
            SymptomReport(
                patient=patient,
                reported_at=now - timedelta(minutes=20 * i + 1),
                entered_by=patient.user,
                symptoms=[{"code": "diarrhoea", "grade": 1 + i % 3}],
                temperature_c=Decimal("36.5") + Decimal(i % 20) / 10,
                systolic_bp=120 + i % 50,
                diastolic_bp=80 + i % 20,
                triage_level=("green", "amber", "red")[i % 3],
                triage_reasons=[{"code": "diarrhoea", "level": "amber", "rule": "grade"}],
                triaged_at=now,
                ruleset_version=1,
            )
            for i in range(start, start + count)
        ],
        batch_size=500,
    )


def add_doses(prescription, count: int, *, start: int = 0) -> None:
    """Past doses every 30 minutes (unique due times), in every state."""
    now = timezone.now()
    states = [DoseState.TAKEN, DoseState.MISSED, DoseState.SKIPPED, DoseState.HELD]
    rows = []
    for i in range(start, start + count):
        due = now - timedelta(hours=1, minutes=30 * i + 7)
        state = states[i % len(states)]
        rows.append(
            ExpectedDose(
                prescription=prescription,
                patient=prescription.patient,
                due_at=due,
                late_until=due + timedelta(hours=12),
                dose_mg=prescription.dose_mg,
                state=state,
                taken_at=due if state == DoseState.TAKEN else None,
                skip_reason="forgot" if state == DoseState.SKIPPED else "",
            )
        )
    ExpectedDose.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


@pytest.mark.django_db
def test_queue_queries_do_not_grow_with_the_number_of_alerts(client, nurse, team, measurement):
    patients = [PatientFactory(care_team=team) for _ in range(30)]
    client.force_login(nurse)
    urls = [
        "/nurse/",
        "/nurse/?status=all&q=Alex",
        "/nurse/queue/rows/?page=1",
        "/nurse/queue/pulse/?red_base=0&red_seen=0",
        "/nurse/patients/",
    ]
    add_alerts(patients, 10)
    with_10 = {url: queries_for(client, url) for url in urls}
    add_alerts(patients, 990, start=10)
    assert Alert.objects.count() == 1000
    with_1000 = {url: queries_for(client, url) for url in urls}
    measurement(f"nurse queue SQL queries per page, 10 vs 1,000 alerts: {with_10} / {with_1000}")
    assert with_10 == with_1000
    assert max(with_1000.values()) <= MAX_QUEUE_QUERIES, with_1000


@pytest.mark.django_db
def test_patient_page_queries_do_not_grow_with_alerts_doses_or_reports(
    client, nurse, patient, measurement
):
    prescription = prescribe(patient, now=timezone.now() - timedelta(days=30))
    ExpectedDose.objects.filter(prescription=prescription).delete()
    client.force_login(nurse)
    urls = [f"/nurse/patients/{patient.pk}/", f"/nurse/patients/{patient.pk}/timeline/?shown=60"]
    add_alerts([patient], 10)
    add_reports(patient, 10)
    add_doses(prescription, 10)
    small = {url: queries_for(client, url) for url in urls}
    add_alerts([patient], 990, start=10)
    add_reports(patient, 990, start=10)
    add_doses(prescription, 990, start=10)
    assert Alert.objects.filter(patient=patient).count() == 1000
    assert SymptomReport.objects.filter(patient=patient).count() == 1000
    assert ExpectedDose.objects.filter(prescription=prescription).count() >= 1000
    large = {url: queries_for(client, url) for url in urls}
    measurement(f"nurse patient page SQL queries, 10 vs 1,000 of each: {small} / {large}")
    assert small == large
    assert max(large.values()) <= MAX_PATIENT_QUERIES, large


@pytest.mark.django_db
def test_alert_page_queries_do_not_grow_with_its_history(client, nurse, patient):
    from notifications.models import AlertEvent

    add_alerts([patient], 1)
    alert = Alert.objects.get()
    client.force_login(nurse)
    url = f"/nurse/alerts/{alert.pk}/"
    AlertEvent.objects.bulk_create([AlertEvent(alert=alert, kind="updated") for _ in range(5)])
    few = queries_for(client, url)
    AlertEvent.objects.bulk_create([AlertEvent(alert=alert, kind="updated") for _ in range(500)])
    assert queries_for(client, url) == few
