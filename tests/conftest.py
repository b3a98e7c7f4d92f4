import os

import pytest
from rest_framework.test import APIClient

from tests.factories import AdminFactory, CareTeamFactory, NurseFactory, PatientFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _product_celery_app_stays_current():
    """Tasks declared with shared_task publish through Celery's *current* app. A test (or the
    code it runs) that makes another app current silently reroutes every later test's tasks
    (this happened: a benchmark's helper app took the worker tests' messages elsewhere).
    The test that does it fails here, not the tests after it."""
    from celery import current_app

    yield
    assert current_app.main == "tracker", (
        f"this test left Celery app {current_app.main!r} current instead of the product's"
    )


@pytest.fixture(autouse=True)
def _fresh_throttles_and_lockouts(settings):
    """Each test starts with empty rate-limit counters, no sign-in lock-outs and no
    per-process copies of roles or drugs."""
    from django.core.cache import cache

    from core.process_cache import clear_all

    settings.AXES_ENABLED = False
    cache.clear()
    clear_all()  # per-process copies of roles and drugs: ids are reused between tests
    yield
    cache.clear()


def _restore_roles() -> None:
    """Transactional tests flush the database, taking the role groups (created by a data
    migration) with them; put them back exactly as the migration makes them."""
    import importlib

    from django.apps import apps as django_apps
    from django.contrib.auth.models import Group

    if Group.objects.filter(name__in=["patient", "nurse", "admin"]).count() < 3:
        roles = importlib.import_module("notifications.migrations.0002_roles")
        roles.create_roles(django_apps, None)
    # The admin role's interop permissions (subject access requests, bulk export jobs).
    interop = importlib.import_module("interop.migrations.0002_admin_permissions")
    interop.grant(django_apps, None)
    # The drug catalogue is seeded by a data migration too (it only adds missing drugs).
    catalogue = importlib.import_module("medications.migrations.0002_drug_catalogue")
    catalogue.seed_catalogue(django_apps, None)
    # So is triage rule set version 1 (it only fills an empty table).
    triage_rules = importlib.import_module("medications.migrations.0003_triage_rules_v1")
    triage_rules.seed_rules(django_apps, None)


@pytest.fixture(autouse=True)
def _roles_after_flush(request):
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker is not None and marker.kwargs.get("transaction"))
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        _restore_roles()


@pytest.fixture
def team(db):
    return CareTeamFactory()


@pytest.fixture
def other_team(db):
    return CareTeamFactory()


@pytest.fixture
def nurse(team):
    return NurseFactory(teams=[team])


@pytest.fixture
def other_nurse(other_team):
    return NurseFactory(teams=[other_team])


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def patient(team):
    return PatientFactory(care_team=team)


@pytest.fixture
def other_patient(other_team):
    return PatientFactory(care_team=other_team)


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


@pytest.fixture
def api():
    return api_client_for


# --- Real services ---------------------------------------------------------------------------
# `postgres` tests need the suite's database to be PostgreSQL (the second pass of .ci/run).
# `redis` tests need a reachable Redis (REDIS_URL, or the local default). Without them a test
# skips with the reason locally; under CI=true a missing Redis is a failure, and postgres tests
# are left to the PostgreSQL pass (deselected, not skipped, in the SQLite pass).


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def database_is_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL
    return [
        f"tracker database: {db['ENGINE'].rsplit('.', 1)[-1]} "
        f"({db.get('HOST') or 'file'}), broker: {broker.split('@')[-1]}, "
        f"redis tests use: {redis_url()}, CI={IN_CI}"
    ]


def pytest_collection_modifyitems(config, items):
    on_postgres = database_is_postgres()
    have_redis = None
    keep, deselected = [], []
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            if IN_CI:
                deselected.append(item)
                continue
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
            )
        if item.get_closest_marker("redis"):
            if have_redis is None:
                have_redis = redis_available()
            if not have_redis:
                if IN_CI:
                    raise pytest.UsageError(f"CI=true but no Redis answers at {redis_url()}")
                else:
                    item.add_marker(pytest.mark.skip(reason=f"no Redis at {redis_url()}"))
        keep.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


# --- Measurements shown in the run's summary ---------------------------------------------------
# Tests that measure something a reader of the CI log wants to see (e.g. the worker latency of
# a red report) record it here; pytest's output capture would otherwise swallow a print.
_MEASUREMENTS: list[str] = []


@pytest.fixture
def measurement():
    """Call with a line of text; it is printed at the end of the run."""

    def record(text: str) -> None:
        _MEASUREMENTS.append(text)

    return record


def pytest_terminal_summary(terminalreporter):
    if _MEASUREMENTS:
        terminalreporter.section("measurements")
        for line in _MEASUREMENTS:
            terminalreporter.write_line(line)
