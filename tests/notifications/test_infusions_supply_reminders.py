"""Missed infusions (drugs.md: neither given nor rescheduled 24 h after the planned start ->
amber), "ran out of tablets" supply alerts (adherence.md), and the sweep command."""

from datetime import timedelta

import pytest
import time_machine

from medications import services as medication_services
from medications.models import AppointmentState, DoseLog, DoseState
from notifications import receivers, services
from notifications.models import Alert, AlertKind, AlertLevel, AlertStatus
from notifications.services import sources

from .helpers import dose_at, prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)


# --- missed infusions ---------------------------------------------------------------------


@pytest.fixture
def course(patient):
    return medication_services.infusion_course_create(
        patient=patient,
        drugs=["atezolizumab", "bevacizumab"],
        first_infusion_at=utc(2026, 3, 3, 9),
        override_reason="test set-up",
        now=START,
    )


def test_an_infusion_not_given_24_hours_after_its_start_is_missed_with_one_amber_alert(course):
    first = course.appointments.get(cycle_number=1)
    assert services.missed_infusions_sweep(now=utc(2026, 3, 4, 8, 59))["infusions_missed"] == 0
    summary = services.missed_infusions_sweep(now=utc(2026, 3, 4, 9))
    again = services.missed_infusions_sweep(now=utc(2026, 3, 4, 10))

    assert summary == {"infusions_missed": 1, "alerts_raised": 1}
    assert again == {"infusions_missed": 0, "alerts_raised": 0}
    first.refresh_from_db()
    assert first.state == AppointmentState.MISSED
    (alert,) = Alert.objects.all()
    assert alert.kind == AlertKind.MISSED_INFUSION and alert.level == AlertLevel.AMBER
    assert alert.appointment_id == first.pk
    assert alert.due_by == utc(2026, 3, 4, 9) + timedelta(hours=4)


def test_an_infusion_given_or_rescheduled_in_time_is_not_missed(course, nurse):
    first = course.appointments.get(cycle_number=1)
    medication_services.infusion_reschedule(
        appointment=first,
        scheduled_at=utc(2026, 3, 5, 9),
        reason="Patient unwell",
        recorded_by=nurse,
        now=utc(2026, 3, 3, 8),
    )
    assert services.missed_infusions_sweep(now=utc(2026, 3, 4, 10))["infusions_missed"] == 0
    assert not Alert.objects.exists()


def test_state_changed_underneath_no_infusion_alert(course, nurse, monkeypatch):
    """Given between the sweep's read and its update: not missed, no alert."""
    first = course.appointments.get(cycle_number=1)
    real = sources._claim_ids

    def read_then_give(queryset, limit):
        ids = real(queryset, limit)
        medication_services.infusion_mark_given(
            appointment=first, given_at=utc(2026, 3, 3, 9), now=utc(2026, 3, 4, 9, 30)
        )
        return ids

    monkeypatch.setattr(sources, "_claim_ids", read_then_give)
    summary = services.missed_infusions_sweep(now=utc(2026, 3, 4, 10))
    assert summary == {"infusions_missed": 0, "alerts_raised": 0}
    first.refresh_from_db()
    assert first.state == AppointmentState.GIVEN
    assert not Alert.objects.exists()


# --- "ran out of tablets" -----------------------------------------------------------------


@pytest.fixture
def prescription(patient):
    return prescribe(patient, now=START)


def skip(dose, patient, reason, at):
    return medication_services.dose_log(
        dose=dose, action="skipped", reason=reason, recorded_by=patient.user, now=at
    )


def test_ran_out_raises_one_amber_supply_alert_per_dose_log(prescription, patient):
    skip(dose_at(prescription, utc(2026, 3, 2, 8)), patient, "ran_out", utc(2026, 3, 2, 8, 5))
    # The same request again (a retry) is one log, so still one alert.
    skip(dose_at(prescription, utc(2026, 3, 2, 8)), patient, "ran_out", utc(2026, 3, 2, 8, 6))
    (alert,) = Alert.objects.all()
    assert alert.kind == AlertKind.SUPPLY and alert.level == AlertLevel.AMBER
    log = DoseLog.objects.get()
    assert alert.dedup_key == f"supply:dose_log:{log.pk}"
    assert alert.prescription_id == prescription.pk

    skip(dose_at(prescription, utc(2026, 3, 2, 20)), patient, "ran_out", utc(2026, 3, 2, 20, 5))
    assert Alert.objects.filter(kind=AlertKind.SUPPLY).count() == 2


def test_other_skip_reasons_raise_no_alert(prescription, patient):
    skip(dose_at(prescription, utc(2026, 3, 2, 8)), patient, "forgot", utc(2026, 3, 2, 8, 5))
    assert not Alert.objects.exists()


def test_a_supply_alert_the_receiver_could_not_raise_is_raised_by_the_sweep(
    prescription, patient, monkeypatch
):
    monkeypatch.setattr(
        services, "dose_log_alerts_update", lambda **kw: (_ for _ in ()).throw(RuntimeError())
    )
    skip(dose_at(prescription, utc(2026, 3, 2, 8)), patient, "ran_out", utc(2026, 3, 2, 8, 5))
    assert DoseLog.objects.count() == 1 and not Alert.objects.exists()
    monkeypatch.undo()

    now = utc(2026, 3, 2, 9)
    assert services.unraised_supply_alerts_sweep(now=now) == {"alerts_raised": 1}
    assert services.unraised_supply_alerts_sweep(now=now) == {"alerts_raised": 0}
    assert Alert.objects.get().kind == AlertKind.SUPPLY


def test_a_resolved_supply_alert_is_not_raised_again(prescription, patient, nurse):
    skip(dose_at(prescription, utc(2026, 3, 2, 8)), patient, "ran_out", utc(2026, 3, 2, 8, 5))
    services.alert_resolve(
        alert=Alert.objects.get(), user=nurse, outcome="supply_arranged", note="Pharmacy posted."
    )
    assert services.unraised_supply_alerts_sweep(now=utc(2026, 3, 2, 9))["alerts_raised"] == 0
    assert Alert.objects.get().status == AlertStatus.RESOLVED


def test_the_dose_log_receiver_never_breaks_logging(prescription, patient, monkeypatch):
    monkeypatch.setattr(
        services, "dose_log_alerts_update", lambda **kw: (_ for _ in ()).throw(ValueError())
    )
    result = medication_services.dose_log(
        dose=dose_at(prescription, utc(2026, 3, 2, 8)),
        action="taken",
        recorded_by=patient.user,
        now=utc(2026, 3, 2, 8, 5),
    )
    assert result.dose.state == DoseState.TAKEN
    assert receivers.update_alerts_for_dose_log  # connected in NotificationsConfig.ready


# --- the sweep command ----------------------------------------------------------------------
# Dose reminders have their own tests: test_push_reminders.py, test_reminder_repeats.py,
# test_taken_link.py and test_reminders_postgres.py.


def test_the_sweep_command_runs_every_job(patient, capsys):
    from django.core.management import call_command

    prescribe(patient, now=START)
    with time_machine.travel(utc(2026, 3, 2, 15), tick=False):
        call_command("sweep")
    out = capsys.readouterr().out
    for name in [
        "missed-doses",
        "missed-infusions",
        "unraised-alerts",
        "unraised-supply-alerts",
        "alert-escalations",
        "dose-reminders",
        "alert-deliveries",
    ]:
        assert f"{name}:" in out
    assert "doses_missed 1" in out
    assert Alert.objects.filter(kind=AlertKind.MISSED_DOSE).count() == 1
