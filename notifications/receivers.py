"""Receivers of the medications signals (sent INSIDE the writing transaction).

Each receiver works in a savepoint: if raising the alert fails, the report or dose log is
still saved (the patient's words are never lost) and a sweep raises the alert from the
stored state later. Logs carry ids only.
"""

import logging

from django.db import transaction
from django.dispatch import receiver

from medications.signals import (
    check_in_completed,
    dose_lock_annotations,
    dose_logged,
    symptom_report_triaged,
)

from . import services
from .services import stale

logger = logging.getLogger(__name__)


@receiver(symptom_report_triaged, dispatch_uid="notifications.symptom_report_triaged")
def raise_symptom_report_alert(sender, report, **kwargs):
    if report.triage_level not in ("red", "amber") or report.expected_only:
        return  # triage.md: green reports raise no alert; checkins.md: nor expected ambers
    try:
        with transaction.atomic():
            services.symptom_report_alert_raise(report=report)
    except Exception as exc:  # noqa: BLE001 - the report must save; the sweep raises it later
        logger.error(
            "could not raise the alert for symptom report %s (%s); the sweep will raise it",
            report.pk,
            exc.__class__.__name__,
        )


# Read with the dose being logged: may a taken dose close one of its prescription's alerts?
dose_lock_annotations[stale.ALERTS_HINT] = stale.taken_dose_alerts_exist


@receiver(dose_logged, dispatch_uid="notifications.dose_logged")
def update_alerts_for_dose_log(sender, log, dose, **kwargs):
    if not services.dose_log_alerts_needed(log=log, dose=dose):
        return  # nothing to raise or close: no savepoint, no query
    try:
        with transaction.atomic():
            services.dose_log_alerts_update(log=log, dose=dose)
    except Exception as exc:  # noqa: BLE001 - the log must save; the supply sweep catches up
        logger.error(
            "could not update alerts for dose log %s (dose %s) (%s)",
            log.pk,
            dose.pk,
            exc.__class__.__name__,
        )


@receiver(check_in_completed, dispatch_uid="notifications.check_in_completed")
def update_check_in_alert(sender, patient_id, report, check_in_ids, **kwargs):
    from .services.check_ins import check_in_alert_after_report

    try:
        with transaction.atomic():
            check_in_alert_after_report(patient_id=patient_id, report_id=report.pk)
    except Exception as exc:  # noqa: BLE001 - the report must save
        logger.error(
            "could not update the check-in alert for report %s (%s)",
            report.pk,
            exc.__class__.__name__,
        )
