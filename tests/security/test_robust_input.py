"""Robust input (OWASP ASVS 5.1, 13.1): every POST endpoint in the API schema answers
malformed JSON, a JSON array, an oversized body and unknown fields with a 4xx JSON answer that
says what is wrong, never a 5xx and never an HTML page."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .test_authorisation_matrix import ASKED_AT, NOW, build_world

# Path parameters of the schema -> the world's objects (tests/security/test_authorisation_matrix).
PATH_VALUES = {
    "/api/v1/prescriptions/": "prescription",
    "/api/v1/infusions/": "infusion",
    "/api/v1/infusion-courses/": "course",
    "/api/v1/doses/": "dose",
    "/api/v1/alerts/": "alert",
    "/api/v1/symptom-reports/": "symptom_report",
    "/api/v1/patients/": "patient",
    "/api/v1/drugs/": "drug",
}


def post_operations() -> list[tuple[str, bool]]:
    """(path template, takes a JSON object body) for every POST in the schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in sorted(schema["paths"].items()):
        operation = item.get("post")
        if operation is None:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        body_schema = content.get("application/json", {}).get("schema")
        found.append((path, body_schema is not None))
    return found


OPERATIONS = post_operations()


def concrete(path: str, ids: dict) -> str:
    for prefix, name in PATH_VALUES.items():
        if path.startswith(prefix):
            path = re.sub(r"\{(id|pk|code)\}", str(ids.get(name, 1)), path, count=1)
    path = re.sub(r"\{subscription_id\}", str(ids["subscription"]), path)
    path = re.sub(r"\{dose_id\}", str(ids["dose"]), path)
    return re.sub(r"\{patient_id\}", str(ids["patient"]), path)


@pytest.fixture
def world(db):
    with time_machine.travel(NOW, tick=False):
        return build_world()


@pytest.fixture
def staff_client(world):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=world.users["admin"])
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def post(client, path: str, body: bytes):
    with time_machine.travel(ASKED_AT, tick=False):
        return client.generic("POST", path, body, content_type="application/json")


def assert_clean_refusal(response, codes=(400,)):
    assert response.status_code in codes, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict) and body, "the answer must say what is wrong"


def test_the_schema_lists_post_endpoints():
    paths = [path for path, _ in OPERATIONS]
    assert "/api/v1/patients/" in paths and "/api/v1/auth/token/" in paths
    assert len(paths) >= 10


BAD_BODIES = {
    "malformed JSON": b'{"reason": "unterminated',
    "not UTF-8": b"\xff\xfe{}",
    "deeply nested": b'{"a": ' * 5000 + b"1" + b"}" * 5000,
    "trailing garbage": b'{"reason": "x"} trailing',
}


@pytest.mark.parametrize("path", [path for path, _ in OPERATIONS])
def test_malformed_json_is_a_clean_400(staff_client, world, path):
    url = concrete(path, world.ids)
    for what, body in BAD_BODIES.items():
        response = post(staff_client, url, body)
        assert_clean_refusal(response), what


@pytest.mark.parametrize("path", [path for path, takes_body in OPERATIONS if takes_body])
def test_a_json_array_or_scalar_is_a_clean_400(staff_client, world, path):
    url = concrete(path, world.ids)
    for body in (b"[]", b'[{"reason": "x"}]', b'"text"', b"42", b"null"):
        assert_clean_refusal(post(staff_client, url, body))


@pytest.mark.parametrize("path", [path for path, _ in OPERATIONS])
def test_an_oversized_body_is_a_clean_413(staff_client, world, path):
    url = concrete(path, world.ids)
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024
    body = json.dumps({"note": "x" * size}).encode()
    response = post(staff_client, url, body)
    assert_clean_refusal(response, codes=(413,))
    assert "too large" in response.json()["detail"]


@pytest.mark.parametrize("path", [path for path, takes_body in OPERATIONS if takes_body])
def test_unknown_fields_are_named_in_a_400(staff_client, world, path):
    url = concrete(path, world.ids)
    response = post(staff_client, url, json.dumps({"surprise_field": 1}).encode())
    assert_clean_refusal(response)
    assert response.json().get("surprise_field") == ["Unknown field."], response.json()


@pytest.mark.parametrize("path", [path for path, takes_body in OPERATIONS if takes_body])
def test_wrong_types_are_a_clean_400(staff_client, world, path):
    url = concrete(path, world.ids)
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][path]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]
    component = ref["$ref"].rsplit("/", 1)[-1] if "$ref" in ref else None
    properties = schema["components"]["schemas"][component]["properties"] if component else {}
    # Every field gets a value of a type it cannot take: an object for scalars and lists,
    # a list for objects.
    body = {
        name: ([1] if spec.get("type") == "object" else {"nested": True})
        for name, spec in properties.items()
        if not spec.get("readOnly")
    }
    assert body, f"{path} declares a body with no fields"
    response = post(staff_client, url, json.dumps(body).encode())
    assert_clean_refusal(response)
    named = set(response.json())
    assert named & set(body) or "non_field_errors" in named, response.json()


def _all_operations() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
        for path, item in schema["paths"].items()
    }


@pytest.mark.parametrize("path", sorted(_all_operations()))
def test_undocumented_methods_are_refused(staff_client, world, path):
    """No hidden routes: a method the schema does not list answers 405 (as JSON), even for an
    admin, so a ModelViewSet cannot quietly expose update or delete."""
    url = concrete(path, world.ids)
    documented = _all_operations()[path]
    for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - documented:
        with time_machine.travel(ASKED_AT, tick=False):
            response = staff_client.generic(method, url, b"{}", content_type="application/json")
        assert response.status_code == 405, (method, url, response.status_code)
        assert response["Content-Type"].startswith("application/json")
