"""Small read-mostly tables kept in each process for a short time (docs/benchmarks.md,
benchmark 2): the drug catalogue and who has which role are read on every API request and
change a few times a year.

A `ProcessCache` holds values per key for at most PROCESS_CACHE_SECONDS (default 60). The
process that changes the rows drops them at once (signal receivers call `forget`/`clear`,
again when the transaction commits); other processes (the other gunicorn workers, Celery)
read the change at the latest when their copy expires. Values are shared between requests:
never change a value taken from a cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import transaction

V = TypeVar("V")

_ALL: list[ProcessCache] = []


def _lifetime() -> float:
    return float(getattr(settings, "PROCESS_CACHE_SECONDS", 60))


class ProcessCache(Generic[V]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The value for `key`, loaded with `load()` when missing or expired."""
        now = time.monotonic()
        entry = self._values.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = load()
        with self._lock:
            self._values[key] = (now + _lifetime(), value)
        return value

    def forget(self, key: Hashable) -> None:
        """Drop one key now and again when the current transaction commits (a read made
        inside the transaction may have cached what the transaction was changing)."""
        self._values.pop(key, None)
        transaction.on_commit(lambda: self._values.pop(key, None))

    def clear(self) -> None:
        self._values.clear()
        transaction.on_commit(self._values.clear)


def clear_all() -> None:
    """Empty every process cache (tests start from nothing)."""
    for cache in _ALL:
        cache._values.clear()
