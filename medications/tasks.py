"""Celery tasks of the medications app: thin wrappers that call one service each."""

from celery import shared_task

from . import services


@shared_task
def generate_expected_doses() -> dict:
    """Keep expected doses 14 days ahead for every current prescription, keep 6 infusion
    appointments planned ahead for every active course, and bring prescription statuses in
    line with holds that started or ended. Safe to run twice or concurrently."""
    summary = services.expected_doses_generate()
    summary["appointments_created"] = services.infusion_appointments_extend()
    return summary
