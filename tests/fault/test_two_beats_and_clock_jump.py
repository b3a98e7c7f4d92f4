"""Two beats at once (every periodic job run by two processes' worth of threads at the same
time, over and over): no duplicate alert, reminder or delivery. The clock jumped forward a
day: the sweeps catch up, one missed-dose alert per prescription."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils.module_loading import import_string

from medications.models import DoseState, ExpectedDose
from notifications.models import Alert
from tests.factories import PatientFactory
from tests.notifications.helpers import prescribe, utc, webhook_channel

from .conftest import report_line, written_once_counts

pytestmark = [
    pytest.mark.fault,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
ROUNDS = 4


def run_every_job(barrier: threading.Barrier, errors: list, runs: Counter) -> None:
    try:
        barrier.wait()
        for _ in range(ROUNDS):
            for name, (task_path, _seconds) in settings.PERIODIC_JOBS.items():
                try:
                    import_string(task_path)()
                    runs[name] += 1
                except Exception as exc:  # noqa: BLE001 - counted and asserted below
                    errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
    finally:
        connection.close()


def test_two_beats_at_once_duplicate_nothing(team, receiver):
    hook = receiver()
    webhook_channel(team, hook.url, min_level="green")
    # 20:00 London doses are due (reminders go out) and earlier ones were missed.
    now = utc(2026, 3, 2, 20, 1)
    traveller = time_machine.travel(now, tick=True)
    traveller.start()
    for _ in range(6):
        patient = PatientFactory(care_team=team, reminders_enabled=True)
        prescribe(patient, now=now - timedelta(days=2))
    barrier = threading.Barrier(2)
    errors: list[str] = []
    runs: Counter = Counter()
    beats = [threading.Thread(target=run_every_job, args=(barrier, errors, runs)) for _ in range(2)]
    for beat in beats:
        beat.start()
    for beat in beats:
        beat.join(timeout=600)
    traveller.stop()

    counts = written_once_counts(hook)
    alerts, deliveries = counts["alerts"], counts["deliveries"]
    reminders, posts = counts["reminders"], counts["posts"]
    print(
        report_line(
            "two beats at once",
            job_runs=sum(runs.values()),
            errors=len(errors),
            alerts=sum(alerts.values()),
            alert_deliveries=sum(deliveries.values()),
            reminders=sum(reminders.values()),
            webhook_posts=sum(posts.values()),
            missed_doses=ExpectedDose.objects.filter(state=DoseState.MISSED).count(),
        )
    )
    assert errors == []
    assert alerts and max(alerts.values()) == 1
    assert max(deliveries.values()) == 1
    assert reminders and max(reminders.values()) == 1
    assert posts and max(posts.values()) == 1  # no delivery sent twice


def test_the_clock_jumped_forward_a_day(team):
    start = utc(2026, 3, 2, 7)  # before the 08:00 dose, London = UTC in early March
    with time_machine.travel(start, tick=False):
        prescriptions = [prescribe(PatientFactory(care_team=team), now=start) for _ in range(4)]
        call_command("sweep")
    with time_machine.travel(start + timedelta(days=1, hours=1), tick=False):
        call_command("sweep")
        call_command("sweep")  # and again: nothing new
    per_prescription = Counter(
        Alert.objects.filter(kind="missed_dose").values_list("dedup_key", flat=True)
    )
    missed = ExpectedDose.objects.filter(state=DoseState.MISSED).count()
    print(
        report_line(
            "clock jumped a day",
            prescriptions=len(prescriptions),
            missed_doses=missed,
            missed_dose_alerts=sum(per_prescription.values()),
        )
    )
    assert missed == 2 * len(prescriptions)  # 08:00 and 20:00 of the day skipped over
    assert sorted(per_prescription) == sorted(
        f"missed_dose:prescription:{p.pk}" for p in prescriptions
    )
    assert set(per_prescription.values()) == {1}
