"""End to end with a real Redis and a real Celery worker process sharing the test database
(PostgreSQL): a red symptom report becomes an alert and a signed webhook delivery within
seconds; a worker killed mid-delivery loses nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db.models import F

from notifications import channels, tasks
from notifications.models import Alert, Delivery, DeliveryAttempt, DeliveryStatus
from tests.conftest import redis_url

from .helpers import red_report, webhook_channel
from .worker import WorkerProcess, use_broker

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def redis_broker():
    from tracker.celery import app

    url = redis_url()
    previous = use_broker(url)
    app.control.purge()  # nothing left over from another run
    yield url
    use_broker(previous)


@pytest.fixture
def start_worker(redis_broker, tmp_path):
    workers: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(redis_url=redis_broker, var_dir=tmp_path)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_until(check, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_red_report_reaches_the_paging_webhook_through_the_worker(
    patient, receiver, start_worker, measurement
):
    hook = receiver()
    webhook_channel(patient.care_team, hook.url, secret="pager-secret")
    worker = start_worker()

    started = time.monotonic()
    report = red_report(patient)
    assert hook.wait_for(1, timeout=30), worker.output()
    latency = hook.received[0].at - started
    measurement(f"red symptom report -> signed webhook via Redis + worker: {latency * 1000:.0f} ms")

    (alert,) = Alert.objects.filter(symptom_report=report)
    assert alert.level == "red"
    delivery = Delivery.objects.get(alert=alert, channel__kind="webhook")
    assert wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT)
    request = hook.received[0]
    assert request.json["alert_id"] == alert.pk
    assert request.headers["X-Tracker-Delivery"] == str(delivery.pk)
    assert channels.verify(request.body, "pager-secret", request.headers["X-Tracker-Signature"])
    # Sent by the worker on the event path, not by a sweep: one attempt, seconds after.
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1
    assert latency < 10
    assert "notifications.tasks.send_delivery" in worker.output()


def test_a_worker_killed_mid_delivery_loses_nothing(patient, receiver, start_worker):
    # The receiver takes 20 s to answer the first request: the worker is killed meanwhile.
    hook = receiver(sleep_first=20)
    webhook_channel(patient.care_team, hook.url)
    first_worker = start_worker()

    report = red_report(patient)
    assert hook.wait_for(1, timeout=30), first_worker.output()
    first_worker.kill()

    delivery = Delivery.objects.get(alert__symptom_report=report, channel__kind="webhook")
    assert delivery.status == DeliveryStatus.SENDING  # claimed, never recorded
    assert DeliveryAttempt.objects.get(delivery=delivery).finished_at is None

    # Time passes (the claim is older than the stuck timeout), a new worker runs the
    # delivery sweep: it reclaims the delivery and sends it again.
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_at=F("claimed_at") - timedelta(minutes=5)
    )
    second_worker = start_worker()
    tasks.sweep_deliveries.delay()
    assert hook.wait_for(2, timeout=30), second_worker.output()
    assert wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT)

    delivery.refresh_from_db()
    assert delivery.attempts == 2
    first, second = delivery.attempt_log.all()
    assert not first.ok and "stopped" in first.error
    assert second.ok and second.status_code == 200
    # At least once: the receiver saw the same delivery twice and can de-duplicate by id.
    assert {r.headers["X-Tracker-Delivery"] for r in hook.received} == {str(delivery.pk)}
    assert {r.json["alert_id"] for r in hook.received} == {delivery.alert_id}
    assert Alert.objects.filter(symptom_report=report).count() == 1
