"""Idempotency-Key on every API write (API.md "Added in the second round"; issue 17,
finding 6).

A client that retries a write sends the same `Idempotency-Key`; the endpoints answer a
retry with the first result (dose logging, symptom reports). A key reused for a *different*
request used to be replayed silently: the second body was dropped and the answer described
the first. This middleware remembers, per user and key, a SHA-256 of the first successful
request (method, path, and the body: JSON compared by value, so spacing and key order do not
matter) and answers a later request with that key but another fingerprint 422 before any
view runs: nothing is stored. Refused and failed requests (4xx, 5xx) are not remembered, so
a client may correct a bad request and send it again with the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import JsonResponse
from rest_framework.exceptions import APIException

from .models import IdempotencyRecord
from .tokens import ExpiringTokenAuthentication

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MESSAGE = (
    "This Idempotency-Key was already used for a different request. Nothing was stored: send "
    "a new key for a new request, or the same body to repeat the first one."
)


def fingerprint(request) -> str:
    body = request.body or b""
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        with contextlib.suppress(ValueError, RecursionError):
            body = json.dumps(
                json.loads(body or b"null"), sort_keys=True, separators=(",", ":")
            ).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(part)
        digest.update(b"\x00")
    return digest.hexdigest()


def _user(request):
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    # DRF's test client (force_authenticate) marks the request itself; DRF honours it later.
    forced = getattr(request, "_force_auth_user", None)
    if forced is not None:
        return forced
    try:
        found = ExpiringTokenAuthentication().authenticate(request)
    except APIException:
        return None  # the view answers the bad token
    return found[0] if found else None


class IdempotencyKeyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 128 or request.method not in WRITE_METHODS:
            return self.get_response(request)
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        user = _user(request)
        if user is None:
            return self.get_response(request)
        digest = fingerprint(request)
        stored = (
            IdempotencyRecord.objects.filter(user=user, key=key)
            .values_list("fingerprint", flat=True)
            .first()
        )
        if stored is not None and stored != digest:
            return JsonResponse({"idempotency_key": [MESSAGE]}, status=422)
        response = self.get_response(request)
        if stored is None and response.status_code < 400:
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(user=user, key=key, fingerprint=digest)
            except IntegrityError:
                pass  # a concurrent retry recorded it first
        return response
