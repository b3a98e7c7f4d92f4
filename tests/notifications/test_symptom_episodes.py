"""One open symptom episode per patient, and resends are one report (clinical/checkins.md,
"Alert burden"), through the API with the real triage engine."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from medications.models import SymptomReport
from notifications import services
from notifications.models import Alert, AlertEventKind, AlertLevel, AlertStatus

from .helpers import webhook_channel

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/symptom-reports/"
ALERTS = "/api/v1/alerts/"


def report(client, *items, key=None, **figures):
    body = {"symptoms": [{"code": code, "grade": grade} for code, grade in items], **figures}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(REPORTS, body, format="json", **headers)


def test_two_ambers_five_minutes_apart_are_one_alert_and_a_red_rises_it(
    api, patient, nurse, receiver
):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url)
    client = api(patient.user)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = report(client, ("diarrhoea", 2))
        services.deliveries_sweep()
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        second = report(client, ("fatigue", 2))
        services.deliveries_sweep()
    assert first.status_code == second.status_code == 201
    assert first.json()["triage"]["level"] == second.json()["triage"]["level"] == "amber"

    (alert,) = api(nurse).get(ALERTS).json()["results"]
    assert alert["level"] == "amber" and alert["occurrences"] == 2
    assert alert["reports"] == [first.json()["id"], second.json()["id"]]
    assert {r["code"] for r in alert["reasons"]} == {"diarrhoea", "fatigue"}
    assert [r.json["level"] for r in hook.received] == ["amber"]  # one notification

    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        third = report(client, ("chest_pain", 1))
        services.deliveries_sweep()
    assert third.json()["triage"]["level"] == "red"
    (alert,) = api(nurse).get(ALERTS).json()["results"]
    assert alert["level"] == "red" and alert["occurrences"] == 3
    assert alert["reports"][-1] == third.json()["id"]
    # Notified again because the level rose, and the red deadline applies.
    assert [r.json["level"] for r in hook.received] == ["amber", "red"]
    stored = Alert.objects.get()
    red_deadline = start + timedelta(minutes=20) + timedelta(minutes=30)
    assert abs(stored.due_by - red_deadline) < timedelta(seconds=1)
    assert [e.kind for e in stored.events.exclude(kind=AlertEventKind.DELIVERED)] == [
        AlertEventKind.CREATED,
        AlertEventKind.UPDATED,
        AlertEventKind.LEVEL_RAISED,
    ]


def test_an_amber_after_a_red_adds_to_the_alert_without_a_second_notification(
    api, patient, receiver
):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url)
    client = api(patient.user)
    report(client, ("chest_pain", 1))
    services.deliveries_sweep()
    report(client, ("rash", 2))
    services.deliveries_sweep()
    alert = Alert.objects.get()
    assert alert.level == AlertLevel.RED and alert.occurrences == 2
    assert [r.json["level"] for r in hook.received] == ["red"]


def test_acknowledging_marks_every_report_seen_and_the_next_report_opens_a_new_alert(
    api, patient, nurse
):
    client = api(patient.user)
    ids = [report(client, ("diarrhoea", 2)).json()["id"], report(client, ("rash", 2)).json()["id"]]
    alert = Alert.objects.get()
    assert api(nurse).post(f"{ALERTS}{alert.pk}/acknowledge/").status_code == 200
    assert all(r.seen_at is not None for r in SymptomReport.objects.filter(pk__in=ids))

    later = report(client, ("fatigue", 2)).json()["id"]
    assert Alert.objects.count() == 2
    new = Alert.objects.exclude(pk=alert.pk).get()
    assert new.status == AlertStatus.OPEN and new.symptom_report_id == later
    alert.refresh_from_db()
    assert alert.occurrences == 2 and alert.status == AlertStatus.ACKNOWLEDGED


def test_resolving_an_episode_closes_every_report_and_frees_the_patient(api, patient, nurse):
    client = api(patient.user)
    ids = [report(client, ("diarrhoea", 2)).json()["id"], report(client, ("rash", 2)).json()["id"]]
    alert = Alert.objects.get()
    answer = api(nurse).post(
        f"{ALERTS}{alert.pk}/resolve/",
        {"outcome": "advice_given_by_phone", "note": "loperamide"},
        format="json",
    )
    assert answer.status_code == 200
    assert {r.status for r in SymptomReport.objects.filter(pk__in=ids)} == {"closed"}
    report(client, ("fatigue", 2))
    assert Alert.objects.filter(status=AlertStatus.OPEN).count() == 1


# --- resends -------------------------------------------------------------------------------------


def test_the_same_idempotency_key_answers_200_with_the_first_report(api, patient):
    client = api(patient.user)
    first = report(client, ("chest_pain", 1), key="abc-1")
    again = report(client, ("chest_pain", 1), key="abc-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["triage"] == first.json()["triage"]
    assert SymptomReport.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.occurrences == 1


def test_the_same_key_with_a_different_body_is_422_and_stores_nothing(api, patient):
    client = api(patient.user)
    report(client, ("chest_pain", 1), key="abc-2")
    other = report(client, ("rash", 2), key="abc-2")
    assert other.status_code == 422
    assert "idempotency_key" in other.json()
    assert SymptomReport.objects.count() == 1
    assert Alert.objects.get().occurrences == 1


def test_the_same_items_and_values_within_10_minutes_are_one_report(api, patient):
    client = api(patient.user)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = report(client, ("diarrhoea", 2), ("rash", 1), temperature_c=37.2)
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        # Same content, items in another order, no key: a resend.
        again = report(client, ("rash", 1), ("diarrhoea", 2), temperature_c=37.2)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    with time_machine.travel(start + timedelta(minutes=9, seconds=30), tick=False):
        changed = report(client, ("diarrhoea", 2), ("rash", 1), temperature_c=37.3)
    assert changed.status_code == 201
    with time_machine.travel(start + timedelta(minutes=21), tick=False):
        later = report(client, ("diarrhoea", 2), ("rash", 1), temperature_c=37.2)
    # Outside the window it is a new report (and by the repeat-amber rule, red).
    assert later.status_code == 201 and later.json()["triage"]["level"] == "red"
    assert SymptomReport.objects.count() == 3


def test_a_resend_from_staff_for_the_patient_is_one_report_too(api, patient, nurse):
    body = {"patient": patient.pk, "symptoms": [{"code": "chest_pain", "grade": 1}]}
    first = api(nurse).post(REPORTS, body, format="json")
    again = api(patient.user).post(REPORTS, {"symptoms": body["symptoms"]}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert Alert.objects.get().occurrences == 1


def test_a_bad_idempotency_key_is_a_400(api, patient):
    answer = report(api(patient.user), ("rash", 1), key="x" * 129)
    assert answer.status_code == 400 and "idempotency_key" in answer.json()
    assert not SymptomReport.objects.exists()
