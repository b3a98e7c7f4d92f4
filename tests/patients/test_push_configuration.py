"""VAPID keys and push endpoints: from the environment in production (push off without them,
a half-set or mismatched pair refuses to start), generated once under VAR_DIR in development
and tests; `manage.py vapid_keys` prints a pair that works; endpoints must be a push
service's https URL (plain http to this machine only outside production)."""

import io
import stat

import pytest
from django.core.management import call_command

from core import vapid
from patients.reminders import endpoint_problem
from tests.security.test_deploy_settings import _production


def test_development_generates_one_pair_under_var_dir_and_keeps_it(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = vapid.vapid_keys()
    path = tmp_path / "vapid.json"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vapid._keys.cache_clear()
    again = vapid.vapid_keys()
    assert again == first
    assert first.subject == "mailto:tracker@localhost"
    vapid.validate(first.public_key, first.private_key, first.subject)


def test_the_environment_pair_wins(settings, tmp_path):
    public, private = vapid.generate_pair()
    settings.VAR_DIR = tmp_path
    settings.VAPID_PUBLIC_KEY = public
    settings.VAPID_PRIVATE_KEY = private
    settings.VAPID_SUBJECT = "mailto:team@example.nhs.uk"
    keys = vapid.vapid_keys()
    assert (keys.public_key, keys.private_key) == (public, private)
    assert not (tmp_path / "vapid.json").exists()


def test_production_without_keys_has_no_push(settings, api, patient):
    settings.PRODUCTION = True
    settings.VAPID_PUBLIC_KEY = settings.VAPID_PRIVATE_KEY = settings.VAPID_SUBJECT = ""
    assert vapid.vapid_keys() is None
    client = api(patient.user)
    assert client.get("/api/v1/push/key/").status_code == 503
    answer = client.post("/api/v1/push-subscriptions/", {}, format="json")
    assert answer.status_code == 503


def test_the_command_prints_a_pair_that_belongs_together():
    out = io.StringIO()
    call_command("vapid_keys", stdout=out)
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    vapid.validate(lines["VAPID_PUBLIC_KEY"], lines["VAPID_PRIVATE_KEY"], "mailto:a@example.org")


@pytest.mark.parametrize(
    "env, message",
    [
        ({"VAPID_PUBLIC_KEY": "x"}, "Set all of VAPID_PUBLIC_KEY"),
        (
            {
                "VAPID_PUBLIC_KEY": vapid.generate_pair()[0],
                "VAPID_PRIVATE_KEY": vapid.generate_pair()[1],
                "VAPID_SUBJECT": "mailto:a@example.org",
            },
            "does not belong to VAPID_PRIVATE_KEY",
        ),
        (
            dict(
                zip(["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"], vapid.generate_pair(), strict=True),
                VAPID_SUBJECT="tracker@example.org",
            ),
            "VAPID_SUBJECT must be",
        ),
    ],
)
def test_production_refuses_to_start_with_a_broken_push_configuration(tmp_path, env, message):
    result = _production(["manage.py", "check"], tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_says_push_is_off_without_keys(tmp_path):
    result = _production(["manage.py", "check", "--deploy"], tmp_path)
    assert "tracker.W001" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "endpoint, production, problem",
    [
        ("https://fcm.googleapis.com/fcm/send/abc", True, ""),
        ("https://updates.push.services.mozilla.com/wpush/v2/abc", True, ""),
        ("https://web.push.apple.com/QGx", True, ""),
        ("https://wns2-par02p.notify.windows.com/w/?token=abc", True, ""),
        ("http://fcm.googleapis.com/fcm/send/abc", True, "must be an https:// URL"),
        ("http://127.0.0.1:8123/push", True, "must be an https:// URL"),
        ("http://127.0.0.1:8123/push", False, ""),
        ("http://[::1]:8123/push", False, ""),
        ("http://10.0.0.5/push", False, "must be an https:// URL"),
        ("https://intranet.example.nhs.uk/push", True, "not the address of a known push"),
        ("https://evilgoogleapis.com/x", True, "not the address of a known push"),
        ("https://user:pw@fcm.googleapis.com/x", True, "no user name or password"),
        ("https://fcm.googleapis.com:99999/x", True, "not a valid URL"),
    ],
)
def test_endpoints_must_be_a_push_services_https_url(settings, endpoint, production, problem):
    settings.PUSH_ALLOW_LOOPBACK_HTTP = not production
    found = endpoint_problem(endpoint)
    assert (problem in found) if problem else found == ""
