"""Celery tasks of the medications app: thin wrappers that call one service each."""

from celery import shared_task

from . import services
from .symptoms import services as symptom_services


@shared_task
def generate_expected_doses() -> dict:
    """Keep expected doses 14 days ahead for every current prescription, keep 6 infusion
    appointments planned ahead for every active course, and bring prescription statuses in
    line with holds that started or ended. Safe to run twice or concurrently."""
    summary = services.expected_doses_generate()
    summary["appointments_created"] = services.infusion_appointments_extend()
    return summary


@shared_task
def triage_pending_symptom_reports() -> dict:
    """Grade stored symptom reports that were never graded (entered by import or in the
    admin). Each is graded once however often this runs: a conditional update decides."""
    return symptom_services.symptom_reports_triage_pending()
