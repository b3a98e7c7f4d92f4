"""A real Celery worker process for tests: same code, the test database, the test Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def use_broker(url: str) -> str:
    """Point this process's Celery app at `url`; returns the previous URL. The cached
    connection and producer pools are dropped so the next publish uses the new broker."""
    from tracker.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._pool = None
    with contextlib.suppress(KeyError):
        app.__dict__["amqp"]._producer_pool = None
    return previous


def database_url() -> str:
    """The test database (not the configured one): the worker must see the test's rows."""
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, *, redis_url: str, var_dir: Path):
        self.name = f"alerts-test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = var_dir / f"{self.name.split('@')[0]}.log"
        env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("TEST_DATABASE_NAME", None)
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tracker",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "-n",
                self.name,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as one
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.output()}")
            time.sleep(0.1)
        raise TimeoutError(f"worker not ready after {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no ack, nothing recorded: a machine losing power."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
