"""Shared set-up of the patient app's browser tests: a phone of 390x844 CSS pixels with a
touch screen (the issue's acceptance), and patients with doses due."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from medications import services
from medications.models import Drug, ExpectedDose
from tests.factories import CareTeamFactory, PatientFactory

TOUCH_PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 3,
}


def touch_phone(browser, **options):
    context = browser.new_context(bypass_csp=True, locale="en-GB", **{**TOUCH_PHONE, **options})
    context.set_default_timeout(15_000)
    return context, context.new_page()


def sorafenib_patient(*, due_minutes_ago=(90, 30), recorded_hours_ago=3, username=None):
    """A sorafenib patient whose doses fell due the given minutes ago (inside the 6-hour
    window when under 360), prescribed `recorded_hours_ago` hours ago: real time, as the live
    server and the browser both use it."""
    team = CareTeamFactory(name="Liver Oncology Advice Line", advice_line_phone="0161 446 3658")
    extra = {"user__username": username} if username else {}
    patient = PatientFactory(care_team=team, given_name="Sam", family_name="Taylor", **extra)
    now = timezone.now()
    local = now.astimezone(patient.zone)
    times = sorted({f"{(local - timedelta(minutes=minutes)):%H:%M}" for minutes in due_minutes_ago})
    recorded = now - timedelta(hours=recorded_hours_ago)
    services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code="sorafenib"),
        dose_mg=Decimal(400),
        times=times,
        start_date=recorded.astimezone(patient.zone).date(),
        now=recorded,
    )
    doses = list(ExpectedDose.objects.filter(patient=patient, due_at__lte=now).order_by("due_at"))
    return patient, doses
