"""Demo treatments: realistic six-week histories, and seed_demo twice changes nothing."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from medications import selectors
from medications.models import (
    DoseLog,
    DoseState,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
)
from patients.models import Patient

pytestmark = pytest.mark.django_db


def snapshot():
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (
            Prescription,
            PrescriptionEvent,
            PrescriptionHold,
            ExpectedDose,
            DoseLog,
            InfusionCourse,
            InfusionAppointment,
        )
    } | {
        "states": sorted(ExpectedDose.objects.values_list("pk", "state")),
        "appointments": sorted(InfusionAppointment.objects.values_list("pk", "scheduled_at")),
    }


def test_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    capsys.readouterr()


def test_demo_histories_are_realistic():
    call_command("seed_demo")
    now = timezone.now()
    by_name = {p.user.username: p for p in Patient.objects.select_related("user")}
    for username, code in [
        ("sam", "sorafenib"),
        ("priya", "lenvatinib"),
        ("george", "regorafenib"),
        ("mary", "cabozantinib"),
    ]:
        prescription = Prescription.objects.get(patient=by_name[username])
        assert prescription.drug.code == code
        assert prescription.recorded_at < now - timedelta(days=40)
        assert not prescription.warnings  # every demo treatment meets its checks
        doses = ExpectedDose.objects.filter(prescription=prescription)
        # Generated 14 days ahead. (Regorafenib's off week may cover the last days of the
        # horizon: its cycle started 42 days ago, so days 7-13 ahead are off.)
        assert prescription.generated_until >= now + timedelta(days=13, hours=23)
        ahead = timedelta(days=5 if code == "regorafenib" else 12)
        assert doses.filter(due_at__gt=now + ahead).exists()
        result = selectors.adherence_for_patient(by_name[username], days=28)
        assert 70 <= result.overall.dose_taking <= 100, username
        assert result.overall.taken > 0
    states = set(ExpectedDose.objects.values_list("state", flat=True))
    assert {DoseState.TAKEN, DoseState.SKIPPED, DoseState.MISSED, DoseState.HELD} <= states
    assert Prescription.objects.get(patient=by_name["priya"]).holds.count() == 1
    sam = Prescription.objects.get(patient=by_name["sam"])
    assert sam.times == ["08:00"] and sam.events.filter(kind="dose_change").exists()
    mary = Prescription.objects.get(patient=by_name["mary"])
    assert mary.dose_mg == 40  # Child-Pugh B starts at 40 mg
    tom = InfusionCourse.objects.get(patient=by_name["tom"])
    given = tom.appointments.filter(state="given").order_by("cycle_number")
    assert given.count() == 2
    upcoming = tom.appointments.filter(state="scheduled").order_by("scheduled_at").first()
    assert upcoming.scheduled_at > now
    assert (upcoming.scheduled_at.date() - given.last().given_at.date()).days == 21
