"""The cache behind rate limits: Redis when it answers, this process's memory when it does
not (issue 17, finding 1).

PostgreSQL is the truth and Redis only makes things fast, so Redis being down must never
turn a request into a 500: a patient must still be able to sign in and report a red symptom.
Every cache call goes to Redis; a connection or timeout error sends it (and every call for
the next few seconds, so requests do not each wait for a dead server) to a per-process
memory cache instead. Rate limits then count per process, which is looser but still a limit.
One warning per minute says so, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0  # how long to stay on the memory cache before asking Redis again
LOG_EVERY_SECONDS = 60.0

_lock = threading.Lock()
_last_logged = -LOG_EVERY_SECONDS  # monotonic time of the last "Redis is down" line


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def _log_down(exc: BaseException) -> None:
    global _last_logged
    now = time.monotonic()
    with _lock:
        if now - _last_logged < LOG_EVERY_SECONDS:
            return
        _last_logged = now
    logger.warning(
        "cache: Redis unreachable (%s); using this process's memory for rate limits "
        "(logged at most once a minute)",
        exc.__class__.__name__,
    )


class FallbackRedisCache(BaseCache):
    """A Django cache backend: RedisCache, falling back to LocMemCache while Redis is down."""

    def __init__(self, server, params):
        super().__init__(params)
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        self.redis = RedisCache(server, {**params, "OPTIONS": options})
        self.memory = LocMemCache("fallback-" + str(server), {**params, "OPTIONS": {}})
        self._down_until = 0.0

    @property
    def redis_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, name: str, *args, **kwargs):
        if not self.redis_down:
            try:
                return getattr(self.redis, name)(*args, **kwargs)
            except _redis_errors() as exc:
                self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
                _log_down(exc)
        return getattr(self.memory, name)(*args, **kwargs)

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def clear(self):
        self.memory.clear()
        return self._call("clear")

    def close(self, **kwargs):
        self.redis.close(**kwargs)
