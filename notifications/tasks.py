"""Celery tasks of the notifications app: thin wrappers that take ids, re-read state and call
one service each. Every one is safe to run twice or concurrently; periodic ones are listed
in settings.PERIODIC_JOBS (beat and `python manage.py sweep` run them). The outbox's
tasks (send_delivery, send_deliveries, sweep_deliveries) are defined in services/outbox.py
under their "notifications.tasks..." names and re-exported here."""

from celery import shared_task

from . import services
from .services.outbox import send_deliveries, send_delivery, sweep_deliveries

__all__ = [
    "raise_symptom_report_alert",
    "send_deliveries",
    "send_delivery",
    "send_dose_reminders",
    "sweep_check_ins",
    "sweep_deliveries",
    "sweep_escalations",
    "sweep_missed_doses",
    "sweep_missed_infusions",
    "sweep_unraised_alerts",
    "sweep_unraised_supply_alerts",
]


@shared_task
def raise_symptom_report_alert(report_id: int) -> dict:
    """The alert for one red or amber report, if it has none yet (idempotent by key)."""
    return services.symptom_report_alert_raise_by_id(report_id=report_id)


@shared_task
def sweep_missed_doses() -> dict:
    return services.missed_doses_sweep()


@shared_task
def sweep_missed_infusions() -> dict:
    return services.missed_infusions_sweep()


@shared_task
def sweep_unraised_alerts() -> dict:
    """Red and amber symptom reports whose alert the receiver could not raise (triage.md:
    an alert is never lost)."""
    return services.unraised_symptom_alerts_sweep()


@shared_task
def sweep_unraised_supply_alerts() -> dict:
    """Logs of "ran out of tablets" in the last 3 days whose supply alert was not raised. Less
    often: it reads the recent dose logs (no index picks out "ran out")."""
    return services.unraised_supply_alerts_sweep()


@shared_task
def sweep_check_ins() -> dict:
    """Scheduled check-ins (checkins.md): generate ahead, open and remind, chase at +24 h,
    mark missed at 72 h with the "check-in not done" alert."""
    from .services.check_ins import check_ins_sweep

    return check_ins_sweep()


@shared_task
def sweep_escalations() -> dict:
    return services.escalations_sweep()


@shared_task
def send_dose_reminders() -> dict:
    return services.dose_reminders_sweep()
