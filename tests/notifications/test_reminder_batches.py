"""A chunk of reminders (08:00: every patient's reminder due at once) is claimed, sent and
recorded a group at a time, in a few statements per group instead of ~13 per reminder
(bench 8), and ends exactly as sending them one by one would: each pushed once, a logged
dose's reminder cancelled, a failed push on to the next channel at once, an alert delivery in
the same chunk sent on its own path, and nothing sent twice when the chunk runs again."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medications.models import DoseState
from notifications import services
from notifications.models import Delivery, DeliveryPurpose, DeliveryStatus
from notifications.services import outbox, reminder_outbox
from tests.factories import PatientFactory

from .helpers import prescribe, red_report, utc, webhook_channel
from .push_helpers import subscribe

pytestmark = pytest.mark.django_db
START = utc(2026, 3, 2, 7)  # London is on GMT: 08:00 local is 08:00 UTC
DUE = utc(2026, 3, 2, 8)
SENDING = DUE + timedelta(minutes=1)


def reminder_of(patient) -> Delivery:
    return Delivery.objects.get(patient=patient, purpose=DeliveryPurpose.REMINDER)


def test_a_chunk_ends_as_one_by_one_sending_would(team, receiver):
    pushed = [PatientFactory(care_team=team) for _ in range(5)]
    phones = [receiver() for _ in pushed]  # each its own push endpoint, 200 to every push
    subscriptions = [
        subscribe(patient, phone.url)[0] for patient, phone in zip(pushed, phones, strict=True)
    ]
    falls_back = PatientFactory(care_team=team)
    failing = receiver(statuses=[503])
    broken, _keys = subscribe(falls_back, failing.url)
    logged = PatientFactory(care_team=team)
    logged_phone = receiver()
    subscribe(logged, logged_phone.url)
    for patient in [*pushed, falls_back, logged]:
        prescribe(patient, now=START)
    hook = receiver()
    webhook_channel(team, hook.url)
    services.dose_reminders_sweep(now=DUE)
    with time_machine.travel(DUE, tick=False):
        red_report(pushed[0])
    dose = reminder_of(logged).expected_dose
    dose.state = DoseState.TAKEN  # logged after the reminder was queued, before it went
    dose.save()
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 8  # seven reminders and the alert's webhook delivery

    with time_machine.travel(SENDING, tick=True):  # a fall-back is due when the push failed
        result = outbox.deliveries_send(delivery_ids=ids)

    assert result == {"sent": 7, "cancelled": 1}
    assert [len(phone.received) for phone in phones] == [1] * 5
    assert logged_phone.received == []
    assert len(failing.received) == 1 and len(hook.received) == 1
    for patient, subscription in zip(pushed, subscriptions, strict=True):
        delivery = reminder_of(patient)
        assert (delivery.status, delivery.route) == (DeliveryStatus.SENT, "push")
        assert timedelta(0) <= delivery.sent_at - SENDING < timedelta(seconds=30)
        (attempt,) = delivery.attempt_log.all()
        assert (attempt.route, attempt.ok, attempt.status_code) == ("push", True, 200)
        subscription.refresh_from_db()
        assert subscription.last_success_at is not None
        patient.refresh_from_db()
        assert patient.reminders_reached_at >= delivery.sent_at
    # The failed push went on to e-mail in the same chunk.
    delivery = reminder_of(falls_back)
    assert delivery.status == DeliveryStatus.SENT and delivery.route == "email"
    assert [(a.route, a.status_code) for a in delivery.attempt_log.all()] == [
        ("push", 503),
        ("email", None),
    ]
    broken.refresh_from_db()
    assert broken.consecutive_failures == 1 and broken.last_success_at is None
    assert [m.to for m in mail.outbox] == [[falls_back.user.email]]
    cancelled = reminder_of(logged)
    assert cancelled.status == DeliveryStatus.CANCELLED
    assert cancelled.last_error == "not sent: the dose was logged (or held) meanwhile"

    # The broker delivers the chunk again (at least once): nothing goes twice.
    with time_machine.travel(SENDING + timedelta(minutes=5), tick=False):
        assert outbox.deliveries_send(delivery_ids=ids) == {"not due": 8}
    assert [len(phone.received) for phone in phones] == [1] * 5
    assert len(hook.received) == 1 and len(mail.outbox) == 1


def test_the_statements_per_group_do_not_grow_with_the_group(team, receiver):
    phones = receiver()
    patients = [PatientFactory(care_team=team) for _ in range(2 * reminder_outbox.GROUP)]
    for patient in patients:
        subscribe(patient, f"{phones.url}/{patient.pk}")
        prescribe(patient, now=START)
    services.dose_reminders_sweep(now=DUE)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))

    with time_machine.travel(SENDING, tick=False), CaptureQueriesContext(connection) as queries:
        result = outbox.deliveries_send(delivery_ids=ids)

    assert result == {"sent": len(ids)}
    assert len(phones.received) == len(ids)
    # One by one this took ~13 statements a reminder; a group takes a fixed handful.
    assert len(queries) <= 2 * 14, [q["sql"][:80] for q in queries.captured_queries]


def test_reminders_not_tried_before_the_deadline_go_back_to_pending_for_the_sweep(team, receiver):
    # The first push takes 3 s to answer; the group's time runs out after 1 s, so the rest
    # of the group, claimed with it, goes back to pending untried.
    phones = [receiver(sleep_first=3)] + [receiver() for _ in range(2)]
    patients = [PatientFactory(care_team=team) for _ in phones]
    for patient, phone in zip(patients, phones, strict=True):
        subscribe(patient, phone.url)
        prescribe(patient, now=START)
    services.dose_reminders_sweep(now=DUE)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))

    with time_machine.travel(SENDING, tick=True):
        done = reminder_outbox.reminders_send(ids, deadline=time.monotonic() + 1)

    released = [pk for pk, result in done.items() if result == "left_for_next_run"]
    assert len(released) >= 2 and set(done.values()) <= {"sent", "left_for_next_run"}
    assert sum(len(phone.received) for phone in phones) == 3 - len(released)
    for delivery in Delivery.objects.filter(pk__in=released):
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.last_error == reminder_outbox.OUT_OF_TIME
        (attempt,) = delivery.attempt_log.all()
        assert attempt.ok is False and attempt.finished_at is not None
    # Past the deadline nothing more is claimed at all.
    assert reminder_outbox.reminders_send(ids, deadline=time.monotonic() - 1) == {}

    with time_machine.travel(SENDING + timedelta(seconds=30), tick=False):
        services.deliveries_sweep()
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert [len(phone.received) for phone in phones] == [1, 1, 1]  # each once
