"""Escalation (clinical/triage.md): a red alert not acknowledged within 30 minutes (amber:
4 hours) escalates once, with a second, louder notification to the on-call channels, and
shows as overdue."""

from datetime import timedelta

import pytest
import time_machine

from notifications import selectors, services
from notifications.models import (
    Alert,
    AlertEventKind,
    AlertLevel,
    ChannelPurpose,
    Delivery,
    DeliveryPurpose,
)

from .helpers import triaged_report, utc, webhook_channel

pytestmark = pytest.mark.django_db
T0 = utc(2026, 3, 2, 10)


@pytest.fixture
def on_call(patient, receiver):
    hook = receiver()
    channel = webhook_channel(patient.care_team, hook.url, purpose=ChannelPurpose.ESCALATION)
    return channel, hook


def raise_at(patient, level, moment):
    with time_machine.travel(moment, tick=False):
        triaged_report(patient, level=level)
    return Alert.objects.latest("pk")


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        escalation = services.escalations_sweep()
        deliveries = services.deliveries_sweep()
    return escalation, deliveries


def test_an_unacknowledged_red_alert_escalates_after_30_minutes_once(patient, nurse, on_call):
    channel, hook = on_call
    alert = raise_at(patient, "red", T0)

    assert sweep_at(T0 + timedelta(minutes=29))[0] == {"escalated": 0}
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert not selectors.alert_queue_for(nurse).get(pk=alert.pk).overdue

    escalation, deliveries = sweep_at(T0 + timedelta(minutes=30, seconds=1))
    assert escalation == {"escalated": 1} and deliveries["sent"] == 1
    alert.refresh_from_db()
    assert alert.escalated_at == T0 + timedelta(minutes=30, seconds=1)
    assert alert.events.filter(kind=AlertEventKind.ESCALATED).count() == 1
    (request,) = hook.received
    assert request.json["event"] == "escalation" and request.json["escalated"] is True
    assert request.headers["X-Tracker-Event"] == "escalation"
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert selectors.alert_queue_for(nurse).get(pk=alert.pk).overdue

    # Later sweeps: no second escalation.
    for minutes in (31, 45, 120):
        assert sweep_at(T0 + timedelta(minutes=minutes))[0] == {"escalated": 0}
    assert Delivery.objects.filter(purpose=DeliveryPurpose.ESCALATION).count() == 1
    assert len(hook.received) == 1


def test_an_acknowledged_alert_does_not_escalate(patient, nurse, on_call):
    alert = raise_at(patient, "red", T0)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        services.alert_acknowledge(alert=alert, user=nurse)
    assert sweep_at(T0 + timedelta(hours=2))[0] == {"escalated": 0}
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert not selectors.alert_queue_for(nurse).get(pk=alert.pk).overdue


def test_amber_escalates_after_4_hours(patient, on_call):
    raise_at(patient, "amber", T0)
    assert sweep_at(T0 + timedelta(hours=3, minutes=59))[0] == {"escalated": 0}
    assert sweep_at(T0 + timedelta(hours=4))[0] == {"escalated": 1}


def test_green_alerts_show_overdue_but_page_no_one(patient, nurse, on_call):
    alert = Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind="missed_dose",
        level=AlertLevel.GREEN,
        due_by=T0,
        created_at=T0 - timedelta(days=1),
    )
    assert sweep_at(T0 + timedelta(days=2))[0] == {"escalated": 0}
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        assert selectors.alert_queue_for(nurse).get(pk=alert.pk).overdue


def test_a_raised_level_escalates_again(patient, on_call):
    channel, hook = on_call
    alert = raise_at(patient, "amber", T0)
    assert sweep_at(T0 + timedelta(hours=4, minutes=1))[0] == {"escalated": 1}
    # A red report joins the episode while still unacknowledged: the deadline never moves
    # later (it stays the amber one, already passed), and the red alert escalates again at
    # the next sweep.
    later = T0 + timedelta(hours=5)
    assert raise_at(patient, "red", later) == alert
    alert.refresh_from_db()
    assert alert.level == AlertLevel.RED and alert.escalated_at is None
    assert alert.due_by == T0 + timedelta(hours=4)
    assert sweep_at(later + timedelta(minutes=1))[0] == {"escalated": 1}
    assert sweep_at(later + timedelta(minutes=2))[0] == {"escalated": 0}
    assert alert.events.filter(kind=AlertEventKind.ESCALATED).count() == 2
    # The on-call channel heard both: the same outbox row, sent again.
    assert [r.json["level"] for r in hook.received] == ["amber", "red"]
    (delivery,) = Delivery.objects.filter(purpose=DeliveryPurpose.ESCALATION)
    assert delivery.attempt_log.count() == 2
