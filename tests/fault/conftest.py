"""The fault suite (marker `fault`; issue 17): parts of the system fail under traffic and the
tests count what happened. PostgreSQL + Redis only (the CI's second pass): the markers
`postgres` and `redis` deselect it in the SQLite pass and make a missing Redis a failure
under CI=true, never a skip."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections import Counter

import pytest

from tests.notifications.helpers import WebhookReceiver


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port, so stopping it disturbs nobody else."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the fault suite"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs) -> WebhookReceiver:
        made.append(WebhookReceiver(**kwargs))
        return made[-1]

    yield make
    for one in made:
        one.close()


def report_line(name: str, **counts) -> str:
    return f"fault {name}: " + ", ".join(f"{key} {value}" for key, value in counts.items())


def written_once_counts(hook) -> dict[str, Counter]:
    """How often each alert, alert delivery and reminder was written, and each delivery
    posted to the webhook: the fault tests' "nothing twice" counts."""
    from notifications.models import Alert, Delivery, DeliveryPurpose

    return {
        "alerts": Counter(Alert.objects.values_list("dedup_key", flat=True)),
        "deliveries": Counter(
            Delivery.objects.filter(alert__isnull=False).values_list(
                "alert_id", "channel_id", "purpose"
            )
        ),
        "reminders": Counter(
            Delivery.objects.filter(purpose=DeliveryPurpose.REMINDER).values_list(
                "expected_dose_id", "reminder_kind"
            )
        ),
        "posts": Counter(r.headers["X-Tracker-Delivery"] for r in hook.received),
    }
