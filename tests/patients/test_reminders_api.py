"""API of dose-reminder settings and push subscriptions (API.md, second round)."""

import pytest

from core.vapid import vapid_keys
from patients.models import AuditEvent, PushSubscription
from tests.notifications.push_helpers import BrowserKeys

pytestmark = pytest.mark.django_db
ENDPOINT = "https://fcm.googleapis.com/fcm/send/dGVzdC1kZXZpY2U"


def subscription_json(endpoint=ENDPOINT, keys=None):
    keys = keys or BrowserKeys.new()
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": keys.p256dh, "auth": keys.auth_b64},
    }


def test_the_patient_nurse_and_admin_read_the_setting_others_get_404(
    api, patient, nurse, other_nurse, other_patient, admin_user
):
    url = f"/api/v1/patients/{patient.pk}/reminders/"
    answer = api(patient.user).get(url)
    assert answer.status_code == 200
    assert answer.json() == {
        "enabled": True,
        "minutes_before": 0,
        "reachable": True,
        "unreachable": False,
        "channels": ["email"],
        "devices": 0,
        "reached_at": None,
        "failing_since": None,
    }
    assert api(nurse).get(url).status_code == 200
    assert api(admin_user).get(url).status_code == 200
    assert api(other_nurse).get(url).status_code == 404
    assert api(other_patient.user).get(url).status_code == 404
    assert api(None).get(url).status_code in (401, 403)
    assert AuditEvent.objects.filter(patient=patient, actor=nurse, action="read").exists()


def test_the_patient_turns_reminders_off_and_moves_them_earlier(api, patient, nurse):
    url = f"/api/v1/patients/{patient.pk}/reminders/"
    answer = api(patient.user).put(url, {"enabled": False, "minutes_before": 30}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["enabled"] is False and answer.json()["minutes_before"] == 30
    assert answer.json()["reachable"] is False
    patient.refresh_from_db()
    assert (patient.reminders_enabled, patient.reminder_minutes_before) == (False, 30)
    # Staff can see and change it too.
    answer = api(nurse).put(url, {"enabled": True, "minutes_before": 0}, format="json")
    assert answer.status_code == 200
    patient.refresh_from_db()
    assert patient.reminders_enabled is True


@pytest.mark.parametrize(
    "body, field",
    [
        ({"enabled": True, "minutes_before": 61}, "minutes_before"),
        ({"enabled": True, "minutes_before": -1}, "minutes_before"),
        ({"enabled": True}, "minutes_before"),
        ({"enabled": "maybe", "minutes_before": 0}, "enabled"),
        ({"enabled": True, "minutes_before": 0, "channel": "sms"}, "channel"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(api, patient, body, field):
    answer = api(patient.user).put(f"/api/v1/patients/{patient.pk}/reminders/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    patient.refresh_from_db()
    assert (patient.reminders_enabled, patient.reminder_minutes_before) == (True, 0)


def test_the_push_key_is_the_servers_vapid_public_key(api, nurse):
    answer = api(nurse).get("/api/v1/push/key/")
    assert answer.status_code == 200
    assert answer.json() == {"public_key": vapid_keys().public_key}
    assert api(None).get("/api/v1/push/key/").status_code in (401, 403)


def test_a_patient_subscribes_a_device_and_the_same_endpoint_again_updates_it(api, patient):
    client = api(patient.user)
    first = client.post(
        "/api/v1/push-subscriptions/",
        subscription_json(),
        format="json",
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    )
    assert first.status_code == 201, first.json()
    new_keys = BrowserKeys.new()
    again = client.post(
        "/api/v1/push-subscriptions/", subscription_json(keys=new_keys), format="json"
    )
    assert again.status_code == 200 and again.json() == first.json()
    (stored,) = PushSubscription.objects.filter(patient=patient)
    assert stored.p256dh == new_keys.p256dh
    second_device = client.post(
        "/api/v1/push-subscriptions/",
        subscription_json(endpoint=ENDPOINT + "-tablet"),
        format="json",
    )
    assert second_device.status_code == 201
    state = client.get(f"/api/v1/patients/{patient.pk}/reminders/").json()
    assert state["channels"] == ["push", "email"] and state["devices"] == 2


def test_only_patients_subscribe_devices(api, nurse):
    answer = api(nurse).post("/api/v1/push-subscriptions/", subscription_json(), format="json")
    assert answer.status_code == 403
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda body: body.update(endpoint="http://push.example.org/x"), "endpoint"),
        (lambda body: body.update(endpoint="https://intranet.local/x"), "endpoint"),
        (lambda body: body.update(endpoint=""), "endpoint"),
        (lambda body: body["keys"].update(p256dh="bm90IGEga2V5"), "keys.p256dh"),
        (lambda body: body["keys"].update(auth="!!"), "keys.auth"),
        (lambda body: body.pop("keys"), "keys"),
        (lambda body: body.update(extra=1), "extra"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(api, patient, change, field):
    body = subscription_json()
    change(body)
    answer = api(patient.user).post("/api/v1/push-subscriptions/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert not PushSubscription.objects.exists()


def test_a_patient_removes_their_own_device_only(api, patient, other_patient, nurse):
    mine = (
        api(patient.user)
        .post("/api/v1/push-subscriptions/", subscription_json(), format="json")
        .json()["id"]
    )
    theirs = (
        api(other_patient.user)
        .post(
            "/api/v1/push-subscriptions/", subscription_json(endpoint=ENDPOINT + "2"), format="json"
        )
        .json()["id"]
    )

    assert api(patient.user).delete(f"/api/v1/push-subscriptions/{theirs}/").status_code == 404
    assert api(nurse).delete(f"/api/v1/push-subscriptions/{mine}/").status_code == 403
    assert (
        api(patient.user).delete("/api/v1/push-subscriptions/99999999999999999999/").status_code
        == 404
    )
    assert api(patient.user).delete(f"/api/v1/push-subscriptions/{mine}/").status_code == 204
    assert api(patient.user).delete(f"/api/v1/push-subscriptions/{mine}/").status_code == 404
    assert list(PushSubscription.objects.values_list("pk", flat=True)) == [theirs]


def test_the_schema_documents_the_reminder_and_push_endpoints(api, admin_user):
    schema = api(admin_user).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/patients/{patient_id}/reminders/"]) >= {"get", "put"}
    assert "get" in paths["/api/v1/push/key/"]
    assert "post" in paths["/api/v1/push-subscriptions/"]
    assert "delete" in paths["/api/v1/push-subscriptions/{subscription_id}/"]
    assert "post" in paths["/api/v1/push/taken/{dose_id}/"]
