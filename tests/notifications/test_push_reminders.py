"""Dose reminders by Web Push, end to end against a local push endpoint: the real encrypted
request (RFC 8291 aes128gcm, VAPID RFC 8292) is decrypted with the subscription's private
key; 201 is sent; 404/410 removes the subscription and the reminder goes by SMS in the next
sweep; other failures fall back too; no channel at all is recorded and, after 48 hours,
shows as "reminders unreachable"."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from py_vapid import Vapid02

from core.vapid import vapid_keys
from medications.models import ExpectedDose
from notifications import services, sms
from notifications.models import Delivery, DeliveryPurpose, DeliveryStatus
from patients.models import PushSubscription
from patients.reminders import reminder_status

from .helpers import prescribe, utc
from .push_helpers import subscribe

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # London is on GMT: 08:00 local is 08:00 UTC
DUE = utc(2026, 3, 2, 8)
FORBIDDEN = ["sorafenib", "Sorafenib", "Nexavar", "400", "mg", "cancer", "liver", "Liver"]


def remind(now):
    """One reminder sweep and one delivery sweep, as `manage.py sweep` runs them."""
    queued = services.dose_reminders_sweep(now=now)
    sent = services.deliveries_sweep(now=now)
    return queued, sent


def reminder_rows(patient):
    return list(Delivery.objects.filter(patient=patient, purpose=DeliveryPurpose.REMINDER))


def test_a_reminder_reaches_the_browser_encrypted_with_the_time_and_two_actions(patient, receiver):
    endpoint = receiver(statuses=[201])
    subscription, keys = subscribe(patient, endpoint.url)
    rx = prescribe(patient, now=START)
    dose = rx.expected_doses.get(due_at=DUE)

    assert services.dose_reminders_sweep(now=DUE - timedelta(minutes=1))["reminders_queued"] == 0
    queued, sent = remind(DUE)

    assert queued["reminders_queued"] == 1 and sent["sent"] == 1
    (request,) = endpoint.received
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["urgency"] == "high"
    assert int(headers["ttl"]) > 0
    assert headers["topic"] == f"dose-{dose.pk}"
    # VAPID (RFC 8292): signed by our key, for this push service's origin.
    assert headers["authorization"].startswith("vapid t=")
    assert f"k={vapid_keys().public_key}" in headers["authorization"]
    assert Vapid02.verify(headers["authorization"])

    payload = keys.decrypt(request.body)
    assert payload["title"] == "It's time for your 08:00 medicine"
    assert [action["action"] for action in payload["actions"]] == ["taken", "open"]
    assert payload["taken_url"].startswith(f"{settings.SITE_URL}/api/v1/push/taken/{dose.pk}/?t=")
    assert payload["open_url"] == f"{settings.SITE_URL}/me/"
    assert payload["tag"] == f"dose-{dose.pk}"
    # the Taken link carries a random token, which may spell "mg" or "400" by chance
    text = str({key: value for key, value in payload.items() if key != "taken_url"})
    for word in [*FORBIDDEN, patient.family_name, patient.given_name]:
        assert word not in text

    (delivery,) = reminder_rows(patient)
    assert delivery.status == DeliveryStatus.SENT and delivery.route == "push"
    (attempt,) = delivery.attempt_log.all()
    assert (attempt.route, attempt.ok, attempt.status_code) == ("push", True, 201)
    subscription.refresh_from_db()
    assert subscription.last_success_at is not None
    patient.refresh_from_db()
    assert patient.reminders_reached_at is not None and patient.reminders_failing_since is None
    assert sms.outbox == [] and mail.outbox == []
    # Sent once: the next sweeps find nothing new until the first repeat.
    assert remind(DUE + timedelta(minutes=1))[0]["reminders_queued"] == 0
    assert len(endpoint.received) == 1


@pytest.mark.parametrize("gone", [404, 410])
def test_a_gone_subscription_is_deleted_and_the_reminder_goes_by_sms_in_the_next_sweep(
    patient, receiver, gone
):
    patient.mobile_phone = "+44 7700 900456"
    patient.save()
    endpoint = receiver(statuses=[gone])
    subscribe(patient, endpoint.url)
    prescribe(patient, now=START)

    queued, first = remind(DUE)
    assert len(endpoint.received) == 1
    assert not PushSubscription.objects.filter(patient=patient).exists()
    assert sms.outbox == []
    (delivery,) = reminder_rows(patient)
    assert delivery.status == DeliveryStatus.PENDING and delivery.route == "sms"

    second = services.deliveries_sweep(now=DUE + timedelta(seconds=30))
    assert second["sent"] == 1
    (message,) = sms.outbox
    assert message["to"] == "+44 7700 900456"
    assert message["body"].startswith("It's time for your 08:00 medicine.")
    assert f"{settings.SITE_URL}/me/" in message["body"]
    for word in FORBIDDEN:
        assert word not in message["body"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.sent_at - DUE <= timedelta(minutes=15)
    attempts = [(a.route, a.ok, a.status_code) for a in delivery.attempt_log.all()]
    assert attempts == [("push", False, gone), ("sms", True, None)]
    assert mail.outbox == []


def test_a_push_service_error_keeps_the_subscription_and_falls_back_to_email(patient, receiver):
    endpoint = receiver(statuses=[503])
    subscription, _ = subscribe(patient, endpoint.url)
    prescribe(patient, now=START)

    remind(DUE)
    services.deliveries_sweep(now=DUE + timedelta(seconds=30))

    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1
    (message,) = mail.outbox
    assert message.to == [patient.user.email]
    assert message.subject == "Medicine reminder"
    assert "It's time for your 08:00 medicine." in message.body
    for word in FORBIDDEN:
        assert word not in message.body + message.subject
    (delivery,) = reminder_rows(patient)
    assert [(a.route, a.status_code) for a in delivery.attempt_log.all()] == [
        ("push", 503),
        ("email", None),
    ]


def test_every_device_of_the_patient_gets_it_and_a_gone_one_is_removed(patient, receiver):
    phone = receiver(statuses=[201])
    old_laptop = receiver(statuses=[410])
    subscribe(patient, phone.url, device="Chrome on Android")
    gone, _ = subscribe(patient, old_laptop.url, device="Firefox on Windows")
    prescribe(patient, now=START)

    remind(DUE)

    assert len(phone.received) == 1 and len(old_laptop.received) == 1
    assert not PushSubscription.objects.filter(pk=gone.pk).exists()
    assert PushSubscription.objects.filter(patient=patient).count() == 1
    (delivery,) = reminder_rows(patient)
    assert delivery.status == DeliveryStatus.SENT
    assert mail.outbox == []


def test_without_any_channel_the_failure_is_recorded_and_after_48_hours_unreachable(patient):
    patient.user.email = ""
    patient.user.save()
    prescribe(patient, now=START)

    remind(DUE)

    (delivery,) = reminder_rows(patient)
    assert delivery.status == DeliveryStatus.FAILED
    assert "no way to reach the patient" in delivery.last_error
    patient.refresh_from_db()
    assert patient.reminders_failing_since == DUE
    assert not patient.reminders_unreachable(DUE + timedelta(hours=47))
    assert patient.reminders_unreachable(DUE + timedelta(hours=48))
    status = reminder_status(patient, DUE + timedelta(hours=48))
    assert status.unreachable and not status.reachable and status.channels == []


def test_a_reminder_that_gets_through_clears_unreachable(patient):
    patient.user.email = ""
    patient.user.save()
    prescribe(patient, now=START)
    remind(DUE)
    patient.refresh_from_db()
    assert patient.reminders_failing_since == DUE

    patient.mobile_phone = "07700 900123"
    patient.save()
    remind(DUE + timedelta(days=2))

    patient.refresh_from_db()
    assert patient.reminders_failing_since is None
    assert patient.reminders_reached_at - (DUE + timedelta(days=2)) < timedelta(seconds=5)
    assert not patient.reminders_unreachable(DUE + timedelta(days=3))


def test_reminders_come_the_chosen_minutes_early_and_not_at_all_when_off(patient, receiver):
    patient.reminder_minutes_before = 15
    patient.save()
    prescribe(patient, now=START)

    assert remind(DUE - timedelta(minutes=16))[0]["reminders_queued"] == 0
    assert remind(DUE - timedelta(minutes=15))[0]["reminders_queued"] == 1
    assert len(mail.outbox) == 1

    patient.reminders_enabled = False
    patient.save()
    assert remind(utc(2026, 3, 2, 20))[0]["reminders_queued"] == 0
    assert remind(utc(2026, 3, 2, 20, 30))[0]["repeats_queued"] == 0
    assert len(mail.outbox) == 1


def test_a_reminder_waiting_in_the_outbox_is_cancelled_once_the_dose_is_logged(patient):
    from medications import services as medication_services

    prescribe(patient, now=START)
    services.dose_reminders_sweep(now=DUE)
    dose = ExpectedDose.objects.get(patient=patient, due_at=DUE)
    medication_services.dose_log(
        dose=dose, action="taken", recorded_by=patient.user, now=DUE + timedelta(seconds=10)
    )

    summary = services.deliveries_sweep(now=DUE + timedelta(seconds=20))

    assert summary["cancelled"] == 1 and mail.outbox == []
    (delivery,) = reminder_rows(patient)
    assert delivery.status == DeliveryStatus.CANCELLED
    patient.refresh_from_db()
    assert patient.reminders_failing_since is None  # not needed is not unreachable


def test_the_entry_point_for_other_reminders_uses_the_same_chain_once_per_key(patient, receiver):
    endpoint = receiver(statuses=[201])
    _, keys = subscribe(patient, endpoint.url)
    now = utc(2026, 3, 2, 10)

    first = services.reminder_queue(
        patient=patient,
        kind="check_in",
        title="Your weekly check-in is open",
        dedup_key="check_in:1:opened",
        open_path="/me/check-in/",
        expires_at=now + timedelta(days=1),
        now=now,
    )
    again = services.reminder_queue(
        patient=patient.pk,
        kind="check_in",
        title="Your weekly check-in is open",
        dedup_key="check_in:1:opened",
        now=now,
    )
    services.deliveries_sweep(now=now)

    assert first is not None and again is None
    (request,) = endpoint.received
    payload = keys.decrypt(request.body)
    assert payload["title"] == "Your weekly check-in is open"
    assert payload["open_url"] == f"{settings.SITE_URL}/me/check-in/"
    assert [action["action"] for action in payload["actions"]] == ["open"]
    assert payload["taken_url"] is None
