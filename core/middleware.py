"""Middleware of the base layer: every JSON body checked before any view, and no caching of
signed-in pages."""

import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse


class JSONBodyGuardMiddleware:
    """Every JSON body sent to the API is read and checked before any view runs: too large
    answers 413, not JSON (or nested absurdly deep) 400, always as JSON. Endpoints that take
    no body reject a malformed one too, instead of silently ignoring it. The body is kept
    for the view (Django caches it), and nothing from it is logged."""

    methods = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in self.methods and request.path.startswith("/api/"):
            refused = self._refuse(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    @staticmethod
    def _refuse(request):
        content_type = request.content_type or ""
        if not (content_type == "application/json" or content_type.endswith("+json")):
            return None
        try:
            body = request.body
        except (RequestDataTooBig, TooManyFieldsSent):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            detail = f"The request body is too large (at most {limit} bytes)."
            return JsonResponse({"detail": detail}, status=413)
        if not body.strip():
            return None
        try:
            json.loads(body)
        except (ValueError, RecursionError):
            return JsonResponse({"detail": "The request body is not valid JSON."}, status=400)
        return None


class NoStoreMiddleware:
    """Pages and API answers for a signed-in user are never kept by the browser or a proxy
    (OWASP ASVS 8.2.1): on a shared clinic computer, Back after signing out must not show a
    patient's record. Responses that set their own Cache-Control keep it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if (signed_in or request.path.startswith("/api/")) and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


class ControlCharacterGuardMiddleware:
    """Refuses NUL and other control characters in the path, query string, form and JSON
    bodies with a 400 naming the field, before any view or query runs (core/input_guard.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent

        from .input_guard import bad_field, refusal

        try:
            field = bad_field(request)
        except (RequestDataTooBig, TooManyFieldsSent):
            field = None  # the size guards and handlers answer these
        if field is not None:
            return refusal(request, field)
        return self.get_response(request)
