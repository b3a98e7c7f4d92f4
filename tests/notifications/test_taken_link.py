"""The reminder's "Taken" action: a single-use signed link for one dose, answered by POST with
no body and no session, valid until the dose's window closes, audited as the patient's own
log through the push channel; refused (nothing logged) after use, for another dose, expired
or altered."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from medications import services as medication_services
from medications.models import DoseLog, DoseState, ExpectedDose
from notifications import reminder_channels, services
from notifications.models import Delivery
from patients.models import AuditEvent

from .helpers import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)
DUE = utc(2026, 3, 2, 8)


def taken_url(patient, due_at=DUE) -> str:
    """The taken_url of the reminder the sweep queued for the dose due at `due_at`."""
    services.dose_reminders_sweep(now=due_at)
    dose = ExpectedDose.objects.get(patient=patient, due_at=due_at)
    delivery = Delivery.objects.select_related("expected_dose").get(expected_dose=dose)
    url = reminder_channels.push_payload(delivery)["taken_url"]
    assert url.startswith(settings.SITE_URL)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def press_taken(url: str, at):
    with time_machine.travel(at, tick=False):
        return APIClient().post(url)  # no session, no body


@pytest.fixture
def rx(patient):
    return prescribe(patient, now=START)


def logs(patient) -> int:
    return DoseLog.objects.filter(expected_dose__patient=patient).count()


def test_taken_logs_that_dose_once_as_the_patient_through_the_push_channel(patient, rx):
    url = taken_url(patient)

    answer = press_taken(url, DUE + timedelta(minutes=5))

    assert answer.status_code == 201, answer.content
    dose = ExpectedDose.objects.get(patient=patient, due_at=DUE)
    assert answer.json() == {"dose": dose.pk, "state": "taken"}
    assert dose.state == DoseState.TAKEN
    assert dose.taken_at == DUE + timedelta(minutes=5)
    (log,) = DoseLog.objects.filter(expected_dose=dose)
    assert log.recorded_by == patient.user and log.action == "taken"
    (event,) = AuditEvent.objects.filter(patient=patient)
    assert event.actor == patient.user and event.actor_role == "patient"
    assert event.action == "create" and "push reminder" in event.what
    assert event.path == f"/api/v1/push/taken/{dose.pk}/"  # the token is not kept
    assert event.status_code == 201


def test_a_second_use_is_refused_and_logs_nothing(patient, rx):
    url = taken_url(patient)
    assert press_taken(url, DUE + timedelta(minutes=5)).status_code == 201

    again = press_taken(url, DUE + timedelta(minutes=20))

    assert again.status_code == 409
    assert again.json()["reason"] == "used"
    assert logs(patient) == 1
    assert AuditEvent.objects.filter(patient=patient).count() == 1


def test_the_link_of_an_earlier_reminder_is_refused_once_the_dose_is_logged(patient, rx):
    first = taken_url(patient)
    with time_machine.travel(DUE + timedelta(minutes=30), tick=False):
        services.dose_reminders_sweep()
    dose = ExpectedDose.objects.get(patient=patient, due_at=DUE)
    repeat = Delivery.objects.select_related("expected_dose").get(dedup_key=f"dose:{dose.pk}:1")
    second = urlsplit(reminder_channels.push_payload(repeat)["taken_url"])
    assert (
        press_taken(f"{second.path}?{second.query}", DUE + timedelta(minutes=31)).status_code == 201
    )

    assert press_taken(first, DUE + timedelta(minutes=32)).status_code == 409
    assert logs(patient) == 1


def test_a_dose_logged_in_the_app_first_refuses_the_link(patient, rx):
    url = taken_url(patient)
    dose = ExpectedDose.objects.get(patient=patient, due_at=DUE)
    medication_services.dose_log(
        dose=dose, action="skipped", reason="vomited", recorded_by=patient.user, now=DUE
    )

    answer = press_taken(url, DUE + timedelta(minutes=5))

    assert answer.status_code == 409
    dose.refresh_from_db()
    assert dose.state == DoseState.SKIPPED and logs(patient) == 1


def test_another_doses_id_is_refused(patient, rx):
    url = taken_url(patient)
    other = ExpectedDose.objects.get(patient=patient, due_at=utc(2026, 3, 2, 20))
    this = ExpectedDose.objects.get(patient=patient, due_at=DUE)

    answer = press_taken(url.replace(f"/{this.pk}/", f"/{other.pk}/"), DUE + timedelta(minutes=5))

    assert answer.status_code == 404
    assert logs(patient) == 0
    assert AuditEvent.objects.filter(patient=patient).count() == 0


def test_an_expired_link_is_refused(patient, rx):
    url = taken_url(patient)
    dose = ExpectedDose.objects.get(patient=patient, due_at=DUE)

    answer = press_taken(url, dose.late_until)

    assert answer.status_code == 410
    assert logs(patient) == 0
    dose.refresh_from_db()
    assert dose.state == DoseState.PENDING


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"),  # signature
        lambda url: url.split("?")[0] + "?t=",  # no token
        lambda url: url.split("?")[0],  # no query at all
        lambda url: url.replace("?t=", "?t=x"),  # payload changed
    ],
)
def test_an_altered_link_is_refused(patient, rx, tamper):
    url = taken_url(patient)

    answer = press_taken(tamper(url), DUE + timedelta(minutes=5))

    assert answer.status_code == 404
    assert logs(patient) == 0


def test_only_post_answers(patient, rx):
    url = taken_url(patient)
    with time_machine.travel(DUE, tick=False):
        assert APIClient().get(url).status_code == 405
    assert logs(patient) == 0
