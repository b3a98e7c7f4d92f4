"""Schemathesis against the symptom-report operations: whatever the body or query, the answer
is never a 500, its status is documented, it is JSON, and it matches the published schema.
Schema-valid bodies (positive) and schema-breaking ones (negative) are both sent, as each of
patient, nurse and admin."""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from medications.models import SymptomReport
from tests.factories import AdminFactory, NurseFactory, PatientFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 15))
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.django_db
def test_symptom_report_operations_hold_to_their_schema(team, settings_no_throttle):
    from tracker.wsgi import application

    patient = PatientFactory(care_team=team)
    tokens = {
        "patient": Token.objects.create(user=patient.user).key,
        "nurse": Token.objects.create(user=NurseFactory(teams=[team])).key,
        "admin": Token.objects.create(user=AdminFactory()).key,
    }
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json",
        application,
        headers={"Authorization": f"Token {tokens['admin']}"},
    ).include(path_regex="^/api/v1/symptom-reports/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == {
        ("GET", "/api/v1/symptom-reports/"),
        ("POST", "/api/v1/symptom-reports/"),
        ("GET", "/api/v1/symptom-reports/{id}/"),
    }
    statuses: dict[tuple[str, str], set[int]] = {}

    for operation in operations:
        for mode in GenerationMode:
            for key in tokens.values():
                fuzz(operation, mode, key, statuses)

    # Both kinds of answer were reached: reports were stored and bad ones refused.
    assert 201 in statuses[("POST", "positive")] or SymptomReport.objects.exists()
    assert 400 in statuses[("POST", "negative")]


def fuzz(operation, mode, key, statuses):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(headers={"Authorization": f"Token {key}"})
        assert response.status_code < 500, (case.body, response.text[:500])
        case.validate_response(response, checks=CHECKS)
        statuses.setdefault((operation.method.upper(), mode.value), set()).add(response.status_code)

    check()


@pytest.fixture
def settings_no_throttle(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    # Requests go through the WSGI app, not Django's test client: keep the test's database
    # connection open between them as the test client does (it would close it on PostgreSQL).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield settings
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
