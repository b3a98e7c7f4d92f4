"""The Account page without JavaScript: a patient turns reminders off or earlier, sees which
channels reach them (and a warning when none has for 48 hours), removes a device; staff see
no reminder section. The web app's manifest, service worker and offline page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from patients.models import AuditEvent, PushSubscription
from tests.notifications.push_helpers import subscribe

pytestmark = pytest.mark.django_db


def test_a_patient_sees_their_reminders_and_channels(client, patient):
    patient.mobile_phone = "07700 900456"
    patient.save()
    subscribe(patient, "https://fcm.googleapis.com/fcm/send/abc", device="Chrome on Android")
    client.force_login(patient.user)

    page = client.get("/accounts/").content.decode()

    assert "Medicine reminders" in page
    assert 'name="enabled" id="id_enabled" checked' in page
    assert "Notifications: on 1 device" in page
    assert "Text message: to 07700 900456" in page
    assert f"E-mail: to {patient.user.email}" in page
    assert "Chrome on Android" in page
    assert "fcm.googleapis.com" not in page  # the endpoint is never shown
    assert AuditEvent.objects.filter(patient=patient, actor=patient.user).exists()


def test_a_patient_turns_reminders_off_and_earlier(client, patient):
    client.force_login(patient.user)
    answer = client.post("/accounts/", {"action": "reminders", "minutes_before": "30"})
    assert answer.status_code == 302
    patient.refresh_from_db()
    assert patient.reminders_enabled is False and patient.reminder_minutes_before == 30
    assert "Reminders are off." in client.get("/accounts/").content.decode()

    client.post("/accounts/", {"action": "reminders", "enabled": "on", "minutes_before": "0"})
    patient.refresh_from_db()
    assert patient.reminders_enabled is True


def test_a_bad_choice_is_refused_with_a_message_and_nothing_changes(client, patient):
    client.force_login(patient.user)
    answer = client.post(
        "/accounts/", {"action": "reminders", "enabled": "on", "minutes_before": "90"}
    )
    assert answer.status_code == 400
    assert "Choose one of the times in the list." in answer.content.decode()
    patient.refresh_from_db()
    assert patient.reminder_minutes_before == 0


def test_unreachable_reminders_are_shown_to_the_patient(client, patient):
    patient.reminders_failing_since = timezone.now() - timedelta(hours=49)
    patient.save()
    client.force_login(patient.user)
    assert "Your reminders have not reached you since" in client.get("/accounts/").content.decode()


def test_a_patient_removes_their_own_device_only(client, patient, other_patient):
    mine, _ = subscribe(patient, "https://fcm.googleapis.com/fcm/send/mine")
    theirs, _ = subscribe(other_patient, "https://fcm.googleapis.com/fcm/send/theirs")
    client.force_login(patient.user)

    client.post("/accounts/", {"action": "remove_device", "device": str(theirs.pk)})
    assert PushSubscription.objects.filter(pk=theirs.pk).exists()
    client.post("/accounts/", {"action": "remove_device", "device": "x"})
    answer = client.post("/accounts/", {"action": "remove_device", "device": str(mine.pk)})

    assert answer.status_code == 302
    assert not PushSubscription.objects.filter(pk=mine.pk).exists()


def test_staff_see_no_reminder_section(client, nurse):
    client.force_login(nurse)
    page = client.get("/accounts/").content.decode()
    assert "Medicine reminders" not in page
    assert client.post("/accounts/", {"action": "reminders"}).status_code == 405


def test_manifest_service_worker_and_offline_page(client, patient):
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"] == "/me/"

    worker = client.get("/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/"
    assert b"showNotification" in worker.content

    anonymous = client.get("/offline/").content.decode()
    assert "0800 000 0000" in anonymous and "999" in anonymous

    client.force_login(patient.user)
    page = client.get("/offline/").content.decode()
    assert patient.care_team.advice_line_phone in page
    assert patient.given_name not in page and patient.family_name not in page
    assert "csrfmiddlewaretoken" not in page
