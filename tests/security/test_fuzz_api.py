"""Property-based API fuzzing with schemathesis (4.x) against the live schema at
/api/v1/schema/, signed in as a nurse (token) with a world of data present
(tests/security/test_authorisation_matrix.build_world).

Each operation gets a fixed, derandomised set of generated requests (MAX_EXAMPLES), so a run
is repeatable and bounded in time. Checks: never a 5xx; the status code, the Content-Type and
the body of every answer conform to the schema. Part of `make test`; `make fuzz` runs only these.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .test_authorisation_matrix import NOW, build_world

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def nurse_token(db):
    with time_machine.travel(NOW, tick=False):
        world = build_world()
    return Token.objects.get_or_create(user=world.users["nurse"])[0].key


class _InTestTransaction:
    """A WSGI app that, like Django's test client, does not close the test's database
    connection at the end of each request (it holds the test's transaction)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return self.app(environ, start_response)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def served_schema() -> dict:
    """The schema exactly as /api/v1/schema/ serves it (generated without a request; a
    test below proves it equals the one served to a signed-in nurse)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


# Loaded when the tests are collected (schemathesis' lazy fixture loader does not work with
# pytest 9: it sets Function._nodeid); requests go to the Django app in-process.
schema = schemathesis.openapi.from_dict(served_schema())
schema.app = _InTestTransaction(WSGIHandler())


@pytest.mark.django_db
def test_fuzzed_schema_is_the_served_schema(nurse_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {nurse_token}")
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert json.loads(response.content) == served_schema()


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_and_answers_as_documented(case, nurse_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {nurse_token}"},
        checks=CHECKS,
    )
