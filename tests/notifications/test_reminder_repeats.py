"""Repeat until answered (adherence.md, "Dose reminders"): a reminder again 30 minutes and 2
hours after the first while the dose is unlogged, never after the late window closes, never
in quiet hours (22:00-07:00 local) unless the dose itself is due then; a repeat that falls in
quiet hours is dropped, not delayed. The clock is moved with time-machine and the sweeps
run as `manage.py sweep` runs them (no `now` passed: they read the clock)."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from medications import services as medication_services
from medications.models import ExpectedDose
from notifications import services, sms
from notifications.models import Delivery, DeliveryStatus

from .helpers import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # GMT in early March: local time = UTC


@pytest.fixture
def texted(patient):
    """A patient reminded by SMS (no device subscribed): the easiest channel to count."""
    patient.mobile_phone = "07700 900456"
    patient.save()
    return patient


def sweep_at(moment) -> list[str]:
    """Run the reminder and delivery sweeps at `moment`; the texts they sent."""
    before = len(sms.outbox)
    with time_machine.travel(moment, tick=False):
        services.dose_reminders_sweep()
        services.deliveries_sweep()
    return [message["body"] for message in sms.outbox[before:]]


def minutes(start, *offsets):
    return [start + timedelta(minutes=m) for m in offsets]


def sent_at(moments) -> list:
    return [moment for moment in moments if sweep_at(moment)]


def test_reminder_then_repeats_at_30_minutes_and_2_hours(texted):
    prescribe(texted, now=START, times=("08:00",))
    due = utc(2026, 3, 2, 8)
    # A beat every few minutes from 07:50 to 12:00.
    beats = minutes(due, *range(-10, 241, 5))

    assert sent_at(beats) == [due, due + timedelta(minutes=30), due + timedelta(hours=2)]
    assert all(
        body.startswith("It's time for your 08:00 medicine")
        for body in [m["body"] for m in sms.outbox]
    )
    dose = ExpectedDose.objects.get(patient=texted, due_at=due)
    assert dose.reminder_repeats == 2 and dose.next_reminder_at is None
    keys = sorted(Delivery.objects.filter(patient=texted).values_list("dedup_key", flat=True))
    assert keys == [f"dose:{dose.pk}:0", f"dose:{dose.pk}:1", f"dose:{dose.pk}:2"]


def test_run_twice_at_each_moment_still_once_per_repeat(texted):
    prescribe(texted, now=START, times=("08:00",))
    due = utc(2026, 3, 2, 8)
    for moment in minutes(due, 0, 0, 30, 30, 120, 120):
        sweep_at(moment)
    assert len(sms.outbox) == 3


def test_no_repeat_once_the_dose_is_logged(texted):
    prescribe(texted, now=START, times=("08:00",))
    due = utc(2026, 3, 2, 8)
    assert sweep_at(due)
    dose = ExpectedDose.objects.get(patient=texted, due_at=due)
    with time_machine.travel(due + timedelta(minutes=10), tick=False):
        medication_services.dose_log(dose=dose, action="taken", recorded_by=texted.user)

    assert sent_at(minutes(due, 30, 60, 120, 180)) == []


def test_no_repeat_after_the_late_window_closes(texted):
    prescribe(texted, now=START, times=("08:00",))
    due = utc(2026, 3, 2, 8)
    # A drug whose window closes 45 minutes after the due time.
    ExpectedDose.objects.filter(patient=texted, due_at=due).update(
        late_until=due + timedelta(minutes=45)
    )

    assert sent_at(minutes(due, 0, 30, 46, 120, 121)) == minutes(due, 0, 30)
    dose = ExpectedDose.objects.get(patient=texted, due_at=due)
    assert dose.next_reminder_at is None  # the +2 h repeat was never scheduled


def test_a_repeat_in_quiet_hours_is_dropped_not_delayed(texted):
    prescribe(texted, now=START, times=("21:00",))
    due = utc(2026, 3, 2, 21)

    # 21:00 and 21:30 go; 23:00 is in quiet hours: dropped, and nothing comes at 07:00.
    beats = minutes(due, 0, 30, 120, 125, 600, 601)
    assert sent_at(beats) == minutes(due, 0, 30)
    dose = ExpectedDose.objects.get(patient=texted, due_at=due)
    assert dose.reminder_repeats == 2 and dose.next_reminder_at is None


def test_a_dose_due_in_quiet_hours_is_reminded_and_repeated_then(texted):
    prescribe(texted, now=START, times=("23:00",))
    due = utc(2026, 3, 2, 23)

    assert sent_at(minutes(due, 0, 30, 120)) == minutes(due, 0, 30, 120)
    assert sms.outbox[0]["body"].startswith("It's time for your 23:00 medicine")


def test_a_first_reminder_moved_early_into_quiet_hours_comes_at_seven(texted):
    texted.reminder_minutes_before = 60
    texted.save()
    prescribe(texted, now=START - timedelta(days=1), times=("07:30",))
    due = utc(2026, 3, 2, 7, 30)

    assert sent_at(minutes(due, -60, -45, -31, -30, -29)) == [utc(2026, 3, 2, 7)]


def test_local_time_across_the_clock_change(texted):
    """29 March 2026: London moves to BST. The 08:00 dose is 08:00 UTC before, 07:00 UTC
    after, and the reminder says 08:00 both days."""
    prescribe(texted, now=utc(2026, 3, 27, 7), times=("08:00",))
    assert sweep_at(utc(2026, 3, 28, 8))[0].startswith("It's time for your 08:00 medicine")
    assert sweep_at(utc(2026, 3, 29, 7))[0].startswith("It's time for your 08:00 medicine")


def test_a_sweep_that_was_down_sends_only_the_latest_repeat_and_nothing_stale(texted):
    prescribe(texted, now=START, times=("08:00",))
    due = utc(2026, 3, 2, 8)
    assert sweep_at(due)
    # The beat stops until 10:05: the +30 min repeat is skipped, the +2 h one goes once.
    assert len(sweep_at(due + timedelta(minutes=125))) == 1
    assert sweep_at(due + timedelta(minutes=130)) == []
    # And a first reminder more than an hour late is not sent at all.
    assert sweep_at(utc(2026, 3, 3, 9, 1)) == []


def test_manage_py_sweep_sends_what_is_due_in_process(texted, capsys):
    prescribe(texted, now=START, times=("08:00",))
    with time_machine.travel(utc(2026, 3, 2, 8, 0, 30), tick=False):
        call_command("sweep")
    out = capsys.readouterr().out
    assert "dose-reminders:" in out and "reminders_queued 1" in out
    (message,) = sms.outbox
    assert message["to"] == "07700 900456"
    assert Delivery.objects.get(patient=texted).status == DeliveryStatus.SENT
    assert mail.outbox == []
