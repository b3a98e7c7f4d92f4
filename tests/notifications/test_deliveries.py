"""The delivery outbox: claim, send, record; retries with back-off; at-least-once; signed
webhooks; no patient details in anything that leaves the service."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications import channels, services, sms, tasks
from notifications.models import (
    Alert,
    AlertEventKind,
    Channel,
    ChannelKind,
    ChannelPurpose,
    Delivery,
    DeliveryAttempt,
    DeliveryPurpose,
    DeliveryStatus,
)
from notifications.rules import MAX_DELIVERY_ATTEMPTS
from notifications.services import outbox

from .helpers import triaged_report, utc, webhook_channel

pytestmark = pytest.mark.django_db

T0 = utc(2026, 3, 2, 10)
PRIVATE_NOTE = "Lives with daughter; key under the mat"


@pytest.fixture
def red_alert(patient):
    patient.clinical_notes = "Confidential clinical note"
    patient.save()
    with time_machine.travel(T0, tick=False):
        report = triaged_report(patient, level="red", notes=PRIVATE_NOTE)
    return Alert.objects.get(symptom_report=report)


def only_delivery(channel) -> Delivery:
    return Delivery.objects.get(channel=channel)


def test_webhook_500_three_times_then_200_is_delivered_with_4_attempts_recorded(patient, receiver):
    hook = receiver(statuses=[500, 500, 500])
    channel = webhook_channel(patient.care_team, hook.url)
    with time_machine.travel(T0, tick=False):
        report = triaged_report(patient, level="red")
    delivery = only_delivery(channel)
    # Back-off: 30 s, 2 min, 10 min after each failure; the sweep sends what is due.
    moments = [
        T0,
        T0 + timedelta(seconds=31),
        T0 + timedelta(minutes=3),
        T0 + timedelta(minutes=14),
    ]
    results = []
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            results.append(services.deliveries_sweep())
    assert [r["sent"] for r in results] == [0, 0, 0, 1]
    assert [r["retrying"] for r in results] == [1, 1, 1, 0]

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 4
    attempts = list(delivery.attempt_log.all())
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert [a.ok for a in attempts] == [False, False, False, True]
    assert all(a.finished_at is not None for a in attempts)
    assert len(hook.received) == 4
    # Every attempt carries the same delivery and alert ids: the receiver de-duplicates.
    assert {r.headers["X-Tracker-Delivery"] for r in hook.received} == {str(delivery.pk)}
    alert = Alert.objects.get(symptom_report=report)
    assert {r.json["alert_id"] for r in hook.received} == {alert.pk}
    channel.refresh_from_db()
    assert channel.consecutive_failures == 0 and channel.last_success_at is not None
    assert alert.events.filter(kind=AlertEventKind.DELIVERED).count() == 1


def test_not_due_yet_is_not_sent(patient, receiver):
    hook = receiver(statuses=[500])
    channel = webhook_channel(patient.care_team, hook.url)
    with time_machine.travel(T0, tick=False):
        triaged_report(patient, level="red")
        services.deliveries_sweep()
    with time_machine.travel(T0 + timedelta(seconds=20), tick=False):
        assert services.deliveries_sweep()["sent"] == 0
    assert len(hook.received) == 1
    wait = only_delivery(channel).next_attempt_at - T0
    assert timedelta(seconds=30) <= wait < timedelta(seconds=31)  # 30 s after the attempt


def test_a_channel_that_keeps_failing_shows_as_failing_and_gives_up_after_n(patient, receiver):
    hook = receiver(statuses=[503] * 50)
    channel = webhook_channel(patient.care_team, hook.url)
    moment = T0
    with time_machine.travel(moment, tick=False):
        triaged_report(patient, level="red")
    for _ in range(MAX_DELIVERY_ATTEMPTS + 2):
        with time_machine.travel(moment, tick=False):
            services.deliveries_sweep()
        moment += timedelta(hours=2)

    delivery = only_delivery(channel)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_DELIVERY_ATTEMPTS
    assert delivery.attempt_log.count() == MAX_DELIVERY_ATTEMPTS
    channel.refresh_from_db()
    assert channel.is_failing and channel.is_active  # shown as failing, never switched off
    assert channel.consecutive_failures == MAX_DELIVERY_ATTEMPTS
    assert channel.last_error == "HTTP 503"
    assert delivery.alert.events.filter(kind=AlertEventKind.DELIVERY_FAILED).count() == 1


def test_the_webhook_is_signed_with_the_channel_secret(red_alert, receiver):
    hook = receiver()
    channel = webhook_channel(red_alert.care_team, hook.url, secret="team-secret-42")
    outbox._deliveries_create([red_alert], purpose=DeliveryPurpose.ALERT, now=timezone.now())
    assert tasks.send_delivery(only_delivery(channel).pk)["result"] == "sent"

    (request,) = hook.received
    signature = request.headers["X-Tracker-Signature"]
    assert signature.startswith("sha256=")
    assert channels.verify(request.body, "team-secret-42", signature)
    assert not channels.verify(request.body, "another-secret", signature)
    assert not channels.verify(request.body + b" ", "team-secret-42", signature)
    # What a receiver in another language does: HMAC-SHA256 of the raw body, hex.
    import hashlib
    import hmac

    expected = hmac.new(b"team-secret-42", request.body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
    assert request.headers["Content-Type"] == "application/json"


def test_a_webhook_without_a_secret_is_not_sent_unsigned(red_alert, receiver):
    hook = receiver()
    channel = webhook_channel(red_alert.care_team, hook.url, secret="")
    outbox._deliveries_create([red_alert], purpose=DeliveryPurpose.ALERT, now=timezone.now())
    assert tasks.send_delivery(only_delivery(channel).pk)["result"] == "retrying"
    assert hook.received == []
    assert "secret" in only_delivery(channel).last_error


def test_email_and_webhook_carry_no_patient_details(red_alert, receiver, patient, settings):
    settings.SITE_URL = "https://tracker.example.nhs.uk"
    hook = receiver()
    webhook_channel(red_alert.care_team, hook.url)
    Channel.objects.create(
        name="Ward e-mail",
        care_team=red_alert.care_team,
        kind=ChannelKind.EMAIL,
        target="ward@example.nhs.uk",
        min_level="green",
    )
    Channel.objects.create(
        name="On-call phone",
        care_team=red_alert.care_team,
        kind=ChannelKind.SMS,
        target="+44 7700 900123",
    )
    outbox._deliveries_create([red_alert], purpose=DeliveryPurpose.ALERT, now=timezone.now())
    summary = services.deliveries_sweep()
    # Webhook, ward e-mail, SMS, and the team's automatic advice-line e-mail (the alert was
    # raised before the team had channels).
    assert summary["sent"] == 4

    (request,) = hook.received
    (text,) = sms.outbox
    assert len(mail.outbox) == 2
    link = f"https://tracker.example.nhs.uk/nurse/alerts/{red_alert.pk}/"
    outgoing = {
        "webhook": request.body.decode(),
        "sms": text["body"],
        **{
            f"email to {m.to}": m.subject + "\n" + m.body + json.dumps(dict(m.extra_headers))
            for m in mail.outbox
        },
    }
    forbidden = [
        patient.given_name,
        patient.family_name,
        patient.nhs_number,
        patient.formatted_nhs_number,
        PRIVATE_NOTE,
        "Confidential",
        "chest_pain",  # the reason (symptom) is clinical detail too
        patient.user.username,
    ]
    for where, content in outgoing.items():
        assert link in content, where
        for secret in forbidden:
            assert secret not in content, (where, secret)
    body = request.json
    assert set(body) == {
        "delivery_id",
        "event",
        "team",
        "team_id",
        "alert_id",
        "level",
        "kind",
        "status",
        "created_at",
        "due_by",
        "escalated",
        "url",
    }
    assert body["level"] == "red" and body["kind"] == "symptom" and body["url"] == link


def test_a_sender_killed_mid_send_is_reclaimed_and_sent_again(red_alert, receiver):
    hook = receiver()
    channel = webhook_channel(red_alert.care_team, hook.url)
    outbox._deliveries_create([red_alert], purpose=DeliveryPurpose.ALERT, now=T0)
    delivery = only_delivery(channel)
    # What a killed worker leaves: claimed ("sending"), an attempt with no result.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING, claimed_at=T0, attempts=1
    )
    DeliveryAttempt.objects.create(delivery=delivery, started_at=T0)

    with time_machine.travel(T0 + timedelta(seconds=60), tick=False):
        assert services.deliveries_sweep()["reclaimed"] == 0  # may still be sending
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        summary = services.deliveries_sweep()
    assert summary["reclaimed"] == 1 and summary["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    first, second = delivery.attempt_log.all()
    assert not first.ok and "stopped" in first.error and second.ok
    assert len(hook.received) == 1


def test_two_senders_cannot_send_one_delivery_at_once(red_alert, receiver):
    hook = receiver()
    channel = webhook_channel(red_alert.care_team, hook.url)
    outbox._deliveries_create([red_alert], purpose=DeliveryPurpose.ALERT, now=timezone.now())
    delivery = only_delivery(channel)
    assert services.delivery_send(delivery_id=delivery.pk) == "sent"
    assert services.delivery_send(delivery_id=delivery.pk) == "not due"
    assert tasks.send_delivery(delivery.pk)["result"] == "not due"
    assert len(hook.received) == 1


def test_channels_only_get_alerts_at_or_above_their_minimum_level(patient, receiver):
    hook = receiver()
    red_only = webhook_channel(patient.care_team, hook.url, min_level="red")
    triaged_report(patient, level="amber")
    assert not Delivery.objects.filter(channel=red_only).exists()
    triaged_report(patient, level="red")
    assert Delivery.objects.filter(channel=red_only).count() == 1


def test_escalation_only_channels_do_not_get_new_alerts(patient, receiver):
    on_call = webhook_channel(patient.care_team, receiver().url, purpose=ChannelPurpose.ESCALATION)
    triaged_report(patient, level="red")
    assert not Delivery.objects.filter(channel=on_call).exists()


def test_a_team_without_channels_gets_its_advice_line_email(patient):
    triaged_report(patient, level="amber")
    (channel,) = Channel.objects.filter(care_team=patient.care_team)
    assert channel.kind == ChannelKind.EMAIL
    assert channel.target == patient.care_team.advice_line_email
    services.deliveries_sweep()
    assert [m.to for m in mail.outbox] == [[patient.care_team.advice_line_email]]
    assert "AMBER alert" in mail.outbox[0].subject


def test_an_inactive_channel_gets_nothing(patient, receiver):
    channel = webhook_channel(patient.care_team, receiver().url, is_active=False)
    triaged_report(patient, level="red")
    assert not Delivery.objects.filter(channel=channel).exists()


def test_send_test_message(patient, receiver):
    hook = receiver()
    channel = webhook_channel(patient.care_team, hook.url)
    delivery = services.channel_send_test(channel=channel)
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.purpose == DeliveryPurpose.TEST and delivery.alert is None
    assert hook.received[0].json["event"] == "test"
    assert hook.received[0].json["alert_id"] is None


def test_an_unreachable_webhook_is_a_failed_attempt_not_an_exception(patient):
    channel = webhook_channel(patient.care_team, "http://127.0.0.1:1/hook?token=pager-token-77")
    triaged_report(patient, level="red")
    assert services.deliveries_sweep()["retrying"] == 1
    attempt = DeliveryAttempt.objects.get(delivery__channel=channel)
    assert not attempt.ok and attempt.status_code is None
    assert "ConnectionError" in attempt.error
    # The receiver's URL (which may carry a token) is not copied into errors or logs.
    channel.refresh_from_db()
    assert "pager-token-77" not in attempt.error + channel.last_error


def test_without_an_sms_gateway_a_text_fails_visibly_instead_of_vanishing(red_alert, settings):
    # The production default: no gateway configured. The delivery must record a failure the
    # admin sees (and be retried), never count as sent.
    settings.SMS_BACKEND = "notifications.sms.UnconfiguredSMSBackend"
    channel = Channel.objects.create(
        name="On-call phone",
        care_team=red_alert.care_team,
        kind=ChannelKind.SMS,
        target="+44 7700 900123",
    )
    outbox._deliveries_create([red_alert], purpose=DeliveryPurpose.ALERT, now=timezone.now())
    services.deliveries_sweep()

    delivery = only_delivery(channel)
    assert delivery.status != DeliveryStatus.SENT
    (attempt,) = delivery.attempt_log.all()
    assert "no SMS gateway is configured" in attempt.error
    assert sms.outbox == []
