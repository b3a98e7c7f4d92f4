"""A dose log and the missed-dose sweep racing on one dose (real PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from medications import services
from medications.models import DoseLog, DoseState, ExpectedDose
from medications.signals import dose_logged

from .conftest import prescribe, utc

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def sweep_marks_missed(dose_id: int, result: dict) -> None:
    """What the notifications sweep does: a conditional update on the pending state."""
    try:
        result["updated"] = ExpectedDose.objects.filter(pk=dose_id, state="pending").update(
            state="missed"
        )
    finally:
        connection.close()


def _log_taken_running(inside, *, dose, patient) -> None:
    """Log the dose as taken at 08:05, running `inside` within the log's transaction (from
    the dose_logged signal: the dose's row is locked and updated, not yet committed)."""
    dose_logged.connect(inside)
    try:
        services.dose_log(
            dose=dose, action="taken", recorded_by=patient.user, now=utc(2026, 3, 2, 8, 5)
        )
    finally:
        dose_logged.disconnect(inside)


def test_sweep_waiting_on_a_log_in_progress_changes_nothing(patient):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    dose = prescription.expected_doses.get(due_at=utc(2026, 3, 2, 8))
    result: dict = {}
    sweep = threading.Thread(target=sweep_marks_missed, args=(dose.pk, result))

    def start_sweep_inside_the_log(**kwargs):
        # The log's transaction holds the row: the sweep must wait for it, then find the
        # dose no longer pending.
        sweep.start()
        sweep.join(timeout=1)
        assert sweep.is_alive(), "the sweep did not wait for the dose's row lock"

    _log_taken_running(start_sweep_inside_the_log, dose=dose, patient=patient)
    sweep.join(timeout=10)
    assert result == {"updated": 0}
    dose.refresh_from_db()
    assert dose.state == DoseState.TAKEN
    assert DoseLog.objects.count() == 1


def test_log_after_the_sweep_is_taken_late(patient):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    dose = prescription.expected_doses.get(due_at=utc(2026, 3, 2, 8))
    result: dict = {}
    sweep_marks_missed(dose.pk, result)
    assert result == {"updated": 1}
    logged = services.dose_log(
        dose=dose, action="taken", recorded_by=patient.user, now=utc(2026, 3, 2, 15)
    )
    assert logged.dose.state == DoseState.TAKEN_LATE


def test_the_real_sweep_skips_a_dose_being_logged_and_does_not_wait(patient):
    """The missed-dose sweep claims overdue doses with FOR UPDATE SKIP LOCKED in the same
    statement that marks them: a dose whose log is in progress is left alone (no wait, no
    alert), and the log then lands as taken."""
    from notifications.models import Alert
    from notifications.services import missed_doses_sweep

    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    dose = prescription.expected_doses.get(due_at=utc(2026, 3, 2, 8))
    result: dict = {}

    def sweep_after_the_window() -> None:
        try:
            result["totals"] = missed_doses_sweep(now=utc(2026, 3, 2, 15))
        finally:
            connection.close()

    sweep = threading.Thread(target=sweep_after_the_window)

    def sweep_inside_the_log(**kwargs):
        sweep.start()
        sweep.join(timeout=10)
        assert not sweep.is_alive(), "the sweep waited for the dose's row lock"

    _log_taken_running(sweep_inside_the_log, dose=dose, patient=patient)
    assert result["totals"]["doses_missed"] == 0
    assert result["totals"]["alerts_raised"] == 0
    dose.refresh_from_db()
    assert dose.state == DoseState.TAKEN
    assert not Alert.objects.exists()
