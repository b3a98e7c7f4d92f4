"""Sweeps running twice at the same moment against PostgreSQL (threads, each with its own
connection): one alert per problem, every overdue dose marked once, every delivery sent
once."""

import threading

import pytest
from django.db import connection

from medications.models import DoseState, ExpectedDose, SymptomReport
from notifications import services
from notifications.models import Alert, AlertKind, Delivery, DeliveryStatus
from tests.factories import CareTeamFactory, PatientFactory

from .helpers import prescribe, take_doses, triaged_report, utc, webhook_channel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

START = utc(2026, 3, 2, 7)
NOW = utc(2026, 3, 10, 2, 0, 1)  # after the 9 March 08:00 and 20:00 windows closed


def run_together(*calls):
    """Start every call at the same instant on its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def test_two_missed_dose_sweeps_at_once_make_one_alert_per_prescription():
    team = CareTeamFactory()
    prescriptions = []
    for _ in range(30):
        rx = prescribe(PatientFactory(care_team=team), now=START)
        take_doses(rx, before=utc(2026, 3, 9, 8))
        prescriptions.append(rx)
    overdue = ExpectedDose.objects.filter(state=DoseState.PENDING, late_until__lte=NOW).count()
    assert overdue == 60

    # Small batches so the two sweeps interleave and meet on the same prescriptions.
    results = run_together(
        lambda: services.missed_doses_sweep(now=NOW, batch_size=7),
        lambda: services.missed_doses_sweep(now=NOW, batch_size=7),
    )

    assert sum(r["doses_missed"] for r in results) == 60
    assert ExpectedDose.objects.filter(state=DoseState.MISSED).count() == 60
    alerts = Alert.objects.filter(kind=AlertKind.MISSED_DOSE)
    assert alerts.count() == 30
    assert sorted(alerts.values_list("prescription_id", flat=True)) == sorted(
        rx.pk for rx in prescriptions
    )
    # Each alert counted both of its prescription's misses, whichever sweep found them.
    assert set(alerts.values_list("occurrences", flat=True)) == {2}
    assert set(alerts.values_list("level", flat=True)) == {"amber"}
    # And the same again, sequentially: nothing more.
    assert services.missed_doses_sweep(now=NOW)["doses_missed"] == 0
    assert alerts.count() == 30


def test_the_receiver_and_two_sweeps_racing_for_one_patients_reports_count_each_once(patient):
    reports = [triaged_report(patient, level="red", send=False) for _ in range(5)]
    run_together(
        services.unraised_symptom_alerts_sweep,
        services.unraised_symptom_alerts_sweep,
        *[
            (lambda pk=r.pk: services.symptom_report_alert_raise_by_id(report_id=pk))
            for r in reports
        ],
    )
    # One episode: one alert, each report counted once whichever path raised it.
    alert = Alert.objects.get()
    assert alert.occurrences == 5
    assert sorted(alert.details["reports"]) == sorted(r.pk for r in reports)
    assert not SymptomReport.objects.filter(alert_raised_at__isnull=True).exists()
    assert alert.events.filter(kind="created").count() == 1


def test_two_delivery_sweeps_at_once_send_each_delivery_once(patient, receiver):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url)
    for _ in range(10):
        triaged_report(PatientFactory(care_team=patient.care_team), level="red")
    run_together(services.deliveries_sweep, services.deliveries_sweep)
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 10
    ids = [r.headers["X-Tracker-Delivery"] for r in hook.received]
    assert len(ids) == len(set(ids)) == 10


def test_two_escalation_sweeps_at_once_escalate_once(patient):
    import time_machine

    with time_machine.travel(utc(2026, 3, 2, 10), tick=False):
        for _ in range(5):
            triaged_report(PatientFactory(care_team=patient.care_team), level="red")
    with time_machine.travel(utc(2026, 3, 2, 11), tick=True):
        results = run_together(services.escalations_sweep, services.escalations_sweep)
    assert sum(r["escalated"] for r in results) == 5
    assert Alert.objects.filter(escalated_at__isnull=False).count() == 5


def test_two_check_in_sweeps_at_once_open_remind_and_miss_once():
    import time_machine

    from medications.models import CheckIn
    from notifications.services.check_ins import check_ins_sweep

    team = CareTeamFactory()
    patients = [PatientFactory(care_team=team) for _ in range(12)]
    with time_machine.travel(START, tick=False):
        for patient in patients:
            prescribe(patient, now=START)
        check_ins_sweep()
    assert CheckIn.objects.count() == 12
    opened_at = START + __import__("datetime").timedelta(days=3, hours=5)  # after the close
    with time_machine.travel(opened_at, tick=False):
        results = run_together(
            lambda: check_ins_sweep(batch_size=5), lambda: check_ins_sweep(batch_size=5)
        )
    assert sum(r["missed"] for r in results) == 12
    assert Alert.objects.filter(kind="missed_check_in").count() == 12
    assert set(Alert.objects.values_list("occurrences", flat=True)) == {1}
