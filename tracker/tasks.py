import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task
def heartbeat() -> str:
    """Proves beat and worker are alive: `make run` shows this line every minute."""
    now = timezone.now().isoformat(timespec="seconds")
    logger.info("beat heartbeat at %s", now)
    return now
