"""Expected doses in the database: creation, the rolling horizon, holds, dose changes,
stops, daylight saving and the periodic job (clinical/adherence.md "Expected doses")."""

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from medications import catalogue, services
from medications.models import (
    DoseLog,
    DoseState,
    ExpectedDose,
    PrescriptionEventKind,
    PrescriptionStatus,
)
from tests.factories import PatientFactory

from .conftest import prescribe, utc

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def local_times(prescription, **filters):
    zone = prescription.patient.zone
    return [
        d.due_at.astimezone(zone).strftime("%m-%d %H:%M")
        for d in prescription.expected_doses.filter(**filters).order_by("due_at")
    ]


def test_create_generates_14_days_and_no_backlog(patient):
    now = utc(2026, 3, 2, 9, 30)  # after the 08:00 dose
    prescription = prescribe(patient, now=now, start=date(2026, 2, 20))
    doses = list(prescription.expected_doses.order_by("due_at"))
    assert doses[0].due_at == utc(2026, 3, 2, 20)
    assert doses[-1].due_at < now + timedelta(days=14)
    assert len(doses) == 28  # 2 a day for 14 days, first one at 20:00 today
    assert prescription.generated_until == now + timedelta(days=14)
    assert all(d.state == DoseState.PENDING and d.patient_id == patient.pk for d in doses)
    assert doses[0].late_until == utc(2026, 3, 3, 2)  # sorafenib: 6 hours


def test_periodic_generation_extends_idempotently(patient, django_assert_max_num_queries):
    now = utc(2026, 3, 2, 7)
    prescription = prescribe(patient, now=now)
    later = now + timedelta(days=3)
    first = services.expected_doses_generate(now=later)
    assert first["doses_created"] == 6
    assert prescription.expected_doses.count() == 28 + 6
    again = services.expected_doses_generate(now=later)
    assert again["doses_created"] == 0 and again["prescriptions"] == 0
    assert prescription.expected_doses.count() == 28 + 6


def test_generation_is_set_based(team, django_assert_max_num_queries):
    now = utc(2026, 3, 2, 7)
    for _ in range(20):
        prescribe(PatientFactory(care_team=team), now=now)
    # The drug catalogue is read once per process (medications/catalogue.py), not per run.
    catalogue.drugs_by_id()
    # per batch: prescriptions, holds, events, insert (on PostgreSQL: staging table, COPY,
    # INSERT ... SELECT, TRUNCATE), update; plus the status refresh
    with django_assert_max_num_queries(15):
        summary = services.expected_doses_generate(now=now + timedelta(days=2))
    assert summary == {"prescriptions": 20, "doses_created": 80, "statuses_updated": 0}


def test_generation_runs_from_the_sweep_command(patient, capsys):
    prescribe(patient, now=utc(2026, 3, 2, 7))
    call_command("sweep", only=["generate-expected-doses"])
    assert "generate-expected-doses:" in capsys.readouterr().out


def test_regorafenib_off_week_produces_no_doses(team):
    patient = PatientFactory(
        care_team=team, prior_systemic_therapies=["sorafenib"], sorafenib_tolerated=True
    )
    now = utc(2026, 1, 5, 6)
    prescription = prescribe(patient, "regorafenib", times=["09:00"], dose="160", now=now)
    assert (prescription.cycle_days_on, prescription.cycle_days_off) == (21, 7)  # default
    services.expected_doses_generate(now=now + timedelta(days=30))
    days = {d.due_at.date() for d in prescription.expected_doses.all()}
    assert date(2026, 1, 25) in days and date(2026, 2, 2) in days
    off_week = {date(2026, 1, d) for d in range(26, 32)} | {date(2026, 2, 1)}
    assert not days & off_week
    dose = prescription.expected_doses.get(due_at=utc(2026, 1, 5, 9))
    assert dose.late_until == utc(2026, 1, 6, 0)  # end of the same London day


