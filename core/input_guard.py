"""One place that refuses control characters before they reach the database (issue 17,
finding 2).

PostgreSQL cannot store NUL in text (`DataError`, a 500), and a lone UTF-16 surrogate cannot
be encoded at all; other control characters are never meant in this service's input and
only hide text from people reading it. So every request is checked before any view:

* the path and the query string: no control character at all;
* form and JSON bodies: no control character except tab, line feed and carriage return
  (free text such as notes may have several lines).

A refused request answers 400 naming the field (JSON on `/api/` and `/fhir/`, a short page
elsewhere); nothing from the value is echoed or logged.
"""

from __future__ import annotations

import json
import re

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.html import escape

# C0 controls, DEL, C1 controls and lone surrogates.
STRICT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, allowing tab, line feed and carriage return (free text).
FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MESSAGE = "Remove the control character (such as NUL) from this value; it cannot be stored."
_JSON_PATHS = ("/api/", "/fhir/")
_MAX_ITEMS = 20000  # bodies are at most DATA_UPLOAD_MAX_MEMORY_SIZE; this bounds the walk


def _bad_json_field(data) -> str | None:
    """The dotted name of the first string (key or value) with a forbidden character."""
    stack: list[tuple[str, object]] = [("", data)]
    seen = 0
    while stack and seen < _MAX_ITEMS:
        name, item = stack.pop()
        seen += 1
        if isinstance(item, str):
            if FREE_TEXT.search(item):
                return name or "non_field_errors"
        elif isinstance(item, dict):
            for key, value in item.items():
                child = f"{name}.{key}" if name else str(key)
                if FREE_TEXT.search(str(key)):
                    return name or "non_field_errors"
                stack.append((child, value))
        elif isinstance(item, list):
            stack.extend((f"{name}[{index}]", value) for index, value in enumerate(item))
    return None


def bad_field(request) -> str | None:
    """The name of the first refused part of this request, or None when it is clean."""
    if STRICT.search(request.path_info):
        return "path"
    for key, values in request.GET.lists():
        if STRICT.search(key) or any(STRICT.search(value) for value in values):
            return key if not STRICT.search(key) else "query"
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, RecursionError):
            return None  # JSONBodyGuardMiddleware and the parsers answer malformed JSON
        return _bad_json_field(data)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, values in request.POST.lists():
            if FREE_TEXT.search(key) or any(FREE_TEXT.search(value) for value in values):
                return key if not FREE_TEXT.search(key) else "form"
    return None


def refusal(request, field: str):
    if request.path.startswith(_JSON_PATHS):
        return JsonResponse({field: [MESSAGE]}, status=400)
    return HttpResponseBadRequest(
        f"<!DOCTYPE html><title>Bad request</title><h1>Bad request</h1>"
        f"<p>{escape(field)}: {escape(MESSAGE)} Go back and try again.</p>",
        content_type="text/html; charset=utf-8",
    )
