"""Periodic jobs take turns on SQLite (issue 17, finding 10).

On the default set-up (SQLite) `manage.py sweep` run while beat's jobs run (what the README
suggests after an outage) failed jobs with `database is locked`: two long write transactions
from two processes, one of them waiting past the busy timeout. Here every periodic job takes
one lock file under VAR_DIR before it starts and holds it to the end, so a second sweep
waits for the first instead of failing. The worker takes it around each periodic task (Celery
signals, tracker/celery.py), `manage.py sweep` around each job. On PostgreSQL the jobs need no
such lock (row locks, SKIP LOCKED and conditional updates let them run together), so it is
not taken there. Re-entrant within a thread (a job that runs another inline).
"""

from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

_local = threading.local()


def needed() -> bool:
    return connection.vendor == "sqlite"


def lock_path():
    return settings.VAR_DIR / "periodic-jobs.lock"


def acquire() -> None:
    if not needed():
        return
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        handle = open(lock_path(), "a")  # noqa: SIM115 - held until release()
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits for the other process's job to finish
        _local.handle = handle
    _local.depth = depth + 1


def release() -> None:
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        return
    _local.depth = depth - 1
    if depth == 1:
        handle = _local.handle
        _local.handle = None
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


@contextmanager
def periodic_job_lock():
    acquire()
    try:
        yield
    finally:
        release()


def periodic_task_names() -> set[str]:
    return {task for task, _seconds in settings.PERIODIC_JOBS.values()}
