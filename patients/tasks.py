from celery import shared_task

from . import services


@shared_task
def purge_idempotency_records() -> dict:
    """Periodic (PERIODIC_JOBS "idempotency-keys"); also run by `manage.py sweep`."""
    return {"removed": services.idempotency_records_purge()}
