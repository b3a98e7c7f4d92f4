"""Selectors for the nurse dashboard: the scoped queue, one alert with its history, failing
channels."""

from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import selectors
from notifications.models import Alert, Channel
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def alert(patient, level, minutes_ago, status="open"):
    created = timezone.now() - timedelta(minutes=minutes_ago)
    return Alert.objects.create(
        patient=patient,
        care_team=patient.care_team,
        kind="symptom",
        level=level,
        status=status,
        created_at=created,
        due_by=created + timedelta(minutes=30),
    )


def test_queue_is_scoped_and_ordered_red_amber_green_then_oldest(nurse, patient, other_patient):
    a1 = alert(patient, "amber", 50)
    r1 = alert(patient, "red", 5)
    g1 = alert(patient, "green", 500)
    r2 = alert(patient, "red", 10)
    alert(patient, "red", 60, status="resolved")
    alert(other_patient, "red", 100)  # another team's
    assert list(selectors.alert_queue_for(nurse)) == [r2, r1, a1, g1]
    assert list(selectors.alert_queue_for(nurse, level="red")) == [r2, r1]
    assert [a.overdue for a in selectors.alert_queue_for(nurse)] == [False, False, True, True]
    assert list(selectors.alert_queue_for(nurse, overdue=True)) == [a1, g1]


def test_the_queue_reads_a_fixed_number_of_queries(nurse, patient):
    for n in range(3):
        alert(patient, "red", n)

    def read():
        with CaptureQueriesContext(connection) as queries:
            shown = [
                (row.patient.full_name, row.care_team.name, row.acknowledged_by)
                for row in selectors.alert_queue_for(nurse)
            ]
        assert shown
        return len(queries)

    read()  # the user's role and teams are read once and kept on the user
    few = read()
    for n in range(20):
        alert(PatientFactory(care_team=patient.care_team), "amber", n)
    assert read() == few


def test_alert_for_is_404_outside_scope(nurse, other_nurse, patient):
    mine = alert(patient, "red", 1)
    assert selectors.alert_for(nurse, mine.pk) == mine
    for bad in [other_nurse, patient.user]:
        with pytest.raises(Http404):
            selectors.alert_for(bad, mine.pk)
    with pytest.raises(Http404):
        selectors.alert_for(nurse, "not-a-number")


def test_failing_channels_for_the_users_teams(nurse, team, other_team, admin_user):
    ok = Channel.objects.create(name="ok", care_team=team, kind="email", target="a@b.org")
    bad = Channel.objects.create(
        name="bad", care_team=team, kind="email", target="c@d.org", consecutive_failures=3
    )
    theirs = Channel.objects.create(
        name="theirs",
        care_team=other_team,
        kind="email",
        target="e@f.org",
        consecutive_failures=7,
    )
    assert list(selectors.failing_channels_for(nurse)) == [bad]
    assert set(selectors.failing_channels_for(admin_user)) == {bad, theirs}
    assert ok not in selectors.failing_channels_for(admin_user)


def test_open_alert_counts(nurse, patient):
    alert(patient, "red", 40)  # overdue
    alert(patient, "amber", 1)
    alert(patient, "amber", 2, status="resolved")
    assert selectors.open_alert_counts_for(nurse) == {
        "red": 1,
        "amber": 1,
        "green": 0,
        "overdue": 1,
    }
