"""Enqueue Celery work after the surrounding transaction commits, without ever failing it.

The database is the truth: a task that cannot be published (broker down) is not an error
for the caller, because a periodic sweep finds the same work from stored state later.
"""

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def _publish(task: Any, args: tuple, kwargs: dict) -> None:
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure is left to the sweep
        logger.warning("could not enqueue %s (%s); the periodic sweep will do it", task.name, exc)


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: _publish(task, args, kwargs))
