"""Two real beat processes at once, for two minutes (issue 17): the deployment mistake of
starting beat twice. Every periodic job then runs twice as often, at the same moments; the
jobs' conditional updates and unique keys must still give one missed-dose alert per
prescription, one reminder per dose and one delivery per alert and channel, each sent once.
The thread version next door runs every job many times in a few seconds; this one is the real
thing (celery beat + a worker, the test database, Redis), as production would run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from medications.models import DoseState, ExpectedDose
from notifications.models import Alert
from tests.conftest import redis_url
from tests.factories import PatientFactory
from tests.notifications.helpers import prescribe, red_report, webhook_channel
from tests.notifications.worker import BASE_DIR, WorkerProcess, database_url, use_broker

from .conftest import report_line, written_once_counts

pytestmark = [
    pytest.mark.fault,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
SECONDS = float(os.environ.get("FAULT_TWO_BEATS_SECONDS", 120))


def start_beat(var_dir) -> tuple[subprocess.Popen, object]:
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url(),
        "VAR_DIR": str(var_dir),  # each beat its own schedule file, as on two machines
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_NAME", None)
    log_path = var_dir / "beat.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tracker", "beat", "--loglevel=INFO"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, (log, log_path)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_two_beat_processes_for_two_minutes_duplicate_nothing(team, receiver, tmp_path):
    from tracker.celery import app

    hook = receiver()
    webhook_channel(team, hook.url, min_level="green")
    now = timezone.now()
    prescriptions = []
    for _ in range(6):
        patient = PatientFactory(care_team=team, reminders_enabled=True)
        local = now.astimezone(ZoneInfo(patient.timezone))
        # The evening dose fell due a minute ago (its reminder goes out now); the morning
        # dose, 12 hours earlier, is past its 6-hour window: missed, today and before.
        evening = (local - timedelta(minutes=1)).strftime("%H:%M")
        morning = (local - timedelta(hours=12, minutes=1)).strftime("%H:%M")
        prescriptions.append(
            prescribe(patient, now=now - timedelta(days=2), times=sorted([morning, evening]))
        )
    reports = [red_report(prescriptions[0].patient), red_report(prescriptions[1].patient)]

    previous = use_broker(redis_url())
    app.control.purge()
    worker = WorkerProcess(redis_url=redis_url(), var_dir=tmp_path)
    beats = []
    try:
        worker.wait_ready()
        beats = [start_beat(tmp_path / f"beat-{n}") for n in (1, 2)]
        # The two minutes count from when both schedulers run (start-up is slow under load).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(
            "beat: Starting" in path.read_text() for _process, (_log, path) in beats
        ):
            time.sleep(0.2)
        time.sleep(SECONDS)
    finally:
        for process, (log, _path) in beats:
            stop(process)
            log.close()
        time.sleep(5)  # let the worker finish what the beats sent last
        worker_log = worker.output()
        worker.stop()
        use_broker(previous)

    beat_logs = [path.read_text() for _process, (_log, path) in beats]
    sent_by_beats = [log.count("Scheduler: Sending due task") for log in beat_logs]
    succeeded = worker_log.count(" succeeded in ")
    failed = worker_log.count(" raised unexpected")
    counts = written_once_counts(hook)
    alerts, deliveries = counts["alerts"], counts["deliveries"]
    reminders, posts = counts["reminders"], counts["posts"]
    missed_dose_alerts = Counter(
        Alert.objects.filter(kind="missed_dose").values_list("dedup_key", flat=True)
    )
    print(
        report_line(
            f"two beat processes for {SECONDS:.0f} s",
            jobs_sent_by_each_beat=sent_by_beats,
            jobs_succeeded=succeeded,
            jobs_failed=failed,
            alerts=sum(alerts.values()),
            missed_dose_alerts=sum(missed_dose_alerts.values()),
            alert_deliveries=sum(deliveries.values()),
            reminders=sum(reminders.values()),
            webhook_posts=sum(posts.values()),
            missed_doses=ExpectedDose.objects.filter(state=DoseState.MISSED).count(),
        )
    )
    assert all(count > 0 for count in sent_by_beats), beat_logs
    assert failed == 0, worker_log[-3000:]
    # Both beats really ran jobs through the worker (each job more than once).
    assert succeeded >= sum(sent_by_beats) // 2
    assert sorted(missed_dose_alerts) == sorted(
        f"missed_dose:prescription:{p.pk}" for p in prescriptions
    )
    assert max(alerts.values()) == 1
    assert Alert.objects.filter(symptom_report__in=reports).count() == 2
    assert max(deliveries.values()) == 1
    evening_doses = ExpectedDose.objects.filter(
        due_at__gt=now - timedelta(minutes=2), due_at__lte=now
    ).count()
    assert evening_doses == len(prescriptions)
    assert reminders and max(reminders.values()) == 1
    assert sum(reminders.values()) >= evening_doses  # every due dose reminded, once
    assert posts and max(posts.values()) == 1  # no delivery sent twice
