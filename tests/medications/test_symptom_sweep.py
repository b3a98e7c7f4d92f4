"""Reports stored without a triage result (import, admin) are graded by the sweep, once."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from medications import tasks
from medications.models import SymptomReport
from medications.signals import symptom_report_triaged
from medications.symptoms import services as symptom_services

from .conftest import utc

pytestmark = pytest.mark.django_db
NOW = utc(2026, 2, 10, 9, 0)


@pytest.fixture
def announced():
    calls = []

    def receiver(sender, report, **kwargs):
        calls.append((report.pk, report.triage_level))

    symptom_report_triaged.connect(receiver, weak=False, dispatch_uid="test-sweep")
    yield calls
    symptom_report_triaged.disconnect(dispatch_uid="test-sweep")


def stored(patient, hours_ago=1, **fields):
    fields.setdefault("symptoms", [{"code": "diarrhoea", "grade": 2}])
    return SymptomReport.objects.create(
        patient=patient, reported_at=NOW - timedelta(hours=hours_ago), **fields
    )


def test_the_sweep_grades_an_untriaged_report_once(patient, announced):
    report = stored(patient)

    with time_machine.travel(NOW, tick=False):
        first = tasks.triage_pending_symptom_reports()
        second = tasks.triage_pending_symptom_reports()

    assert first == {"graded": 1, "invalid": 0}
    assert second == {"graded": 0, "invalid": 0}
    report.refresh_from_db()
    assert report.triage_level == "amber" and report.ruleset_version == 1
    assert report.triaged_at == NOW
    assert report.triage_reasons == [{"code": "diarrhoea", "level": "amber", "rule": "grade"}]
    assert announced == [(report.pk, "amber")]


def test_grading_a_report_that_was_graded_meanwhile_does_nothing(patient, announced):
    report = stored(patient)
    assert symptom_services.symptom_report_triage(report_id=report.pk) == "graded"
    # A second worker that picked the same id before the first finished:
    assert symptom_services.symptom_report_triage(report_id=report.pk) == "already_graded"
    assert symptom_services.symptom_report_triage(report_id=10**9) == "missing"
    assert announced == [(report.pk, "amber")]


def test_the_sweep_applies_the_combination_rules_as_of_the_report(patient):
    earlier = stored(patient, hours_ago=30)
    later = stored(patient, hours_ago=2)
    with time_machine.travel(NOW, tick=False):
        assert tasks.triage_pending_symptom_reports()["graded"] == 2
    earlier.refresh_from_db()
    later.refresh_from_db()
    # Oldest first: the earlier amber is graded alone, the later one repeats it (rule 3).
    assert earlier.triage_level == "amber"
    assert later.triage_level == "red"
    assert {"code": "diarrhoea", "level": "red", "rule": "repeat_amber"} in later.triage_reasons


def test_a_report_that_cannot_be_graded_is_left_and_counted(patient, announced):
    broken = stored(patient, symptoms=[{"code": "hiccups", "grade": 1}])
    good = stored(patient, hours_ago=3, symptoms=[])
    with time_machine.travel(NOW, tick=False):
        assert tasks.triage_pending_symptom_reports() == {"graded": 1, "invalid": 1}
    broken.refresh_from_db()
    assert broken.triaged_at is None
    assert announced == [(good.pk, "green")]


def test_manage_py_sweep_runs_the_job(patient):
    report = stored(patient, symptoms=[{"code": "jaundice", "grade": 1}])
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("sweep", only=["triage-pending-reports"], stdout=out)
    assert "triage-pending-reports: graded 1, invalid 0" in out.getvalue()
    report.refresh_from_db()
    assert report.triage_level == "red" and report.call_advice_line is True
