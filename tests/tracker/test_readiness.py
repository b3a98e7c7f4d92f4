"""GET /readyz/ (API.md, second round) and the nurse dashboard's banner when the worker or
beat is down (issue 17, finding 1: before, only /healthz/ existed and said 200 regardless)."""

from datetime import timedelta

import pytest
import time_machine
from celery.signals import before_task_publish
from django.utils import timezone

from tests.factories import PASSWORD
from tracker import health
from tracker.models import Heartbeat
from tracker.tasks import heartbeat

pytestmark = pytest.mark.django_db


def stamp_both(at=None):
    health.worker_ran(at)
    health.beat_published(at)


def test_ready_when_database_broker_worker_beat_and_outbox_are_fine(client):
    stamp_both()
    response = client.get("/readyz/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["worker_heartbeat_age_s"] <= 1 and body["beat_lag_s"] <= 1
    assert body["outbox_oldest_pending_s"] == 0
    assert client.get("/healthz/").status_code == 200


def test_not_ready_before_any_heartbeat_names_worker_and_beat(client):
    response = client.get("/readyz/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker_heartbeat_age_s", "beat_lag_s"]
    assert "worker_heartbeat_age_s" in response.json()["detail"]


def test_a_worker_silent_for_more_than_three_minutes_is_named(client):
    stamp_both()
    with time_machine.travel(timezone.now() + timedelta(minutes=3, seconds=30)):
        health.beat_published()
        response = client.get("/readyz/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker_heartbeat_age_s"]
    assert response.json()["worker_heartbeat_age_s"] >= 210


def test_an_alert_delivery_waiting_too_long_is_named(client, team):
    from notifications.models import Channel, Delivery

    stamp_both()
    channel = Channel.objects.create(
        care_team=team, name="ward", kind="email", target="ward@example.org"
    )
    Delivery.objects.create(
        channel=channel, purpose="test", next_attempt_at=timezone.now() - timedelta(minutes=6)
    )
    response = client.get("/readyz/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["outbox_oldest_pending_s"]
    assert response.json()["outbox_oldest_pending_s"] >= 360


def test_a_dead_broker_is_named(client):
    from tests.notifications.worker import use_broker

    stamp_both()
    previous = use_broker("redis://127.0.0.1:1/0")
    try:
        response = client.get("/readyz/")
    finally:
        use_broker(previous)
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["failing"] == ["broker"]


def test_worker_and_beat_stamp_their_heartbeats_and_the_sweep_does_not():
    heartbeat()  # `manage.py sweep` calls it directly, in its own process
    assert not Heartbeat.objects.exists()
    heartbeat.apply()  # as a worker runs it
    assert Heartbeat.objects.filter(name="worker").exists()
    before_task_publish.send(sender="tracker.tasks.heartbeat", body=None)  # beat publishing
    assert Heartbeat.objects.filter(name="beat").exists()


def test_the_nurse_dashboard_warns_when_the_worker_or_beat_is_down(client, nurse):
    client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    down = client.get("/nurse/")
    assert down.status_code == 200
    assert b"Alerts may be late: the background worker and scheduler are not running" in (
        down.content
    )
    stamp_both()
    assert b"Alerts may be late" not in client.get("/nurse/").content
    health.worker_ran(timezone.now() - timedelta(minutes=10))
    only_worker = client.get("/nurse/").content
    assert b"the background worker is not running" in only_worker
