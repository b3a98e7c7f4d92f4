"""Alerts a later dose log makes stale (issue 16, point 3): a supply alert closes itself when
the patient takes a dose after reporting they ran out, or records "I took it after all"; a
missed dose logged late adds a line to the open missed-dose alert, which stays for the nurse."""

import pytest
from django.urls import reverse

from medications import services as medication_services
from notifications import services
from notifications.models import (
    Alert,
    AlertEventKind,
    AlertKind,
    AlertOutcome,
    AlertStatus,
)

from .helpers import dose_at, prescribe, take_doses, utc

pytestmark = pytest.mark.django_db

START = utc(2026, 3, 2, 7)  # sorafenib 08:00 and 20:00 London (= UTC), 6-hour late window
DAY8_MORNING = utc(2026, 3, 9, 8)
DAY8_EVENING = utc(2026, 3, 9, 20)


@pytest.fixture
def prescription(patient):
    rx = prescribe(patient, now=START)
    take_doses(rx, before=DAY8_MORNING)
    return rx


def _log(patient, due_at, action, *, now, at=None, reason=""):
    return medication_services.dose_log(
        dose=dose_at(patient.prescriptions.get(), due_at),
        action=action,
        reason=reason,
        at=at,
        recorded_by=patient.user,
        now=now,
    )


def _supply_alert():
    return Alert.objects.get(kind=AlertKind.SUPPLY)


def test_took_it_after_all_closes_the_supply_alert(patient, prescription):
    _log(patient, DAY8_MORNING, "skipped", reason="ran_out", now=utc(2026, 3, 9, 8, 5))
    assert _supply_alert().status == AlertStatus.OPEN

    # The patient corrects the same dose: "I took it after all".
    _log(patient, DAY8_MORNING, "taken", now=utc(2026, 3, 9, 9, 30), at=utc(2026, 3, 9, 9, 0))

    alert = _supply_alert()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.outcome == AlertOutcome.DOSES_RESUMED
    assert "took the dose after all" in alert.resolution_note
    event = alert.events.get(kind=AlertEventKind.RESOLVED)
    assert event.actor is None and event.data["automatic"] and event.data["took_after_all"]


def test_a_later_dose_taken_closes_the_supply_alert_even_once_acknowledged(
    patient, prescription, nurse
):
    _log(patient, DAY8_MORNING, "skipped", reason="ran_out", now=utc(2026, 3, 9, 8, 5))
    services.alert_acknowledge(alert=_supply_alert(), user=nurse)

    _log(patient, DAY8_EVENING, "taken", now=utc(2026, 3, 9, 20, 5))

    alert = _supply_alert()
    assert alert.status == AlertStatus.RESOLVED
    assert "took a dose after reporting they had run out" in alert.resolution_note


def test_an_earlier_dose_logged_late_leaves_the_supply_alert_open(patient, prescription):
    # Ran out this evening; this morning's dose is logged afterwards as taken at 08:10.
    _log(patient, DAY8_EVENING, "skipped", reason="ran_out", now=utc(2026, 3, 9, 20, 5))
    _log(patient, DAY8_MORNING, "taken", now=utc(2026, 3, 9, 20, 10), at=utc(2026, 3, 9, 8, 10))
    assert _supply_alert().status == AlertStatus.OPEN


def test_a_nurse_resolved_supply_alert_is_left_as_the_nurse_closed_it(patient, prescription, nurse):
    _log(patient, DAY8_MORNING, "skipped", reason="ran_out", now=utc(2026, 3, 9, 8, 5))
    services.alert_resolve(
        alert=_supply_alert(), user=nurse, outcome="supply_arranged", note="Pharmacy posted."
    )
    _log(patient, DAY8_EVENING, "taken", now=utc(2026, 3, 9, 20, 5))
    alert = _supply_alert()
    assert alert.outcome == "supply_arranged" and alert.resolved_by == nurse


def test_a_missed_dose_logged_late_adds_a_line_and_the_alert_stays_for_the_nurse(
    client, nurse, patient, prescription
):
    services.missed_doses_sweep(now=utc(2026, 3, 9, 14, 0, 1))
    (alert,) = Alert.objects.filter(kind=AlertKind.MISSED_DOSE)

    # Taken at 15:00, after the 14:00 window closed: "taken late"; sent twice (a retry).
    _log(patient, DAY8_MORNING, "taken", now=utc(2026, 3, 9, 15), at=utc(2026, 3, 9, 15))
    _log(patient, DAY8_MORNING, "taken", now=utc(2026, 3, 9, 15, 1), at=utc(2026, 3, 9, 15))

    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN  # stays for the nurse
    (line,) = alert.details["logged_late"]  # the same log repeated adds one line
    assert line["local"] == "2026-03-09 08:00" and line["taken_at"].startswith("2026-03-09T15:00")
    assert alert.events.filter(kind=AlertEventKind.UPDATED).count() == 1

    client.force_login(nurse)
    queue = client.get(reverse("notifications:queue")).content.decode()
    assert "Taken later: 08:00, 9 Mar" in queue
    page = client.get(reverse("notifications:alert", args=[alert.pk])).content.decode()
    assert "Taken later: 08:00, 9 Mar" in page
    assert "logged as taken later" in page  # the history says so too


def test_a_dose_not_on_the_alert_adds_no_line(patient, prescription):
    services.missed_doses_sweep(now=utc(2026, 3, 9, 14, 0, 1))
    _log(patient, DAY8_EVENING, "taken", now=utc(2026, 3, 9, 20, 5))
    alert = Alert.objects.get(kind=AlertKind.MISSED_DOSE)
    assert "logged_late" not in alert.details
