"""Admin: alerts (filters incl. overdue, history inline), channels (failing column and
filter, "send a test message"), the delivery log with its attempts."""

import pytest
from django.test import Client

from notifications.models import Alert, Channel, Delivery, DeliveryStatus

from .helpers import triaged_report, webhook_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_alert_list_filters_and_change_page(client, patient):
    triaged_report(patient, level="red")
    alert = Alert.objects.get()
    for query in [
        "",
        "?level=red",
        "?status=open",
        "?overdue=yes",
        "?overdue=no",
        "?kind=symptom",
        f"?care_team__id__exact={patient.care_team_id}",
    ]:
        response = client.get("/admin/notifications/alert/" + query)
        assert response.status_code == 200, query
    page = client.get(f"/admin/notifications/alert/{alert.pk}/change/")
    assert page.status_code == 200
    assert b"Raised" in page.content  # the history inline


def test_acknowledge_action(client, patient, admin_user):
    triaged_report(patient, level="amber")
    alert = Alert.objects.get()
    client.post(
        "/admin/notifications/alert/",
        {"action": "acknowledge_selected", "_selected_action": [alert.pk]},
    )
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == admin_user


def test_failing_channels_are_shown_and_filterable(client, patient, receiver):
    working = webhook_channel(patient.care_team, receiver().url)
    failing = Channel.objects.create(
        name="Old pager",
        care_team=patient.care_team,
        kind="webhook",
        target="http://127.0.0.1:1/",
        secret="x",
        consecutive_failures=5,
        last_error="HTTP 503",
    )
    page = client.get("/admin/notifications/channel/")
    assert page.status_code == 200 and b"FAILING" in page.content
    only_failing = client.get("/admin/notifications/channel/?failing=yes")
    assert failing.name.encode() in only_failing.content
    assert working.name.encode() not in only_failing.content


def test_send_test_action_reports_success_and_failure(client, patient, receiver):
    hook = receiver()
    good = webhook_channel(patient.care_team, hook.url)
    bad = Channel.objects.create(
        name="Broken",
        care_team=patient.care_team,
        kind="webhook",
        target="http://127.0.0.1:1/",
        secret="x",
    )
    response = client.post(
        "/admin/notifications/channel/",
        {"action": "send_test", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    assert b"test message sent" in response.content
    assert b"test message failed" in response.content
    assert len(hook.received) == 1
    assert Delivery.objects.get(channel=good).status == DeliveryStatus.SENT
    assert Delivery.objects.get(channel=bad).status == DeliveryStatus.PENDING  # retried later


def test_channel_form_needs_a_secret_for_webhooks(client, patient):
    response = client.post(
        "/admin/notifications/channel/add/",
        {
            "name": "Pager",
            "care_team": patient.care_team_id,
            "kind": "webhook",
            "purpose": "both",
            "target": "https://pager.example.nhs.uk/hook",
            "secret": "",
            "min_level": "amber",
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"A webhook needs a secret" in response.content
    assert not Channel.objects.filter(name="Pager").exists()


def test_delivery_log_with_attempts(client, patient, receiver):
    webhook_channel(patient.care_team, receiver(statuses=[500]).url)
    triaged_report(patient, level="red")
    from notifications import services

    services.deliveries_sweep()
    delivery = Delivery.objects.get(channel__kind="webhook")
    assert client.get("/admin/notifications/delivery/?status=pending").status_code == 200
    page = client.get(f"/admin/notifications/delivery/{delivery.pk}/change/")
    assert page.status_code == 200 and b"500" in page.content