def test_regorafenib_same_day_window_in_new_york(team):
    patient = PatientFactory(
        care_team=team,
        timezone="America/New_York",
        prior_systemic_therapies=["sorafenib"],
        sorafenib_tolerated=True,
    )
    prescription = prescribe(
        patient, "regorafenib", times=["21:00"], dose="160", now=utc(2026, 1, 5, 12)
    )
    dose = prescription.expected_doses.order_by("due_at").first()
    assert dose.due_at == utc(2026, 1, 6, 2)  # 21:00 EST on 5 January
    assert dose.late_until == utc(2026, 1, 6, 5)  # midnight in New York, not in London


def test_dst_across_both_changes_in_the_database(patient):
    prescription = prescribe(patient, times=["08:00"], dose="400", now=utc(2026, 3, 27, 0))
    assert local_times(prescription)[:4] == [
        "03-27 08:00",
        "03-28 08:00",
        "03-29 08:00",
        "03-30 08:00",
    ]
    services.expected_doses_generate(now=utc(2026, 10, 20))
    autumn = local_times(prescription, due_at__gte=utc(2026, 10, 24), due_at__lt=utc(2026, 10, 27))
    assert autumn == ["10-24 08:00", "10-25 08:00", "10-26 08:00"]


def test_hold_makes_doses_held_and_resume_brings_them_back(patient, nurse):
    now = utc(2026, 3, 2, 7)
    prescription = prescribe(patient, now=now)
    services.prescription_hold(
        prescription=prescription,
        reason="Grade 3 hand-foot skin reaction",
        starts_at=utc(2026, 3, 3, 12),
        recorded_by=nurse,
        now=now,
    )
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.ACTIVE  # the hold starts tomorrow
    held = prescription.expected_doses.filter(state=DoseState.HELD)
    assert held.first().due_at == utc(2026, 3, 3, 20)
    assert not prescription.expected_doses.filter(
        state=DoseState.PENDING, due_at__gte=utc(2026, 3, 3, 12)
    ).exists()
    # the periodic job notices the hold has started
    services.expected_doses_generate(now=utc(2026, 3, 3, 13))
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.HELD
    # ...and newly generated doses inside the hold are held too
    assert prescription.expected_doses.order_by("-due_at").first().state == DoseState.HELD

    services.prescription_resume(
        prescription=prescription, reason="Skin settled", recorded_by=nurse, now=utc(2026, 3, 6, 9)
    )
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.ACTIVE
    assert local_times(prescription, state=DoseState.HELD) == [
        "03-03 20:00",
        "03-04 08:00",
        "03-04 20:00",
        "03-05 08:00",
        "03-05 20:00",
        "03-06 08:00",
    ]
    assert prescription.expected_doses.get(due_at=utc(2026, 3, 6, 20)).state == DoseState.PENDING
    kinds = list(prescription.events.values_list("kind", flat=True))
    assert kinds == ["created", "hold", "resume"]


def test_hold_with_an_end_and_retroactive_hold(patient, nurse):
    now = utc(2026, 3, 5, 12)
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    ExpectedDose.objects.filter(due_at=utc(2026, 3, 4, 20)).update(state=DoseState.MISSED)
    taken = ExpectedDose.objects.get(due_at=utc(2026, 3, 5, 8))
    services.dose_log(dose=taken, action="taken", recorded_by=patient.user, now=utc(2026, 3, 5, 8))
    services.prescription_hold(
        prescription=prescription,
        reason="Admitted to hospital",
        starts_at=utc(2026, 3, 4, 12),
        ends_at=utc(2026, 3, 7, 12),
        recorded_by=nurse,
        now=now,
    )
    states = dict(
        prescription.expected_doses.filter(
            due_at__gte=utc(2026, 3, 4), due_at__lt=utc(2026, 3, 8)
        ).values_list("due_at", "state")
    )
    assert states[utc(2026, 3, 4, 8)] == DoseState.PENDING  # before the hold
    assert states[utc(2026, 3, 4, 20)] == DoseState.HELD  # missed inside a hold: held
    assert states[utc(2026, 3, 5, 8)] == DoseState.TAKEN  # what the patient said stays
    assert states[utc(2026, 3, 6, 20)] == DoseState.HELD
    assert states[utc(2026, 3, 7, 20)] == DoseState.PENDING  # after the hold
    with pytest.raises(ValidationError, match="already on hold"):
        services.prescription_hold(
            prescription=prescription, reason="again", starts_at=utc(2026, 3, 6), now=now
        )


