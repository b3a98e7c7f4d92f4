"""Production settings (Django's deployment checklist, OWASP ASVS 14) and the headers every
page carries: `check --deploy` is clean, HTTPS everywhere, a strict Content-Security-Policy
that the templates can live with, no caching of what a signed-in user sees."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _production(args: list[str], tmp_path, **extra) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process; a deployment
    # never has it, so the production subprocess must not inherit it.
    dropped = {"SECRET_KEY", "DEBUG", "DJANGO_ENV", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="tracker.example.nhs.uk",
        VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tracker.settings",
        **extra,
    )
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    from core.vapid import generate_pair

    public, private = generate_pair()
    result = _production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        VAPID_PUBLIC_KEY=public,
        VAPID_PRIVATE_KEY=private,
        VAPID_SUBJECT="mailto:advice-line@example.nhs.uk",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_settings_values(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'DEBUG', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS',"
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY',"
        "'SESSION_COOKIE_NAME', 'CSRF_COOKIE_NAME', 'X_FRAME_OPTIONS',"
        "'SECURE_CONTENT_TYPE_NOSNIFF', 'SESSION_COOKIE_AGE', 'SESSION_SAVE_EVERY_REQUEST']}))"
    )
    result = _production(["-c", script], tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert values["X_FRAME_OPTIONS"] == "DENY" and values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["SESSION_COOKIE_AGE"] <= 30 * 60 and values["SESSION_SAVE_EVERY_REQUEST"]


def test_debug_cannot_be_left_on_by_accident_in_production(tmp_path):
    """DEBUG defaults off in production; check --deploy flags it if someone turns it on."""
    result = _production(["manage.py", "check", "--deploy"], tmp_path, DEBUG="true")
    assert "security.W018" in result.stdout + result.stderr


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    policy = {}
    for part in header.split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client, nurse):
    for response in (client.get("/accounts/login/"), client.get("/healthz/")):
        policy = _policy(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no CDN
        assert policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        features = dict(
            part.strip().split("=", 1) for part in response["Permissions-Policy"].split(",")
        )
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[feature] == "()", feature  # switched off everywhere


@pytest.mark.django_db
def test_api_docs_run_no_third_party_or_inline_script(client, nurse):
    client.force_login(nurse)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cdn." not in html and "https://" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script on the docs page"
    policy = _policy(page)
    assert policy["script-src"] == ["'self'"]
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]


def _project_templates() -> list[Path]:
    found = []
    for folder in ROOT.iterdir():
        if folder.name.startswith(".") or folder.name in {"staticfiles", "var", "test-output"}:
            continue
        if folder.is_dir():
            found += [p for p in folder.rglob("templates/**/*.html") if ".venv" not in p.parts]
    return sorted(found)


# What a strict CSP blocks in a template: inline <script> (no src), <style> blocks, style=""
# attributes, on*="" event handlers, javascript: URLs, and htmx's hx-on (it needs eval).
FORBIDDEN_IN_TEMPLATES = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> block": re.compile(r"<style[\s>]", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on attribute": re.compile(r"\shx-on[:-]", re.I),
}


def test_templates_need_no_unsafe_inline():
    templates = _project_templates()
    assert any(p.name == "base.html" for p in templates)
    problems = []
    for path in templates:
        text = path.read_text()
        for what, pattern in FORBIDDEN_IN_TEMPLATES.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not problems, "blocked by the Content-Security-Policy:\n" + "\n".join(problems)


def test_htmx_does_not_inject_its_indicator_style():
    base = (ROOT / "tracker" / "templates" / "base.html").read_text()
    match = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', base)
    assert match, "base.html must configure htmx"
    config = json.loads(match.group(1))
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False


@pytest.mark.django_db
def test_signed_in_answers_are_not_cached(client, api, nurse, patient):
    response = api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    client.force_login(nurse)
    page = client.get("/accounts/")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]


@pytest.mark.django_db
def test_api_errors_are_json_and_unknown_api_paths_too(api, nurse):
    response = api(nurse).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_session_cookie_is_http_only_and_samesite(client, nurse):
    from tests.factories import PASSWORD

    response = client.post("/accounts/login/", {"username": nurse.username, "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
