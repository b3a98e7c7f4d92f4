import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(bind=True)
def heartbeat(self) -> str:
    """Proves beat and worker are alive: `make run` shows this line every minute, and a
    worker running it stamps the "worker" heartbeat /readyz/ reads (tracker/health.py). Run
    by `manage.py sweep` (called directly, in that process) it stamps nothing."""
    from .health import worker_ran

    now = timezone.now()
    if not self.request.called_directly:
        worker_ran(now)
    logger.info("beat heartbeat at %s", now.isoformat(timespec="seconds"))
    return now.isoformat(timespec="seconds")
