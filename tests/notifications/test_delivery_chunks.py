"""Many deliveries at once (08:00: every patient's reminder is due) are sent by tasks of
SEND_CHUNK deliveries each, so every worker process takes a share at once (bench 8 found one
delivery sweep sending them all in one process, 500 per beat tick); a few get a task each."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from notifications import services
from notifications.models import Delivery, DeliveryPurpose, DeliveryStatus
from notifications.services import outbox
from tests.factories import PatientFactory

from .helpers import prescribe, utc

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # London is on GMT: 08:00 local is 08:00 UTC
DUE = utc(2026, 3, 2, 8)


class Published:
    """Records what would go to the broker, per task."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, tuple]] = []
        for task in (outbox.send_delivery, outbox.send_deliveries, outbox.sweep_deliveries):
            monkeypatch.setattr(task, "apply_async", self._recorder(task.name))

    def _recorder(self, name):
        def apply_async(args=(), kwargs=None, **options):
            self.calls.append((name, tuple(args)))

        return apply_async

    def named(self, suffix: str) -> list[tuple]:
        return [args for name, args in self.calls if name.endswith(suffix)]


def test_reminders_due_together_go_out_in_chunks_each_sent_once(
    team, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(outbox, "SEND_CHUNK", 25)
    patients = [PatientFactory(care_team=team) for _ in range(60)]
    for patient in patients:
        prescribe(patient, now=START)
    published = Published(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.dose_reminders_sweep(now=DUE)
    assert queued["reminders_queued"] == 60

    chunks = published.named(".send_deliveries")
    assert [len(ids) for (ids,) in chunks] == [25, 25, 10]
    assert published.named(".send_delivery") == [] and published.named(".sweep_deliveries") == []
    reminders = Delivery.objects.filter(purpose=DeliveryPurpose.REMINDER)
    assert sorted(i for (ids,) in chunks for i in ids) == sorted(
        reminders.values_list("pk", flat=True)
    )

    # Each chunk, run by whichever worker process takes it, sends its share.
    with time_machine.travel(DUE + timedelta(minutes=1), tick=False):
        results = [outbox.send_deliveries(ids) for (ids,) in chunks]
    assert sum(result.get("sent", 0) for result in results) == 60
    assert set(reminders.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.user.email for p in patients)
    # A chunk delivered twice by the broker (at least once) sends nothing again.
    with time_machine.travel(DUE + timedelta(minutes=2), tick=False):
        assert outbox.send_deliveries(chunks[0][0]) == {"not due": 25}
    assert len(mail.outbox) == 60


def test_a_few_deliveries_get_one_task_each(team, monkeypatch, django_capture_on_commit_callbacks):
    patients = [PatientFactory(care_team=team) for _ in range(3)]
    for patient in patients:
        prescribe(patient, now=START)
    published = Published(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        services.dose_reminders_sweep(now=DUE)
    assert len(published.named(".send_delivery")) == 3
    assert published.named(".send_deliveries") == []


def test_a_chunk_stops_at_its_time_budget_and_leaves_the_rest_to_the_sweep(team):
    patients = [PatientFactory(care_team=team) for _ in range(3)]
    for patient in patients:
        prescribe(patient, now=START)
    services.dose_reminders_sweep(now=DUE)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    with time_machine.travel(DUE + timedelta(minutes=1), tick=False):
        result = outbox.deliveries_send(delivery_ids=ids, budget_seconds=-1)
    assert result == {"left_for_next_run": 3}
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    services.deliveries_sweep(now=DUE + timedelta(seconds=30))
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
