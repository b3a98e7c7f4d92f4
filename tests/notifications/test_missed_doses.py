"""The missed-dose sweep (clinical/adherence.md, "Missed-dose alerts"): doses whose late
window closed become missed, and each prescription has at most one open missed-dose alert,
green for a single miss, amber for two consecutive misses or 7-day adherence below 80%."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import bulk
from medications import services as medication_services
from medications.models import DoseState, ExpectedDose
from notifications import services
from notifications.models import (
    Alert,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertOutcome,
    AlertStatus,
)
from notifications.services import sources
from tests.factories import PatientFactory

from .helpers import dose_at, prescribe, take_doses, utc

pytestmark = pytest.mark.django_db

# Sorafenib 08:00 and 20:00 London (= UTC in early March), late window 6 hours.
START = utc(2026, 3, 2, 7)  # Monday
DAY8_MORNING = utc(2026, 3, 9, 8)
AFTER_MORNING_WINDOW = utc(2026, 3, 9, 14, 0, 1)
AFTER_EVENING_WINDOW = utc(2026, 3, 10, 2, 0, 1)


@pytest.fixture
def prescription(patient):
    """A week of doses all taken, then nothing logged from day 8."""
    rx = prescribe(patient, now=START)
    take_doses(rx, before=DAY8_MORNING)
    return rx


def missed_alerts(prescription=None):
    qs = Alert.objects.filter(kind=AlertKind.MISSED_DOSE)
    return qs.filter(prescription=prescription) if prescription else qs


def test_a_single_missed_dose_raises_one_green_alert_and_running_twice_changes_nothing(
    prescription,
):
    first = services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    second = services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)

    assert first["doses_missed"] == 1 and first["alerts_raised"] == 1
    assert second == {"doses_missed": 0, "alerts_raised": 0, "alerts_updated": 0, "amber": 0}
    assert dose_at(prescription, DAY8_MORNING).state == DoseState.MISSED
    (alert,) = missed_alerts()
    assert alert.level == AlertLevel.GREEN and alert.status == AlertStatus.OPEN
    assert alert.dedup_key == f"missed_dose:prescription:{prescription.pk}"
    assert alert.patient_id == prescription.patient_id
    assert alert.care_team_id == prescription.patient.care_team_id
    assert alert.occurrences == 1
    assert alert.details["missed"][0]["local"] == "2026-03-09 08:00"
    # 13 of 14 doses over the last 7 days taken: 92%, above the 80% line.
    assert alert.details["adherence_7d"] == {"taken": 13, "expected": 14, "percent": 92}
    # Green: due at 09:00 the next working day (Tuesday 10 March, London = UTC in March).
    assert alert.due_by == utc(2026, 3, 10, 9)
    assert [e.kind for e in alert.events.all()] == [AlertEventKind.CREATED]


def test_two_consecutive_missed_doses_make_the_same_alert_amber(prescription):
    services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    summary = services.missed_doses_sweep(now=AFTER_EVENING_WINDOW)

    assert summary == {"doses_missed": 1, "alerts_raised": 0, "alerts_updated": 1, "amber": 1}
    (alert,) = missed_alerts()
    assert alert.level == AlertLevel.AMBER
    assert alert.occurrences == 2
    assert [m["local"] for m in alert.details["missed"]] == ["2026-03-09 08:00", "2026-03-09 20:00"]
    assert "consecutive_missed_doses" in [r["code"] for r in alert.reasons]
    # The deadline tightened from next-working-day 09:00 to 4 hours from the second miss.
    assert alert.due_by == AFTER_EVENING_WINDOW + timedelta(hours=4)
    kinds = [e.kind for e in alert.events.all()]
    assert kinds == [AlertEventKind.CREATED, AlertEventKind.LEVEL_RAISED]
    assert alert.events.last().data["from"] == "green"


def test_adherence_below_80_percent_in_7_days_makes_a_single_miss_amber(patient):
    rx = prescribe(patient, now=START)
    take_doses(rx, before=DAY8_MORNING)
    # Three doses in the week were skipped ("forgot"): not missed, but not taken either.
    for due in [utc(2026, 3, 4, 8), utc(2026, 3, 5, 20), utc(2026, 3, 7, 8)]:
        ExpectedDose.objects.filter(prescription=rx, due_at=due).update(
            state=DoseState.SKIPPED, skip_reason="forgot", taken_at=None
        )
    services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)

    (alert,) = missed_alerts()
    assert alert.level == AlertLevel.AMBER
    assert alert.details["adherence_7d"] == {"taken": 10, "expected": 14, "percent": 71}
    assert "low_adherence_7d" in [r["code"] for r in alert.reasons]
    assert "consecutive_missed_doses" not in [r["code"] for r in alert.reasons]


def test_a_dose_logged_while_the_sweep_runs_is_not_marked_missed(
    prescription, patient, monkeypatch
):
    """The sweep reads the overdue doses, then the patient's log lands, then the sweep's
    update runs: the conditional update leaves the logged dose alone, and no alert. (The
    Python path's read and update are two statements; on PostgreSQL they are one, and a dose
    being logged is skipped by its row lock: tests/medications/test_concurrency.py.)"""
    monkeypatch.setattr(bulk, "fast", lambda: False)
    read_overdue = sources._overdue_doses

    def read_then_log(now, limit):
        ids = read_overdue(now, limit)
        assert dose_at(prescription, DAY8_MORNING).pk in ids
        medication_services.dose_log(
            dose=dose_at(prescription, DAY8_MORNING),
            action="taken",
            at=utc(2026, 3, 9, 13),
            recorded_by=patient.user,
            now=AFTER_MORNING_WINDOW,
        )
        return ids

    monkeypatch.setattr(sources, "_overdue_doses", read_then_log)
    summary = services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)

    assert summary["doses_missed"] == 0 and summary["alerts_raised"] == 0
    assert dose_at(prescription, DAY8_MORNING).state == DoseState.TAKEN
    assert not missed_alerts().exists()


def test_state_changed_underneath_no_alert(prescription):
    """A dose whose state changed after it was read (held by a clinician's hold meanwhile)
    is not marked missed and raises nothing."""
    dose = dose_at(prescription, DAY8_MORNING)
    marked = sources._mark_missed([dose.pk], AFTER_MORNING_WINDOW)
    assert [d["pk"] for d in marked] == [dose.pk]  # the normal case, for contrast

    dose2 = dose_at(prescription, utc(2026, 3, 9, 20))
    ExpectedDose.objects.filter(pk=dose2.pk).update(state=DoseState.HELD)
    assert sources._mark_missed([dose2.pk], AFTER_EVENING_WINDOW) == []
    assert dose_at(prescription, utc(2026, 3, 9, 20)).state == DoseState.HELD


def test_held_doses_are_never_missed(prescription, nurse):
    medication_services.prescription_hold(
        prescription=prescription,
        reason="Grade 3 hand-foot skin reaction",
        starts_at=utc(2026, 3, 9, 0),
        ends_at=utc(2026, 3, 12, 0),
        recorded_by=nurse,
        now=utc(2026, 3, 8, 21),
    )
    summary = services.missed_doses_sweep(now=utc(2026, 3, 11, 12))

    assert summary["doses_missed"] == 0
    states = set(
        prescription.expected_doses.filter(
            due_at__gte=utc(2026, 3, 9, 0), due_at__lt=utc(2026, 3, 11, 0)
        ).values_list("state", flat=True)
    )
    assert states == {DoseState.HELD}
    assert not missed_alerts().exists()


def test_skipped_doses_raise_no_missed_dose_alert(prescription, patient):
    medication_services.dose_log(
        dose=dose_at(prescription, DAY8_MORNING),
        action="skipped",
        reason="forgot",
        recorded_by=patient.user,
        now=utc(2026, 3, 9, 9),
    )
    summary = services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)

    assert summary["doses_missed"] == 0
    assert not Alert.objects.exists()


def test_taking_the_next_dose_on_time_closes_a_green_alert(prescription, patient):
    services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    medication_services.dose_log(
        dose=dose_at(prescription, utc(2026, 3, 9, 20)),
        action="taken",
        recorded_by=patient.user,
        now=utc(2026, 3, 9, 20, 5),
    )
    (alert,) = missed_alerts()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.outcome == AlertOutcome.DOSES_RESUMED
    assert alert.resolved_by is None  # the system, not a nurse
    assert alert.dedup_key is None  # the next miss may open a new alert
    event = alert.events.last()
    assert event.kind == AlertEventKind.RESOLVED and event.data["automatic"] is True

    # Missed again the next morning: a new alert, the closed one untouched.
    services.missed_doses_sweep(now=utc(2026, 3, 10, 14, 0, 1))
    assert missed_alerts().count() == 2
    assert missed_alerts().filter(status=AlertStatus.OPEN).count() == 1


def test_an_amber_alert_stays_for_a_nurse_when_doses_resume(prescription, patient):
    services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    services.missed_doses_sweep(now=AFTER_EVENING_WINDOW)
    medication_services.dose_log(
        dose=dose_at(prescription, utc(2026, 3, 10, 8)),
        action="taken",
        recorded_by=patient.user,
        now=utc(2026, 3, 10, 8, 5),
    )
    (alert,) = missed_alerts()
    assert alert.level == AlertLevel.AMBER and alert.status == AlertStatus.OPEN


def test_a_dose_taken_late_does_not_close_the_alert(prescription, patient):
    services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    medication_services.dose_log(
        dose=dose_at(prescription, DAY8_MORNING),
        action="taken",
        at=utc(2026, 3, 9, 15),
        recorded_by=patient.user,
        now=utc(2026, 3, 9, 15),
    )
    (alert,) = missed_alerts()
    assert alert.status == AlertStatus.OPEN


def test_a_resolved_alert_frees_the_key_and_a_later_miss_opens_a_new_one(prescription, nurse):
    services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    alert = missed_alerts().get()
    services.alert_resolve(
        alert=alert, user=nurse, outcome="advice_given_by_phone", note="Phoned; doses resumed."
    )
    services.missed_doses_sweep(now=AFTER_EVENING_WINDOW)

    assert missed_alerts().count() == 2
    new = missed_alerts().get(status=AlertStatus.OPEN)
    # Two consecutive misses (08:00 and 20:00): amber even though the first alert was closed.
    assert new.level == AlertLevel.AMBER and new.occurrences == 1


def test_many_missed_doses_in_one_run_make_one_alert_per_prescription(patient):
    rx = prescribe(patient, now=START)  # nothing ever logged
    summary = services.missed_doses_sweep(now=utc(2026, 3, 5, 3))

    assert summary["doses_missed"] == 6  # 2, 3 and 4 March, twice a day
    (alert,) = missed_alerts(rx)
    assert alert.occurrences == 6 and alert.level == AlertLevel.AMBER


def _overdue_patients(count: int):
    for _ in range(count):
        rx = prescribe(PatientFactory(), now=START)
        take_doses(rx, before=DAY8_MORNING)


def _queries_for_sweep() -> int:
    with CaptureQueriesContext(connection) as queries:
        services.missed_doses_sweep(now=AFTER_MORNING_WINDOW)
    return len(queries)


def test_the_sweep_costs_the_same_number_of_queries_for_3_or_30_patients(team):
    _overdue_patients(3)
    few = _queries_for_sweep()
    assert Alert.objects.count() == 3
    Alert.objects.all().delete()
    ExpectedDose.objects.filter(state=DoseState.MISSED).update(state=DoseState.PENDING)
    _overdue_patients(27)
    many = _queries_for_sweep()

    assert Alert.objects.filter(kind=AlertKind.MISSED_DOSE).count() == 30
    assert many == few, (few, many)
    assert many <= 30