def test_dose_change_follows_the_ladder_and_changes_frequency(patient, nurse):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    services.prescription_change_dose(
        prescription=prescription,
        dose_mg=Decimal(400),
        reason="Grade 2 diarrhoea",
        effective_at=utc(2026, 3, 4, 12),
        recorded_by=nurse,
        now=utc(2026, 3, 4, 12),
    )
    prescription.refresh_from_db()
    assert prescription.times == ["08:00"]  # 400 twice daily -> 400 once daily
    assert local_times(prescription, due_at__gte=utc(2026, 3, 4), due_at__lt=utc(2026, 3, 6)) == [
        "03-04 08:00",
        "03-05 08:00",
    ]
    services.prescription_change_dose(
        prescription=prescription,
        dose_mg=Decimal(200),
        reason="Still grade 2",
        recorded_by=nurse,
        now=utc(2026, 3, 8, 9),
    )
    doses = dict(
        prescription.expected_doses.filter(due_at__gte=utc(2026, 3, 8)).values_list(
            "due_at", "dose_mg"
        )
    )
    assert doses[utc(2026, 3, 8, 8)] == Decimal(400)  # before the change
    assert doses[utc(2026, 3, 9, 8)] == Decimal(200)
    event = prescription.events.filter(kind=PrescriptionEventKind.DOSE_CHANGE).last()
    assert event.data["ladder_step"] == "200-once-daily"
    assert event.data["previous"]["ladder_step"] == "400-once-daily"
    assert event.reason == "Still grade 2"


def test_off_ladder_dose_change_needs_an_override(patient, nurse):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    with pytest.raises(ValidationError) as refused:
        services.prescription_change_dose(
            prescription=prescription, dose_mg=Decimal(300), reason="x", now=utc(2026, 3, 3)
        )
    assert "not on sorafenib's dose ladder" in str(refused.value)
    assert not prescription.events.filter(kind=PrescriptionEventKind.DOSE_CHANGE).exists()
    services.prescription_change_dose(
        prescription=prescription,
        dose_mg=Decimal(300),
        reason="x",
        override_reason="Consultant's decision after review",
        now=utc(2026, 3, 3),
    )
    prescription.refresh_from_db()
    assert prescription.dose_mg == Decimal(300)
    assert prescription.warnings[-1]["code"] == "dose_not_on_ladder"


def test_same_dose_again_is_refused(patient):
    prescription = prescribe(patient, times=["08:00"], now=utc(2026, 3, 2, 7))
    with pytest.raises(ValidationError, match="current dose"):
        services.prescription_change_dose(
            prescription=prescription, dose_mg=Decimal(400), reason="x", now=utc(2026, 3, 3)
        )


def test_stop_removes_future_pending_doses_and_keeps_history(patient, nurse):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7))
    dose = prescription.expected_doses.get(due_at=utc(2026, 3, 2, 8))
    services.dose_log(dose=dose, action="taken", recorded_by=patient.user, now=utc(2026, 3, 2, 8))
    services.prescription_stop(
        prescription=prescription, reason="Progression", recorded_by=nurse, now=utc(2026, 3, 3, 9)
    )
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.STOPPED
    assert prescription.stopped_at == utc(2026, 3, 3, 9)
    assert local_times(prescription) == ["03-02 08:00", "03-02 20:00", "03-03 08:00"]
    assert DoseLog.objects.filter(expected_dose=dose).exists()
    assert services.expected_doses_generate(now=utc(2026, 3, 10))["prescriptions"] == 0
    with pytest.raises(ValidationError, match="stopped"):
        services.prescription_hold(prescription=prescription, reason="x", now=utc(2026, 3, 4))


def test_end_date_limits_doses(patient):
    prescription = prescribe(patient, now=utc(2026, 3, 2, 7), end_date=date(2026, 3, 4))
    assert local_times(prescription)[-1] == "03-04 20:00"
    assert prescription.expected_doses.count() == 6
