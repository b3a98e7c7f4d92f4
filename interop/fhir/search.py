"""Search parameters: `patient`, `_lastUpdated`, `_count`, `_page`, `code`, `_type`,
`_since` (docs/fhir.md, "Searches"). Bad values raise BadSearch, answered as a 400
OperationOutcome naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils.dateparse import parse_datetime

DEFAULT_COUNT = 50
MAX_COUNT = 500
_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class BadSearch(ValueError):
    """A search parameter with a value we cannot use."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


def resource_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


def patient_id(value: str | None, parameter: str = "patient") -> int:
    """'Patient/123', '123' or a full URL ending in Patient/123 -> 123."""
    if not value:
        raise BadSearch(parameter, "search by patient: ?patient=Patient/123")
    tail = value.rstrip("/").rsplit("/", 2)
    if len(tail) >= 2 and tail[-2] != "Patient":
        raise BadSearch(parameter, "must be a Patient reference, e.g. Patient/123")
    text = tail[-1]
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise BadSearch(parameter, "must be a Patient reference, e.g. Patient/123")
    return int(text)


def instant(value: str, parameter: str) -> tuple[datetime, datetime]:
    """A date (the whole UTC day) or a date-time with its offset -> [start, end)."""
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise BadSearch(parameter, f"{value!r} is not a date") from exc
        start = datetime.combine(day, time(0), tzinfo=UTC)
        return start, start + timedelta(days=1)
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadSearch(
            parameter, f"{value!r} is not a date (2026-03-01) or a date-time with an offset"
        )
    return moment, moment + timedelta(microseconds=1)


def last_updated_filter(values: Iterable[str]) -> Callable[[datetime], bool]:
    """Every `_lastUpdated` value must hold (FHIR: repeated parameters are AND)."""
    checks: list[Callable[[datetime], bool]] = []
    for raw in values:
        match = _PREFIX.match(raw.strip())
        if not match or not match.group(2):
            raise BadSearch("_lastUpdated", f"{raw!r} is not a date")
        prefix = match.group(1) or "eq"
        start, end = instant(match.group(2), "_lastUpdated")
        checks.append(
            {
                "eq": lambda x, s=start, e=end: s <= x < e,
                "ne": lambda x, s=start, e=end: not s <= x < e,
                "ge": lambda x, s=start: x >= s,
                "sa": lambda x, e=end: x >= e,
                "gt": lambda x, e=end: x >= e,
                "le": lambda x, e=end: x < e,
                "eb": lambda x, s=start: x < s,
                "lt": lambda x, s=start: x < s,
            }.get(prefix)
            or _unsupported(prefix)
        )
    return lambda moment: all(check(moment) for check in checks)


def _unsupported(prefix: str):
    raise BadSearch("_lastUpdated", f"the prefix {prefix!r} is not supported")


def since(value: str | None, parameter: str = "_since") -> datetime | None:
    if not value:
        return None
    start, _end = instant(value, parameter)
    return start


def count(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_COUNT
    if not value.isdigit():
        raise BadSearch("_count", "must be a whole number")
    return max(1, min(int(value), MAX_COUNT))


def page(value: str | None) -> int:
    if value in (None, ""):
        return 1
    if not value.isdigit() or int(value) < 1 or int(value) > 10**6:
        raise BadSearch("_page", "must be a page number from 1")
    return int(value)


def types(value: str | None, allowed: Iterable[str], parameter: str = "_type") -> list[str]:
    allowed = list(allowed)
    if not value:
        return allowed
    wanted = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in allowed]
    if unknown:
        raise BadSearch(
            parameter, f"not available: {', '.join(unknown)} (available: {', '.join(allowed)})"
        )
    return [item for item in allowed if item in wanted]


@dataclass
class Page:
    number: int
    size: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.number * self.size < self.total
