"""Sign-in rate limit per client address, across usernames (issue 17, finding 4).

django-axes locks one username from one address after 5 failures; an address trying many
usernames (password spraying) was never stopped: 60 attempts with 60 usernames in 21 s were
all answered. Here every failed sign-in (Django's `user_login_failed`, sent by the sign-in
page, the API token endpoint and the admin's sign-in alike) is counted per address; after
`SIGN_IN_ADDRESS_LIMIT` (20) failures in `SIGN_IN_ADDRESS_WINDOW_MINUTES` (10) every sign-in
from that address, even a right one, answers 429 with `Retry-After` until the oldest failure
leaves the window. Successful sign-ins are not counted, so a ward behind one address is not
locked out by its own busy morning.

The counts live in the cache (Redis, or this process's memory while Redis is down:
core/cache.py), so the limit keeps working without Redis.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render

from .audit import _client_ip

SIGN_IN_PATHS = ("/accounts/login/", "/api/v1/auth/token/", "/admin/login/")


def _limit() -> int:
    return int(getattr(settings, "SIGN_IN_ADDRESS_LIMIT", 20))


def _window() -> float:
    return float(getattr(settings, "SIGN_IN_ADDRESS_WINDOW_MINUTES", 10)) * 60


def _key(address: str) -> str:
    return f"sign-in-failures:{address}"


def _recent(address: str, now: float) -> list[float]:
    return [t for t in (cache.get(_key(address)) or []) if t > now - _window()]


def retry_after(request) -> int | None:
    """Seconds until this address may try again, or None when it may now."""
    address = _client_ip(request)
    if not address:
        return None
    now = time.time()
    failures = _recent(address, now)
    if len(failures) < _limit():
        return None
    oldest_that_counts = sorted(failures)[-_limit()]
    return max(1, math.ceil(oldest_that_counts + _window() - now))


def _failed(sender, credentials=None, request=None, **kwargs) -> None:
    if request is None:
        return
    address = _client_ip(request)
    if not address:
        return
    now = time.time()
    failures = _recent(address, now)[-(_limit() * 2) :]
    cache.set(_key(address), [*failures, now], timeout=int(_window()) + 60)


user_login_failed.connect(_failed, dispatch_uid="patients.signin_limit.failed")


def message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return (
        "Too many failed sign-in attempts from your network address. Try again in "
        f"{minutes} minute{'s' if minutes != 1 else ''}. If you need advice about your "
        "treatment now, call your advice line."
    )


class SignInAddressLimitMiddleware:
    """Answers 429 to a sign-in attempt (POST to a sign-in path) from an address over the
    limit, before the password is checked."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path.startswith(SIGN_IN_PATHS):
            seconds = retry_after(request)
            if seconds is not None:
                return self._refuse(request, seconds)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, seconds: int):
        text = message(seconds)
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": text}, status=429)
        else:
            response = render(
                request, "registration/locked_out.html", {"message": text}, status=429
            )
        response["Retry-After"] = str(seconds)
        return response
