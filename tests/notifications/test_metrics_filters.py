"""/nurse/metrics/: who may see it, the default period, bad filters answered with a 400
naming the field, the pure rules (percentile, out of hours, pending deadlines), and a fixed
number of queries whatever the period holds."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.dashboard import metrics
from notifications.dashboard.metrics_tables import duration_words
from notifications.models import Alert, AlertKind, AlertLevel
from tests.factories import PatientFactory
from tests.notifications.test_dashboard_queries import add_reports

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "values, fraction, expected",
    [
        ([], 0.5, None),
        ([7], 0.9, 7),
        ([10, 20, 25, 45], 0.5, 22.5),
        ([45, 10, 25, 20], 0.9, 39.0),
        ([60, 180, 300], 0.9, 276.0),
        (list(range(1, 11)), 0.9, 9.1),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, fraction, expected):
    assert metrics.percentile(values, fraction) == (expected and pytest.approx(expected))


@pytest.mark.parametrize(
    "moment, out",
    [
        (datetime(2026, 10, 23, 6, 59, tzinfo=UTC), True),  # Fri 07:59 BST
        (datetime(2026, 10, 23, 7, 0, tzinfo=UTC), False),  # Fri 08:00 BST
        (datetime(2026, 10, 23, 16, 59, tzinfo=UTC), False),  # Fri 17:59 BST
        (datetime(2026, 10, 23, 17, 0, tzinfo=UTC), True),  # Fri 18:00 BST
        (datetime(2026, 10, 26, 7, 30, tzinfo=UTC), True),  # Mon 07:30 GMT
        (datetime(2026, 10, 26, 8, 0, tzinfo=UTC), False),  # Mon 08:00 GMT
        (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), True),  # Saturday noon
        (datetime(2026, 3, 29, 12, 0, tzinfo=UTC), True),  # Sunday, clocks went forward
        (datetime(2026, 3, 30, 7, 30, tzinfo=UTC), False),  # Mon 08:30 BST
    ],
)
def test_out_of_hours_is_local_time(moment, out):
    assert metrics.is_out_of_hours(moment) is out


@pytest.mark.parametrize(
    "minutes, words",
    [
        (0.4, "0 min"),
        (22.5, "23 min"),
        (59.4, "59 min"),
        (60, "1 h 00 min"),
        (2830, "47 h 10 min"),
        (2880, "2 d 0 h"),
    ],
)
def test_durations_in_words(minutes, words):
    assert duration_words(minutes) == words


def test_an_alert_inside_its_deadline_is_not_counted_yet():
    period = metrics.Period(NOW.date(), NOW.date())

    def red(created, ack=None):
        return metrics.AlertFacts(
            "red", "symptom", created, ack, None, created + timedelta(minutes=30), None, ""
        )

    facts = [
        red(NOW - timedelta(minutes=10)),  # not yet due: not counted
        red(NOW - timedelta(minutes=40)),  # due and missed
        red(NOW - timedelta(minutes=50), ack=NOW - timedelta(minutes=30)),  # within (20 min)
    ]
    m = metrics.summarise(facts, reports=0, period=period, now=NOW)
    assert (m.targets["red"].due, m.targets["red"].within) == (2, 1)
    assert m.alerts_per_100_reports is None


def _alert(patient, created):
    return Alert(
        patient=patient,
        care_team=patient.care_team,
        kind=AlertKind.SYMPTOM,
        level=AlertLevel.RED,
        created_at=created,
        due_by=created + timedelta(minutes=30),
    )


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_default_period_is_the_last_28_local_days(client, nurse, team):
    patient = PatientFactory(care_team=team)
    first_day_start = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # 31 Oct, GMT
    Alert.objects.bulk_create(
        [_alert(patient, first_day_start), _alert(patient, first_day_start - timedelta(seconds=1))]
    )
    client.force_login(nurse)
    response = client.get("/nurse/metrics/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "31 Oct 2026 to 27 Nov 2026 (28 days)" in html
    assert "1 alerts raised" in html
    assert 'aria-current="page">Metrics</a>' in html
    assert client.get("/nurse/").content.decode().count('href="/nurse/metrics/"') == 1


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "query, field, message",
    [
        ("first_day=last+week", "first_day", "Enter a date, like 2026-11-27."),
        ("last_day=2026-11-28", "last_day", "The end date cannot be in the future."),
        (
            "first_day=2026-11-20&last_day=2026-11-01",
            "first_day",
            "The start date must be on or before the end date.",
        ),
        ("first_day=2025-11-01&last_day=2026-11-27", "first_day", "Choose at most 366 days."),
        ("team=999999", "team", "Choose one of your teams."),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(client, nurse, other_team, query, field, message):
    other_team_nurse = nurse  # a second team makes the team field show
    other_team_nurse.care_teams.add(other_team)
    client.force_login(nurse)
    response = client.get(f"/nurse/metrics/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert f'href="#id_{field}"' in html
    assert message in html
    assert 'aria-invalid="true"' in html
    assert "data-metrics-table" not in html
    download = client.get(f"/nurse/metrics/metrics.csv?{query}")
    assert download.status_code == 400
    assert message in download.content.decode()


@pytest.mark.django_db
def test_a_nurse_cannot_pick_another_team(client, nurse, other_team):
    client.force_login(nurse)
    assert client.get(f"/nurse/metrics/?team={other_team.pk}").status_code == 400
    assert client.get(f"/nurse/metrics/metrics.csv?team={other_team.pk}").status_code == 400


@pytest.mark.django_db
def test_only_staff_see_the_page(client, patient):
    assert client.get("/nurse/metrics/").status_code == 302  # to sign in
    client.force_login(patient.user)
    assert client.get("/nurse/metrics/").status_code == 404
    assert client.get("/nurse/metrics/metrics.csv").status_code == 404


def queries(client, url):
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.django_db
@time_machine.travel(NOW)
def test_queries_are_the_same_for_30_and_3000_alerts(client, nurse, team, measurement):
    patients = [PatientFactory(care_team=team) for _ in range(5)]
    now = datetime.now(UTC)

    def add(count, start):
        Alert.objects.bulk_create(
            [
                _alert(patients[i % 5], now - timedelta(minutes=13 * i + 1))
                for i in range(start, start + count)
            ],
            batch_size=500,
        )

    add(30, 0)
    add_reports(patients[0], 30)
    client.force_login(nurse)
    urls = ["/nurse/metrics/", "/nurse/metrics/metrics.csv", "/nurse/metrics/?first_day=2026-01-01"]
    with_30 = [queries(client, url) for url in urls]
    add(2970, 30)
    add_reports(patients[0], 1000, start=30)
    assert Alert.objects.count() == 3000
    with_3000 = [queries(client, url) for url in urls]
    measurement(f"metrics page SQL queries, 30 vs 3,000 alerts: {with_30} / {with_3000}")
    assert with_30 == with_3000
    assert max(with_3000) <= 13  # session, user, roles, teams, alerts, reports, check-ins
