"""Redis (cache and broker) stopped mid-traffic and restarted: no 5xx, no alert lost, the
deliveries catch up through the sweep."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from medications.models import SymptomReport
from notifications.models import Alert, Delivery, DeliveryStatus
from tests.factories import PASSWORD, PatientFactory
from tests.notifications.helpers import webhook_channel
from tests.notifications.worker import use_broker

from .conftest import report_line

pytestmark = [
    pytest.mark.fault,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]
PER_PHASE = 3


def test_redis_stopped_mid_traffic_and_restarted(private_redis, receiver, team, settings):
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 0.5
    hook = receiver()
    webhook_channel(team, hook.url)
    patients = [PatientFactory(care_team=team) for _ in range(PER_PHASE * 3)]
    caches = {
        "default": {"BACKEND": "core.cache.FallbackRedisCache", "LOCATION": private_redis.url}
    }
    previous_broker = use_broker(private_redis.url)
    statuses: list[int] = []
    try:
        with override_settings(CACHES=caches):
            cache.clear()
            for phase, group in enumerate(
                [
                    patients[:PER_PHASE],
                    patients[PER_PHASE : 2 * PER_PHASE],
                    patients[2 * PER_PHASE :],
                ]
            ):
                if phase == 1:
                    private_redis.stop()  # mid-traffic
                if phase == 2:
                    private_redis.start()  # and back
                for patient in group:
                    client = APIClient()
                    token = client.post(
                        "/api/v1/auth/token/",
                        {"username": patient.user.username, "password": PASSWORD},
                    )
                    statuses.append(token.status_code)
                    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
                    report = client.post(
                        "/api/v1/symptom-reports/",
                        {"symptoms": [{"code": "chest_pain", "grade": 1}]},
                        format="json",
                    )
                    statuses.append(report.status_code)
                    statuses.append(client.get("/api/v1/doses/").status_code)
            cache.memory.clear()
    finally:
        use_broker(previous_broker)
    # No worker ran: the sweep sends everything from the database.
    call_command("sweep", only=["unraised-alerts", "alert-deliveries"])
    call_command("sweep", only=["unraised-alerts", "alert-deliveries"])
    reports = SymptomReport.objects.count()
    alerts = Alert.objects.count()
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    print(
        report_line(
            "redis stopped and restarted",
            requests=len(statuses),
            server_errors=sum(s >= 500 for s in statuses),
            reports=reports,
            alerts=alerts,
            deliveries_sent=sent,
            webhook_posts=len(hook.received),
        )
    )
    assert all(s < 500 for s in statuses), statuses
    assert reports == alerts == len(patients)
    assert sent == alerts and len(hook.received) == alerts
    assert not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists()
