"""Two reminder sweeps (two beats, or a beat and `manage.py sweep`) at the same moment against
PostgreSQL, each on its own connection: every dose is reminded once per repeat, every
reminder sent once."""

from datetime import timedelta

import pytest

from medications.models import ExpectedDose
from notifications import services, sms
from notifications.models import Delivery, DeliveryStatus
from tests.factories import CareTeamFactory, PatientFactory

from .helpers import prescribe, utc
from .test_concurrency_postgres import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

START = utc(2026, 3, 2, 7)
DUE = utc(2026, 3, 2, 8)
PATIENTS = 30


def test_two_reminder_sweeps_at_once_remind_each_dose_once_per_repeat():
    team = CareTeamFactory()
    for n in range(PATIENTS):
        patient = PatientFactory(care_team=team, mobile_phone=f"07700 900{n:03d}")
        prescribe(patient, now=START, times=("08:00",))

    for moment in (DUE, DUE + timedelta(minutes=30), DUE + timedelta(hours=2)):
        # Small batches so the two sweeps interleave over the same doses.
        queued = run_together(
            lambda moment=moment: services.dose_reminders_sweep(now=moment, batch_size=7),
            lambda moment=moment: services.dose_reminders_sweep(now=moment, batch_size=7),
        )
        total = sum(r["reminders_queued"] + r["repeats_queued"] for r in queued)
        assert total == PATIENTS, queued
        run_together(
            lambda moment=moment: services.deliveries_sweep(now=moment),
            lambda moment=moment: services.deliveries_sweep(now=moment),
        )

    assert len(sms.outbox) == PATIENTS * 3
    assert sorted({m["to"] for m in sms.outbox}) == [f"07700 900{n:03d}" for n in range(PATIENTS)]
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == PATIENTS * 3
    doses = ExpectedDose.objects.filter(due_at=DUE)
    assert {(d.reminder_repeats, d.next_reminder_at) for d in doses} == {(2, None)}
