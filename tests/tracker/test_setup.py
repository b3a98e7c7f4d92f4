"""The project's set-up files: compose file, settings modes, commands."""

import importlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_parses_and_names_real_commands():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "web", "worker", "beat"}
    # One image for web, worker and beat, built from our Dockerfile.
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["environment"]["DJANGO_ENV"] == "production"
    assert services["beat"]["deploy"]["replicas"] == 1
    assert (ROOT / "Dockerfile").exists()

    web = " ".join(services["web"]["command"])
    assert "manage.py migrate" in web
    assert "gunicorn tracker.wsgi:application" in web
    wsgi = importlib.import_module("tracker.wsgi")
    assert callable(wsgi.application)
    for name in ("worker", "beat"):
        command = services[name]["command"]
        assert command[:3] == ["celery", "-A", "tracker"]
        assert command[3] == name
    celery_module = importlib.import_module("tracker.celery")
    assert celery_module.app.main == "tracker"


def test_procfile_names_real_commands():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert set(lines) == {"web", "worker", "beat"}
    assert shlex.split(lines["web"])[:3] == ["python", "manage.py", "runserver"]
    assert shlex.split(lines["worker"])[:4] == ["celery", "-A", "tracker", "worker"]
    assert shlex.split(lines["beat"])[:4] == ["celery", "-A", "tracker", "beat"]


def _settings_in_subprocess(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DJANGO_ENV"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tracker.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _settings_in_subprocess({"DJANGO_ENV": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    weak = _settings_in_subprocess({"DJANGO_ENV": "production", "SECRET_KEY": "short"})
    assert weak.returncode != 0
    assert "too weak" in weak.stderr
    ok = _settings_in_subprocess(
        {"DJANGO_ENV": "production", "SECRET_KEY": "x7" * 30, "ALLOWED_HOSTS": "example.org"}
    )
    assert ok.returncode == 0, ok.stderr
    assert "started" in ok.stdout


def test_celery_reliability_settings():
    from django.conf import settings

    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_TASK_IGNORE_RESULT is True
    # Beat runs every periodic job that `sweep` runs.
    assert set(settings.CELERY_BEAT_SCHEDULE) == set(settings.PERIODIC_JOBS)


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    from django.contrib.auth.models import User

    from patients.models import CareTeam, Patient

    call_command("seed_demo")
    first = (User.objects.count(), Patient.objects.count(), CareTeam.objects.count())
    out = capsys.readouterr().out
    assert "nurse" in out and "sam" in out
    call_command("seed_demo")
    assert (User.objects.count(), Patient.objects.count(), CareTeam.objects.count()) == first
    assert first[1] >= 5


@pytest.mark.django_db
def test_sweep_runs_every_job_and_exits_cleanly(capsys):
    from django.conf import settings

    call_command("sweep")
    out = capsys.readouterr().out
    for name in settings.PERIODIC_JOBS:
        assert f"{name}:" in out


@pytest.mark.django_db
def test_login_page_served(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


@pytest.mark.django_db
def test_api_schema_and_docs_served(api, nurse):
    schema = api(nurse).get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/patients/" in schema.content
    assert api(nurse).get("/api/v1/docs/").status_code == 200
