"""Where the benchmarks find the product code they measure.

Every hook returns None when that piece of the product does not exist (yet); the runner
then reports the benchmark as not run instead of failing the whole bench.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings


def _attr(dotted: str) -> Any | None:
    module_name, _, name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, name, None)


def call_with_now(fn: Callable[..., Any], now: datetime, **kwargs: Any) -> Any:
    """Call a service at a chosen instant: through its `now` argument when it has one,
    else with the clock moved (time_machine) for the duration of the call."""
    if "now" in inspect.signature(fn).parameters:
        return fn(now=now, **kwargs)
    import time_machine

    with time_machine.travel(now, tick=True):
        return fn(**kwargs)


def missed_dose_sweep() -> Callable[..., Any] | None:
    """The service behind the missed-dose periodic job (not the Celery task wrapper)."""
    for dotted in (
        "notifications.services.missed_doses_sweep",
        "notifications.services.missed_dose_sweep",
        "notifications.services.sweep_missed_doses",
        "notifications.services.doses_mark_missed",
    ):
        fn = _attr(dotted)
        if fn is not None:
            return fn
    # Fall back on the task registered in PERIODIC_JOBS (runs at the real time).
    for name, (task, _seconds) in settings.PERIODIC_JOBS.items():
        if "missed-dose" in name or "missed_dose" in name:
            fn = _attr(task)
            if fn is not None:
                return getattr(fn, "run", fn)
    return None


def expected_doses_generate() -> Callable[..., Any] | None:
    return _attr("medications.services.expected_doses_generate")


def nurse_queue_url() -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("notifications:queue")
    except (NoReverseMatch, ImportError):
        return None


def symptom_reports_api() -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/symptom-reports/")
    except (Resolver404, ImportError):
        return False
    return True


def delivery_models() -> bool:
    return _attr("notifications.models.Delivery") is not None
