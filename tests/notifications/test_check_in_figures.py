"""Check-in completion (per patient and team) and alerts per 100 reports (clinical/
checkins.md, "Measure"), as selectors and on the nurse's patient page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from medications.models import CheckIn, CheckInStatus
from medications.symptoms.selectors import check_in_completion
from tests.factories import PatientFactory

from .dashboard_helpers import make_alert
from .helpers import triaged_report

pytestmark = pytest.mark.django_db


def finished(patient, status, days_ago, n=1):
    now = timezone.now()
    for i in range(n):
        opens = now - timedelta(days=days_ago, minutes=i)
        CheckIn.objects.create(
            patient=patient,
            kind="weekly",
            source_key=f"t:{patient.pk}:{status}:{days_ago}:{i}",
            opens_at=opens,
            closes_at=opens + timedelta(hours=72),
            status=status,
        )


def test_completion_is_completed_over_due_per_patient_and_team(patient, other_patient):
    teammate = PatientFactory(care_team=patient.care_team)
    finished(patient, CheckInStatus.COMPLETED, 5, n=9)
    finished(patient, CheckInStatus.MISSED, 6)
    finished(teammate, CheckInStatus.MISSED, 4, n=2)
    finished(other_patient, CheckInStatus.COMPLETED, 3)
    finished(patient, CheckInStatus.PAUSED, 2)  # not due
    finished(patient, CheckInStatus.COMPLETED, 40)  # outside the period
    now = timezone.now()
    figures = check_in_completion(since=now - timedelta(days=28), until=now)
    mine = figures["per_patient"][patient.pk]
    assert (mine.completed, mine.due, mine.percent, mine.meets_target) == (9, 10, 90.0, True)
    team = figures["per_team"][patient.care_team_id]
    assert (team.completed, team.due, team.percent) == (9, 12, 75.0)
    assert (figures["overall"].completed, figures["overall"].due) == (10, 13)
    only_team = check_in_completion(
        since=now - timedelta(days=28), until=now, care_team_ids=[patient.care_team_id]
    )
    assert set(only_team["per_patient"]) == {patient.pk, teammate.pk}


def test_no_check_ins_due_is_no_figure(patient):
    now = timezone.now()
    overall = check_in_completion(since=now - timedelta(days=28), until=now)["overall"]
    assert overall.due == 0 and overall.percent is None and overall.meets_target is None


def test_the_patient_page_shows_completion_and_alerts_per_100_reports(client, nurse, patient):
    finished(patient, CheckInStatus.COMPLETED, 5, n=3)
    finished(patient, CheckInStatus.MISSED, 6)
    for _ in range(4):
        triaged_report(patient, level="green")
    make_alert(patient, level="amber")
    client.force_login(nurse)
    page = client.get(f"/nurse/patients/{patient.pk}/").content.decode()
    assert "3 of 4 (75.0%, below the 90% target)" in page
    assert "25.0 (1 alert, 4 reports)" in page
