"""A patient's symptom history and chart series, the demo history, and two reports at once."""

import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.db import connection

from medications.models import SymptomReport
from medications.symptoms import selectors as symptom_selectors
from medications.symptoms.demo import HISTORY, seed_symptom_history
from medications.symptoms.selectors import symptom_histories, symptom_history
from medications.symptoms.services import symptom_report_create
from tests.factories import PatientFactory

from .conftest import utc

NOW = utc(2026, 2, 10, 9, 0)


def report(patient, hours_ago, **body):
    body.setdefault("symptoms", [])
    return symptom_report_create(
        patient=patient,
        data=body,
        entered_by=patient.user,
        reported_at=NOW - timedelta(hours=hours_ago),
    )


@pytest.mark.django_db
def test_history_and_series_for_charts(patient, other_patient, django_assert_num_queries):
    with time_machine.travel(NOW, tick=False):
        report(patient, 24 * 40, symptoms=[{"code": "nausea", "grade": 3}])  # before `since`
        first = report(
            patient,
            24 * 20,
            symptoms=[{"code": "nausea", "grade": 1}, {"code": "fatigue", "grade": 0}],
            temperature_c=36.8,
        )
        second = report(
            patient,
            24 * 5,
            symptoms=[{"code": "nausea", "grade": 2}],
            systolic_bp=150,
            diastolic_bp=88,
        )
        report(other_patient, 24, symptoms=[{"code": "rash", "grade": 1}])

    since = NOW - timedelta(days=28)
    symptom_history(patient, since)  # the rule set is now cached
    with django_assert_num_queries(2):  # which version is active + the reports
        history = symptom_history(patient, since)

    assert [r.pk for r in history.reports] == [first.pk, second.pk]
    assert history.latest.pk == second.pk
    assert history.symptoms == {
        "nausea": [(first.reported_at, 1), (second.reported_at, 2)],
        "fatigue": [(first.reported_at, 0)],
    }
    assert history.temperature == [(first.reported_at, Decimal("36.8"))]
    assert history.blood_pressure == [(second.reported_at, 150, 88)]
    # nausea grade 2 and blood pressure 150/88 are two ambers: red (rule 2)
    assert history.levels == [(first.reported_at, "green"), (second.reported_at, "red")]
    assert history.labels == {"nausea": "Feeling sick (nausea)", "fatigue": "Tiredness (fatigue)"}


@pytest.mark.django_db
def test_histories_of_many_patients_take_the_same_queries(team, django_assert_num_queries):
    patients = [PatientFactory(care_team=team) for _ in range(6)]
    for each in patients:
        report(each, 3, symptoms=[{"code": "cough", "grade": 1}])
    symptom_histories([], NOW)
    with django_assert_num_queries(2):
        histories = symptom_histories([p.pk for p in patients], NOW - timedelta(days=7))
    assert all(len(histories[p.pk].reports) == 1 for p in patients)
    assert all(histories[p.pk].symptoms["cough"][0][1] == 1 for p in patients)


@pytest.mark.django_db
def test_demo_history_is_idempotent_with_one_amber_and_no_red(team):
    levels = []
    for drug in HISTORY:
        patient = PatientFactory(care_team=team)
        seed_symptom_history(patient, drug, now=NOW)
        count = SymptomReport.objects.filter(patient=patient).count()
        seed_symptom_history(patient, drug, now=NOW)  # a second run changes nothing
        assert SymptomReport.objects.filter(patient=patient).count() == count == len(HISTORY[drug])
        levels += list(SymptomReport.objects.filter(patient=patient).values_list("triage_level"))
    assert sorted(level for (level,) in levels).count("amber") == 1
    assert ("red",) not in levels
    assert SymptomReport.objects.filter(reported_at__gt=NOW).count() == 0


def _send_at_once(patient, bodies: list[dict]) -> tuple[list, list]:
    """Send the bodies from parallel threads, each grading slowly, so a missing patient row
    lock would let both read "no earlier report"."""
    real_context = symptom_selectors.patient_context
    barrier = threading.Barrier(len(bodies))
    created, errors = [], []

    def slow_context(*args, **kwargs):
        context = real_context(*args, **kwargs)
        threading.Event().wait(0.3)  # widen the window a missing lock would leave open
        return context

    def send(body):
        try:
            barrier.wait(timeout=5)
            report = symptom_report_create(patient=patient, data=body, entered_by=patient.user)
            created.append(report)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    with mock.patch("medications.symptoms.services.patient_context", slow_context):
        threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    return created, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reports_at_the_same_moment_see_each_other(patient):
    """The patient row lock: without it both would read "no earlier report" and both stay
    amber; with it the second waits for the first and is a repeat amber (rule 3). The two
    reports differ (a same-content report within 10 minutes is a resend, tested below)."""
    created, errors = _send_at_once(
        patient,
        [
            {"symptoms": [{"code": "diarrhoea", "grade": 2}]},
            {"symptoms": [{"code": "diarrhoea", "grade": 2}, {"code": "fatigue", "grade": 1}]},
        ],
    )
    assert not errors
    assert sorted(report.triage_level for report in created) == ["amber", "red"]
    assert SymptomReport.objects.filter(patient=patient).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_report_sent_twice_at_once_is_stored_once(patient):
    """A double tap from two tabs: the second waits on the lock, finds the first and is
    answered with it (a resend), so one report and one amber."""
    body = {"symptoms": [{"code": "diarrhoea", "grade": 2}]}
    created, errors = _send_at_once(patient, [body, body])
    assert not errors
    assert len({report.pk for report in created}) == 1
    assert SymptomReport.objects.filter(patient=patient).count() == 1
    assert [report.triage_level for report in created] == ["amber", "amber"]
