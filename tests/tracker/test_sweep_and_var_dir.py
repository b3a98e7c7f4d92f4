"""Findings 8 and 10 of issue 17: with VAR_DIR set elsewhere, beat crashed on start (the
Procfile hard-coded `--schedule=var/celerybeat-schedule`); on SQLite `manage.py sweep` run
while beat's jobs ran failed jobs with `database is locked`, and still exited 0."""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
SEEDED = None


def _env(var_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_ENV="development", VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def procfile() -> dict[str, str]:
    return dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)


def test_beat_from_the_procfile_writes_its_schedule_under_var_dir(tmp_path):
    assert "var/" not in (ROOT / "Procfile").read_text()
    command = shlex.split(procfile()["beat"])
    beat = subprocess.Popen(
        [str(Path(sys.executable).parent / command[0]), *command[1:]],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(tmp_path.glob("celerybeat-schedule*")):
            assert beat.poll() is None, beat.stdout.read().decode()[-2000:]
            time.sleep(0.2)
        assert beat.poll() is None  # still running
    finally:
        beat.send_signal(signal.SIGTERM)
        beat.wait(timeout=20)
    written = sorted(p.name for p in tmp_path.glob("celerybeat-schedule*"))
    print(f"beat under VAR_DIR={tmp_path.name}: wrote {written}")
    assert written


def failing_job():
    raise RuntimeError("the database went away")


@pytest.mark.django_db
def test_sweep_exits_non_zero_naming_the_failed_jobs(settings, capsys):
    settings.PERIODIC_JOBS = {
        "heartbeat": settings.PERIODIC_JOBS["heartbeat"],
        "always-fails": ("tests.tracker.test_sweep_and_var_dir.failing_job", 60.0),
    }
    with pytest.raises(CommandError, match="1 job\\(s\\) failed: always-fails") as raised:
        call_command("sweep")
    assert raised.value.returncode == 1
    out = capsys.readouterr()
    assert "heartbeat:" in out.out  # the other jobs still ran
    assert "always-fails: FAILED (RuntimeError" in out.err


HOLD_THE_DATABASE = """
import sys, time, django
django.setup()
from django.db import connection, transaction
from tracker.joblock import periodic_job_lock
with periodic_job_lock(), transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tracker_heartbeat SET at = at")
        cursor.execute("INSERT INTO tracker_heartbeat (name, at) VALUES ('hold', '2026-01-01')")
    print("holding", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def test_a_sweep_during_beats_job_on_sqlite_waits_instead_of_failing(tmp_path):
    env = _env(tmp_path, SQLITE_BUSY_TIMEOUT="0.2")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    job = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_DATABASE, "15"],  # longer than the sweep takes to start
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert job.stdout.readline().strip() == "holding"  # a job holds the write lock
    started = time.monotonic()
    sweep = subprocess.run(
        [*manage, "sweep", "--only", "heartbeat", "missed-doses", "generate-expected-doses"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    waited = time.monotonic() - started
    job.wait(timeout=30)
    print(f"sweep waited {waited:.1f} s for the running job; exit code {sweep.returncode}")
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    assert "locked" not in sweep.stderr and "FAILED" not in sweep.stderr
    assert waited >= 8


def test_a_periodic_task_on_a_worker_takes_the_same_lock(settings, tmp_path):
    """The worker's side: task_prerun takes the lock for periodic tasks only (tracker/celery.py)."""
    from tracker import joblock

    if not joblock.needed():
        assert joblock.acquire() is None and getattr(joblock._local, "depth", 0) == 0
        return
    settings.VAR_DIR = tmp_path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('held', flush=True); time.sleep(1.5)",
            str(tmp_path / "periodic-jobs.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    from celery.signals import task_postrun, task_prerun

    from tracker.tasks import heartbeat

    started = time.monotonic()
    task_prerun.send(sender=heartbeat, task_id="t1", task=heartbeat)
    waited = time.monotonic() - started
    task_postrun.send(sender=heartbeat, task_id="t1", task=heartbeat)
    holder.wait(timeout=10)
    assert waited >= 1.0
    assert getattr(joblock._local, "depth", 0) == 0
