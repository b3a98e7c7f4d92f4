"""Shared REST framework pieces: pagination and a consistent error shape."""

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def exception_handler(exc, context):
    """Django ValidationErrors raised by services become 400s naming each field; a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE a JSON 413, other refused input a JSON 400 (never a 500 or an
    HTML page on the API). Nothing from the body is echoed or logged."""
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = PayloadTooLarge(f"The request body is too large (at most {limit} bytes).")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("The request could not be read.")
    elif isinstance(exc, UnicodeDecodeError | RecursionError):
        exc = exceptions.ParseError("The request body is not valid JSON text.")
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        response.data = {"non_field_errors": response.data}
    return response


def error_response(errors: dict, status: int = 400) -> Response:
    return Response(errors, status=status)


class MethodCheckedFirstMixin:
    """For APIViews whose permissions refuse some roles: a method the view does not have
    answers 405 before any permission check (a 403 would hide that the route has no such
    method; tests/security/test_robust_input.py)."""

    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class StrictFieldsMixin:
    """Reject unknown fields with a 400 instead of silently ignoring them (a typo in a
    clinical field must never pass unnoticed)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ["Expected a JSON object."]}, code="invalid"
            )
        allowed = {name for name, field in self.fields.items() if not field.read_only}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise exceptions.ValidationError(
                {name: ["Unknown field."] for name in unknown}, code="unknown_field"
            )
        return super().to_internal_value(data)


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    """handler404: JSON on the API (clients parse it), the HTML page elsewhere."""
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: JSON on the API, the HTML page elsewhere; never any detail."""
    if _wants_json(request):
        return JsonResponse({"detail": "Something went wrong on our side."}, status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    """handler400 (e.g. a body over the size limit read outside DRF): JSON on the API."""
    if _wants_json(request):
        if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = {"detail": f"The request body is too large (at most {limit} bytes)."}
            return JsonResponse(body, status=413)
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


# --- schema: the error answers every operation can give ------------------------------------
_ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong: `detail`, or each bad field with its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorAnswer"}
_ERRORS = {
    "400": "Bad input: each bad field is named (unknown fields too), or a malformed body.",
    "401": "Not signed in: send `Authorization: Token <token>`.",
    "403": "Signed in, but your role may not do this.",
    "404": "Not found, or not in your care (never 403, which would confirm it exists).",
    "413": "The request body is larger than the service accepts.",
    "429": "Too many requests, or sign-in locked after repeated failures: see Retry-After.",
}


def document_error_answers(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]):
    adds the error answers the service's shared layers give to every operation that does
    not document them itself, so clients (and the schemathesis run) see the whole truth:
    401/403 where sign-in is needed, 404 for ids in the path and list pages, 400 everywhere
    (bad bodies and parameters; control characters anywhere), 413 for bodies, 429 everywhere
    (throttling)."""
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorAnswer"] = _ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            signed_in = any(entry for entry in operation.get("security", []))
            codes = ["429"]
            if signed_in:
                codes += ["401", "403"]
            if any(p.get("in") == "path" for p in parameters) or any(
                p.get("in") == "query" and p.get("name") == "page" for p in parameters
            ):
                codes.append("404")
            # Any part of the request: a control character in the path, query or body is
            # refused with a 400 naming it (core/input_guard.py).
            codes.append("400")
            if "requestBody" in operation:
                codes.append("413")
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": _ERRORS[code],
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    },
                )
    return result
