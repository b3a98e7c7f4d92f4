"""The Celery app. Reliability settings live in settings.py under CELERY_*."""

import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect(dispatch_uid="tracker.beat_heartbeat")
def _beat_heartbeat(sender=None, **kwargs):
    """Beat stamps its own heartbeat whenever it publishes the heartbeat job (only beat
    publishes it), even when the broker then refuses the message: /readyz/ tells "beat
    stopped" from "broker or worker down" (tracker/health.py)."""
    if sender == "tracker.tasks.heartbeat":
        from .health import beat_published

        beat_published()


@task_prerun.connect(dispatch_uid="tracker.periodic_job_lock_take")
def _take_periodic_job_lock(sender=None, **kwargs):
    """On SQLite each periodic job waits for any other to finish (tracker/joblock.py)."""
    from . import joblock

    if sender is not None and sender.name in joblock.periodic_task_names():
        joblock.acquire()


@task_postrun.connect(dispatch_uid="tracker.periodic_job_lock_release")
def _release_periodic_job_lock(sender=None, **kwargs):
    from . import joblock

    if sender is not None and sender.name in joblock.periodic_task_names():
        joblock.release()
