"""Keeping identifying data out of logs and error reports (docs/security.md).

Code logs ids only. These pieces stop the framework from logging what code never chose to:
query strings (an admin search for a name or NHS number ends up in a request line), and the
body of a request that failed (a symptom report's notes in a 500 report).
"""

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

_REQUEST_LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<path>[^?\s]*)(?:\?\S*)?(?P<rest> .*)?$")


def strip_query(request_line: str) -> str:
    """'GET /admin/x/?q=Smith HTTP/1.1' -> 'GET /admin/x/?… HTTP/1.1'."""
    match = _REQUEST_LINE.match(request_line)
    if not match or "?" not in request_line:
        return request_line
    return f"{match['method']} {match['path']}?… {(match['rest'] or '').strip()}".rstrip()


class StripQueryStrings(logging.Filter):
    """For the development server's request log ("django.server"): drop query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (strip_query(record.args[0]), *record.args[1:])
        return True


class NoRequestDataReporterFilter(SafeExceptionReporterFilter):
    """Error reports (admin e-mails, the debug page) never show what was posted: any field
    may hold clinical free text. Settings stay cleansed as Django does by default."""

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)
