"""Redis down (issue 17, finding 1): the cache behind rate limits falls back to the process's
memory, so sign-in, the API and the pages keep answering, and one warning a minute says so.
Before, `POST /api/v1/auth/token/` and every API call answered 500 (ConnectionError)."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_down():
    with override_settings(
        CACHES={"default": {"BACKEND": "core.cache.FallbackRedisCache", "LOCATION": DEAD_REDIS}}
    ):
        import core.cache

        cache.memory.clear()
        core.cache._last_logged = -core.cache.LOG_EVERY_SECONDS
        yield cache
        cache.memory.clear()


def test_with_redis_configured_the_cache_is_the_fallback_backend():
    env = {**os.environ, "DJANGO_ENV": "development", "REDIS_URL": DEAD_REDIS}
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "tracker.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "core.cache.FallbackRedisCache"


def test_sign_in_api_and_a_red_report_work_while_redis_is_down(
    redis_down, api, client, patient, nurse, caplog
):
    caplog.set_level(logging.WARNING, logger="core.cache")
    anonymous = api(None)
    token = anonymous.post(
        "/api/v1/auth/token/", {"username": patient.user.username, "password": PASSWORD}
    )
    assert token.status_code == 200, token.content
    patient_api = api(None)
    patient_api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    report = patient_api.post(
        "/api/v1/symptom-reports/",
        {"symptoms": [{"code": "chest_pain", "grade": 1}]},
        format="json",
    )
    assert report.status_code == 201, report.content
    assert report.json()["triage"]["level"] == "red"
    for _ in range(20):
        assert patient_api.get("/api/v1/doses/").status_code == 200

    signed_in = client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client.get("/nurse/").status_code == 200

    warnings = [r for r in caplog.records if r.name == "core.cache"]
    print(f"requests answered with Redis down: 24; cache warnings logged: {len(warnings)}")
    assert len(warnings) == 1  # once a minute, not once per request
    assert "Redis unreachable" in warnings[0].getMessage()


def test_rate_limits_still_count_while_redis_is_down(redis_down, api, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "3/minute")
    client = api(None)
    codes = [
        client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]


@pytest.mark.redis
def test_the_cache_goes_back_to_redis_when_it_answers_again():
    from core.cache import FallbackRedisCache
    from tests.conftest import redis_url

    live = FallbackRedisCache(redis_url(), {})
    live.set("issue17-probe", "from-redis", 30)
    assert live.redis.get("issue17-probe") == "from-redis"
    live._down_until = 0
    dead = FallbackRedisCache(DEAD_REDIS, {})
    dead.set("k", "memory", 30)
    assert dead.redis_down and dead.get("k") == "memory"
    live.delete("issue17-probe")
