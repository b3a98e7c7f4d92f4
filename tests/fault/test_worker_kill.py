"""A worker SIGKILLed mid-delivery: the delivery is reclaimed and sent again, the alert is
not duplicated (at least once, one alert)."""

from datetime import timedelta

import pytest
from django.db.models import F

from notifications import tasks
from notifications.models import Alert, Delivery, DeliveryStatus
from tests.conftest import redis_url
from tests.notifications.helpers import red_report, webhook_channel
from tests.notifications.worker import WorkerProcess, use_broker

from .conftest import report_line

pytestmark = [
    pytest.mark.fault,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def test_worker_sigkill_mid_delivery(patient, receiver, tmp_path):
    from tracker.celery import app

    previous = use_broker(redis_url())
    app.control.purge()
    workers = []
    try:
        hook = receiver(sleep_first=20)
        webhook_channel(patient.care_team, hook.url)
        workers.append(WorkerProcess(redis_url=redis_url(), var_dir=tmp_path))
        workers[0].wait_ready()
        report = red_report(patient)
        assert hook.wait_for(1, timeout=30), workers[0].output()
        workers[0].kill()
        delivery = Delivery.objects.get(alert__symptom_report=report, channel__kind="webhook")
        stuck = delivery.status
        Delivery.objects.filter(pk=delivery.pk).update(
            claimed_at=F("claimed_at") - timedelta(minutes=5)
        )
        workers.append(WorkerProcess(redis_url=redis_url(), var_dir=tmp_path))
        workers[1].wait_ready()
        tasks.sweep_deliveries.delay()
        assert hook.wait_for(2, timeout=30), workers[1].output()
        delivery.refresh_from_db()
        for _ in range(100):
            if delivery.status == DeliveryStatus.SENT:
                break
            import time

            time.sleep(0.1)
            delivery.refresh_from_db()
    finally:
        for worker in workers:
            worker.stop()
        use_broker(previous)
    alerts = Alert.objects.filter(symptom_report=report).count()
    print(
        report_line(
            "worker SIGKILL mid-delivery",
            state_after_kill=stuck,
            attempts=delivery.attempts,
            webhook_posts=len(hook.received),
            alerts=alerts,
            final_state=delivery.status,
        )
    )
    assert stuck == DeliveryStatus.SENDING
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2
    assert alerts == 1
    assert {r.headers["X-Tracker-Delivery"] for r in hook.received} == {str(delivery.pk)}
