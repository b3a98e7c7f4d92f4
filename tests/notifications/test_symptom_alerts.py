"""Alerts from symptom reports (clinical/triage.md): red and amber reports raise one alert
each, in the report's transaction; a failure there never loses the report, and the sweep
raises the alert later; green reports raise none."""

from datetime import timedelta

import pytest
from django.utils import timezone

from medications.models import SymptomReport
from notifications import receivers, services, tasks
from notifications.models import (
    Alert,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertStatus,
    Delivery,
    DeliveryPurpose,
)
from notifications.services import sources

from .helpers import red_report, triaged_report, webhook_channel

pytestmark = pytest.mark.django_db


def test_a_red_report_raises_one_red_alert_with_its_reasons(patient):
    before = timezone.now()
    report = triaged_report(patient, level="red")

    (alert,) = Alert.objects.all()
    assert alert.kind == AlertKind.SYMPTOM and alert.level == AlertLevel.RED
    assert alert.symptom_report_id == report.pk
    assert alert.dedup_key == f"symptom_episode:patient:{patient.pk}"
    assert alert.reasons == report.triage_reasons
    assert alert.care_team_id == patient.care_team_id
    # Red: acknowledge within 30 minutes.
    assert timedelta(minutes=30) <= alert.due_by - before <= timedelta(minutes=31)
    report.refresh_from_db()
    assert report.alert_raised_at is not None


def test_an_amber_report_is_due_in_4_hours(patient):
    triaged_report(patient, level="amber")
    alert = Alert.objects.get()
    assert alert.level == AlertLevel.AMBER
    assert alert.due_by - alert.created_at == timedelta(hours=4)


def test_a_green_report_raises_no_alert(patient):
    report = triaged_report(patient, level="green")
    assert not Alert.objects.exists()
    report.refresh_from_db()
    assert report.alert_raised_at is None
    assert services.unraised_symptom_alerts_sweep()["reports"] == 0


def test_through_the_symptom_service_when_it_exists(patient):
    report = red_report(patient, notes="since this morning")
    alert = Alert.objects.get(symptom_report=report)
    assert alert.level == AlertLevel.RED


def test_triage_running_again_never_makes_a_second_alert(patient):
    report = triaged_report(patient, level="amber")
    for _ in range(3):
        services.symptom_report_alert_raise(report=report)
        tasks.raise_symptom_report_alert(report.pk)
    assert Alert.objects.count() == 1
    alert = Alert.objects.get()
    assert [e.kind for e in alert.events.all()] == [AlertEventKind.CREATED]


def test_after_acknowledgement_the_next_report_opens_a_new_alert(patient, nurse):
    triaged_report(patient, level="amber")
    first = Alert.objects.get()
    services.alert_acknowledge(alert=first, user=nurse)

    later = triaged_report(patient, level="red", symptoms=[{"code": "chest_pain", "grade": 1}])

    first.refresh_from_db()
    assert first.level == AlertLevel.AMBER and first.status == AlertStatus.ACKNOWLEDGED
    second = Alert.objects.exclude(pk=first.pk).get()
    # New information needs fresh eyes: a new alert, red, on the 30-minute clock.
    assert second.level == AlertLevel.RED and second.status == AlertStatus.OPEN
    assert second.symptom_report_id == later.pk and second.occurrences == 1
    assert second.due_by <= timezone.now() + timedelta(minutes=30)


def test_a_level_never_falls(patient):
    report = triaged_report(patient, level="red")
    SymptomReport.objects.filter(pk=report.pk).update(triage_level="amber")
    report.refresh_from_db()
    services.symptom_report_alert_raise(report=report)
    assert Alert.objects.get().level == AlertLevel.RED


def test_when_raising_fails_the_report_is_still_saved_and_the_sweep_raises_it(
    patient, monkeypatch, caplog
):
    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "symptom_report_alert_raise", broken)
    report = triaged_report(patient, level="red", notes="Mrs Example's private note")

    assert SymptomReport.objects.filter(pk=report.pk).exists()
    assert not Alert.objects.exists()
    # Logs carry ids only, never the notes.
    assert f"symptom report {report.pk}" in caplog.text
    assert "private note" not in caplog.text
    monkeypatch.undo()

    first = services.unraised_symptom_alerts_sweep()
    second = services.unraised_symptom_alerts_sweep()
    assert first == {"reports": 1, "alerts_raised": 1, "failed": 0}
    assert second["reports"] == 0
    alert = Alert.objects.get()
    assert alert.symptom_report_id == report.pk and alert.level == AlertLevel.RED
    report.refresh_from_db()
    assert report.alert_raised_at is not None


def test_the_sweep_raises_one_bad_report_at_a_time_and_the_others_still_go(patient, monkeypatch):
    good = triaged_report(patient, level="amber", send=False)
    bad = triaged_report(patient, level="red", send=False)
    real = sources._symptom_spec

    def spec(reports, care_team_id):
        if any(report.pk == bad.pk for report in reports):
            raise ValueError("corrupt row")
        return real(reports, care_team_id)

    monkeypatch.setattr(sources, "_symptom_spec", spec)
    summary = services.unraised_symptom_alerts_sweep()
    assert summary == {"reports": 2, "alerts_raised": 1, "failed": 1}
    assert Alert.objects.get().symptom_report_id == good.pk


def test_the_receiver_is_connected_and_skips_green(patient, monkeypatch):
    calls = []
    monkeypatch.setattr(services, "symptom_report_alert_raise", lambda **kw: calls.append(kw))
    triaged_report(patient, level="green")
    assert calls == []
    receivers.raise_symptom_report_alert(sender=SymptomReport, report=SymptomReport.objects.get())
    assert calls == []


def test_the_alert_and_its_outbox_rows_commit_together_and_delivery_is_enqueued(
    patient, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    hook = receiver()
    channel = webhook_channel(patient.care_team, hook.url)
    published = []
    monkeypatch.setattr(
        "core.queue._publish", lambda task, args, kwargs: published.append((task.name, args))
    )
    with django_capture_on_commit_callbacks(execute=True):
        triaged_report(patient, level="red")

    alert = Alert.objects.get()
    delivery = Delivery.objects.get(alert=alert, channel=channel)
    assert delivery.purpose == DeliveryPurpose.ALERT
    assert ("notifications.tasks.send_delivery", (delivery.pk,)) in published


def test_a_level_rise_is_sent_again_to_channels_told_at_the_lower_level(patient, receiver):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url)
    triaged_report(patient, level="amber")
    services.deliveries_sweep()
    triaged_report(patient, level="red")  # joins the open alert, and raises its level
    services.deliveries_sweep()
    services.deliveries_sweep()  # nothing more to send
    assert [r.json["level"] for r in hook.received] == ["amber", "red"]
