"""Shared pieces of the interop tests: FHIR parsing and reference checks."""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

FHIR = "/fhir/r4"


def fhir_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def parse(resource: dict):
    """Validate a resource with its fhir.resources R4B model (raises if invalid)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def references(value) -> set[str]:
    """Every `reference` string anywhere in a resource."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("reference"), str):
                found.add(item["reference"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def by_type(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in bundle.get("entry", []):
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out
