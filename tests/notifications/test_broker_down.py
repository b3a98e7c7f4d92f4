"""The broker is down when a patient submits a red report: the report is saved and the
request does not fail; the sweep later delivers the alert. Exactly one alert. Runs on both
databases (transactional: the after-commit publish really happens and really fails)."""

import time

import pytest
from django.core.management import call_command

from medications.models import SymptomReport
from notifications import services
from notifications.models import Alert, Delivery, DeliveryStatus

from .helpers import triaged_report, webhook_channel
from .worker import use_broker

pytestmark = pytest.mark.django_db(transaction=True)
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def dead_broker():
    previous = use_broker(DEAD_BROKER)
    yield
    use_broker(previous)


def test_a_red_report_sent_while_the_broker_is_down_is_saved_and_delivered_later(
    api, patient, receiver, dead_broker, caplog
):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url)

    started = time.monotonic()
    response = api(patient.user).post(
        "/api/v1/symptom-reports/",
        {"symptoms": [{"code": "chest_pain", "grade": 1}], "notes": "tight chest since 6am"},
        format="json",
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 201, response.json()
    assert response.json()["triage"]["level"] == "red"
    assert elapsed < 5  # the broker's failure is not the patient's wait
    report = SymptomReport.objects.get(pk=response.json()["id"])
    assert "could not enqueue notifications.tasks.send_delivery" in caplog.text
    assert "tight chest" not in caplog.text
    # The alert and its outbox rows were written with the report; nothing sent yet.
    (alert,) = Alert.objects.filter(symptom_report=report)
    assert hook.received == []
    assert Delivery.objects.filter(alert=alert, status=DeliveryStatus.PENDING).exists()

    call_command("sweep", only=["unraised-alerts", "alert-escalations", "alert-deliveries"])
    call_command("sweep", only=["unraised-alerts", "alert-deliveries"])  # and again

    assert Alert.objects.filter(symptom_report=report).count() == 1
    assert len(hook.received) == 1 and hook.received[0].json["alert_id"] == alert.pk
    assert not Delivery.objects.filter(alert=alert).exclude(status=DeliveryStatus.SENT).exists()


def test_broker_down_and_the_receiver_failing_too_the_sweep_raises_and_delivers(
    patient, receiver, dead_broker, monkeypatch
):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url)
    monkeypatch.setattr(
        services, "symptom_report_alert_raise", lambda **kw: (_ for _ in ()).throw(OSError())
    )
    report = triaged_report(patient, level="red")
    monkeypatch.undo()
    assert not Alert.objects.exists()

    call_command("sweep", only=["unraised-alerts", "alert-deliveries"])
    call_command("sweep", only=["unraised-alerts", "alert-deliveries"])

    (alert,) = Alert.objects.all()
    assert alert.symptom_report_id == report.pk
    assert len(hook.received) == 1
