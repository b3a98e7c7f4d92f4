"""Reminders to patients (adherence.md, "Dose reminders"; docs/alerts.md, "Reminders").

Two parts:

* `reminder_queue(...)`: THE entry point for any reminder to a patient (dose reminders here;
  check-in reminders and anything else later). It writes one outbox row (Delivery, purpose
  "reminder") in the caller's transaction; after commit a worker sends it through the
  patient's own channels in order (web push to their installed web app, then SMS, then
  e-mail), trying the next channel at once when one fails, and every attempt is recorded
  (DeliveryAttempt). A `dedup_key` makes it idempotent: the same key never sends twice.
* `dose_reminders_sweep(...)`: every minute, doses that need a reminder now. The first at
  the due time minus the patient's `reminder_minutes_before`; repeats 30 minutes and 2 hours
  after it while the dose is unlogged and its late window open. Quiet hours 22:00-07:00 in
  the patient's zone: a first reminder moved into them goes at 07:00; a repeat that falls in
  them is dropped, not delayed; unless the dose itself is due in quiet hours (then it is
  what the patient asked for). Each step is claimed with a conditional update of the dose
  (`reminder_sent_at` / `reminder_repeats` + `next_reminder_at`) in the same transaction as
  its outbox row, so a reminder goes at most once per dose per repeat whatever runs
  concurrently, and never gets lost between the claim and the row.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q

from core import bulk
from medications.models import DoseState, ExpectedDose
from patients.models import REMINDER_MINUTES_BEFORE_MAX, Patient

from .. import reminder_channels
from ..models import Delivery, DeliveryPurpose, DeliveryStatus
from .common import SWEEP_BATCH, _claim_ids, _now
from .outbox import _enqueue_new_deliveries
from .reminder_outbox import DOSE_KIND

logger = logging.getLogger(__name__)

# A reminder is not sent more than this long after its time (a sweep that was down for hours
# does not send stale reminders).
REMINDER_STALE_AFTER = timedelta(hours=1)
# adherence.md: "if the dose is still not logged 30 minutes and 2 hours after the reminder".
REPEAT_AFTER = (timedelta(minutes=30), timedelta(hours=2))
# adherence.md: "never between 22:00 and 07:00 local time unless the dose itself is due then".
QUIET_FROM = time(22, 0)
QUIET_UNTIL = time(7, 0)
REMINDER_SUBJECT = reminder_channels.EMAIL_SUBJECT
# At most this many batches per run (5,000 doses each); the rest wait for the next beat.
MAX_BATCHES = 20


def reminder_text(local_time: str) -> str:
    """Deliberately minimal: no drug name, no condition (a phone's lock screen is public)."""
    return f"It's time for your {local_time} medicine"


def in_quiet_hours(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def quiet_hours_end(moment: datetime, zone: ZoneInfo) -> datetime:
    """The next 07:00 local at or after `moment` (which is in quiet hours)."""
    local = moment.astimezone(zone)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=zone)


def first_reminder_at(due_at: datetime, minutes_before: int, zone: ZoneInfo) -> datetime:
    """When the first reminder of a dose goes: the due time minus the patient's minutes,
    moved to 07:00 if that falls in quiet hours and the dose itself does not."""
    at = due_at - timedelta(minutes=minutes_before)
    if in_quiet_hours(at, zone) and not in_quiet_hours(due_at, zone):
        at = min(quiet_hours_end(at, zone), due_at)
    return at


# --- the entry point ------------------------------------------------------------------------


def reminder_queue(
    *,
    patient: Patient | int,
    kind: str,
    title: str,
    body: str = "",
    dedup_key: str,
    open_path: str = "/me/",
    expires_at: datetime | None = None,
    tag: str = "",
    now: datetime | None = None,
) -> int | None:
    """Queue one reminder to a patient through their reminder channels (push -> SMS ->
    e-mail, each tried at once if the one before fails; every attempt recorded; the patient's
    "reminders unreachable" state kept current). Use it for any reminder to a patient, e.g.
    a check-in:

        reminder_queue(patient=p, kind="check_in", title="Your weekly check-in is open",
                       dedup_key=f"check_in:{check_in.pk}:opened", open_path="/me/check-in/",
                       expires_at=check_in.closes_at)

    `title` (and `body`) are the whole message: keep them free of anything clinical (no drug,
    symptom or condition: a lock screen is public). `dedup_key` (<= 120 characters, unique for
    ever): the same key queues nothing the second time, so callers may retry. `open_path`:
    where "Open" (and the link in SMS and e-mail) leads. `expires_at`: not sent after this
    (a check-in that closed). `tag`: a notification with the same tag replaces the earlier
    one on the device. Call inside the transaction that decided the reminder; it is sent after
    commit (and by the delivery sweep if the broker is down). Returns the new outbox row's id,
    or None if the key was used before."""
    now = _now(now)
    patient_id = patient.pk if isinstance(patient, Patient) else int(patient)
    message = {"title": title, "body": body, "open_path": open_path, "tag": tag or kind}
    ids = _deliveries_insert(
        [
            _delivery_row(
                patient_id,
                kind=kind,
                dedup_key=dedup_key,
                message=message,
                expires_at=expires_at,
                dose_id=None,
                now=now,
            )
        ]
    )
    return ids[0] if ids else None


def reminders_queue_many(*, reminders: list[dict], now: datetime | None = None) -> list[int]:
    """reminder_queue for many patients in one statement (a sweep): each item has the
    keyword arguments of reminder_queue (patient, kind, title, body, dedup_key, open_path,
    expires_at, tag). Returns the ids of the rows queued (keys used before queue nothing)."""
    now = _now(now)
    rows = []
    for item in reminders:
        patient = item["patient"]
        message = {
            "title": item["title"],
            "body": item.get("body", ""),
            "open_path": item.get("open_path", "/me/"),
            "tag": item.get("tag") or item["kind"],
        }
        rows.append(
            _delivery_row(
                patient.pk if isinstance(patient, Patient) else int(patient),
                kind=item["kind"],
                dedup_key=item["dedup_key"],
                message=message,
                expires_at=item.get("expires_at"),
                dose_id=None,
                now=now,
            )
        )
    return _deliveries_insert(rows)


def _delivery_row(
    patient_id: int,
    *,
    kind: str,
    dedup_key: str,
    message: dict,
    expires_at: datetime | None,
    dose_id: int | None,
    now: datetime,
) -> dict:
    return {
        "alert_id": None,
        "channel_id": None,
        "patient_id": patient_id,
        "expected_dose_id": dose_id,
        "purpose": DeliveryPurpose.REMINDER,
        "reminder_kind": kind,
        "dedup_key": dedup_key[:120],
        # Chosen when it is sent (the patient's channels then). With no channel at all the
        # row still fails visibly and counts towards "reminders unreachable".
        "route": "",
        "message": message,
        "expires_at": expires_at,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }


def _deliveries_insert(rows: list[dict]) -> list[int]:
    if not rows:
        return []
    quote = connection.ops.quote_name
    ids = [
        pk
        for (pk,) in bulk.insert_rows(
            Delivery,
            rows,
            on_conflict=f"ON CONFLICT ({quote('dedup_key')}) DO NOTHING",
            returning=("id",),
        )
    ]
    _enqueue_new_deliveries(ids)
    return ids


# --- dose reminders -------------------------------------------------------------------------

_DOSE_FIELDS = (
    "pk",
    "patient_id",
    "due_at",
    "late_until",
    "reminder_sent_at",
    "reminder_repeats",
    "next_reminder_at",
    "patient__reminders_enabled",
    "patient__reminder_minutes_before",
    "patient__timezone",
)


def dose_reminders_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """First reminders and repeats due now (module docstring), in batches of `batch_size`
    doses, each batch one transaction. Safe to run twice or concurrently: each step is a
    conditional update of the dose (PostgreSQL: rows another sweep holds are skipped), and
    the outbox row's dedup_key ("dose:<id>:<repeat>") is unique."""
    now = _now(now)
    first = repeats = dropped = 0
    after: tuple[datetime, int] | None = None
    for _ in range(MAX_BATCHES):
        queued, after, full = _first_reminders(now, batch_size, after)
        first += queued
        if not full:
            break
    for _ in range(MAX_BATCHES):
        queued, skipped, full = _repeat_reminders(now, batch_size)
        repeats += queued
        dropped += skipped
        if not full:
            break
    return {"reminders_queued": first, "repeats_queued": repeats, "repeats_dropped": dropped}


@transaction.atomic
def _first_reminders(
    now: datetime, batch_size: int, after: tuple[datetime, int] | None
) -> tuple[int, tuple[datetime, int] | None, bool]:
    """One batch of first reminders. Returns (queued, where the next batch starts, whether
    this batch was full)."""
    # Candidates: pending doses due within the largest "minutes before" from now, whose
    # reminder (at the latest, the due time) is not stale; the partial index dose_reminder_due
    # keeps this to the doses of the next hour. Some are not due yet (their patient's minutes
    # are fewer): the next batch starts after the last one looked at.
    candidates = ExpectedDose.objects.filter(
        state=DoseState.PENDING,
        reminder_sent_at__isnull=True,
        due_at__lte=now + timedelta(minutes=REMINDER_MINUTES_BEFORE_MAX),
        due_at__gt=now - REMINDER_STALE_AFTER,
        late_until__gt=now,
        patient__reminders_enabled=True,
    )
    if after is not None:
        candidates = candidates.filter(Q(due_at__gt=after[0]) | Q(due_at=after[0], pk__gt=after[1]))
    ids = _claim_ids(candidates.order_by("due_at", "pk"), batch_size)
    if not ids:
        return 0, after, False
    rows = list(
        ExpectedDose.objects.filter(pk__in=ids).order_by("due_at", "pk").values(*_DOSE_FIELDS)
    )
    last = (rows[-1]["due_at"], rows[-1]["pk"])
    due = []
    for row in rows:
        zone = ZoneInfo(row["patient__timezone"])
        at = first_reminder_at(row["due_at"], row["patient__reminder_minutes_before"], zone)
        if at <= now < at + REMINDER_STALE_AFTER:
            due.append(row)
    if not due:
        return 0, last, len(ids) == batch_size
    claimed = ExpectedDose.objects.filter(
        pk__in=[row["pk"] for row in due], state=DoseState.PENDING, reminder_sent_at__isnull=True
    ).update(reminder_sent_at=now, reminder_repeats=0, next_reminder_at=now + REPEAT_AFTER[0])
    if claimed != len(due):  # cannot happen under the row locks; never send unclaimed
        raise RuntimeError("dose reminder claim lost rows it had locked")
    return _queue_dose_reminders(due, repeat=0, now=now), last, len(ids) == batch_size


@transaction.atomic
def _repeat_reminders(now: datetime, batch_size: int) -> tuple[int, int, bool]:
    """One batch of repeats: (queued, dropped, whether the batch was full). Every dose looked
    at moves on (sent or dropped), so the next batch finds the rest."""
    ids = _claim_ids(
        ExpectedDose.objects.filter(
            state=DoseState.PENDING, next_reminder_at__isnull=False, next_reminder_at__lte=now
        ).order_by("next_reminder_at"),
        batch_size,
    )
    if not ids:
        return 0, 0, False
    send, dropped = [], 0
    # One conditional UPDATE per group of doses moving the same way (doses first reminded in
    # the same sweep share their times), not one per dose.
    moves: dict[tuple, list[dict]] = defaultdict(list)
    for row in ExpectedDose.objects.filter(pk__in=ids).values(*_DOSE_FIELDS):
        step, following = _repeat_step(row, now)
        moves[(row["reminder_repeats"], row["next_reminder_at"], step, following)].append(row)
    for (repeats, due, step, following), rows in moves.items():
        updated = ExpectedDose.objects.filter(
            pk__in=[row["pk"] for row in rows],
            state=DoseState.PENDING,
            reminder_repeats=repeats,
            next_reminder_at=due,
        ).update(reminder_repeats=step + 1, next_reminder_at=following)
        if updated != len(rows):  # cannot happen under the row locks; never send unclaimed
            raise RuntimeError("dose reminder repeat claim lost rows it had locked")
        for row in rows:
            if _repeat_wanted(row, step, now):
                send.append({**row, "repeat": step + 1})
            else:
                dropped += 1
    by_repeat: dict[int, list[dict]] = defaultdict(list)
    for row in send:
        by_repeat[row["repeat"]].append(row)
    queued = sum(
        _queue_dose_reminders(rows, repeat=repeat, now=now) for repeat, rows in by_repeat.items()
    )
    return queued, dropped, len(ids) == batch_size


def _repeat_step(row: dict, now: datetime) -> tuple[int, datetime | None]:
    """Which repeat is due now (0 = the +30 min one), skipping any a stopped sweep left
    behind, and when the one after it is due (None: no more)."""
    first = row["reminder_sent_at"]
    step = row["reminder_repeats"]
    while step + 1 < len(REPEAT_AFTER) and first + REPEAT_AFTER[step + 1] <= now:
        step += 1
    following = first + REPEAT_AFTER[step + 1] if step + 1 < len(REPEAT_AFTER) else None
    if following is not None and following >= row["late_until"]:
        following = None  # never after the late window closes
    return step, following


def _repeat_wanted(row: dict, step: int, now: datetime) -> bool:
    if not row["patient__reminders_enabled"] or now >= row["late_until"]:
        return False
    scheduled = row["reminder_sent_at"] + REPEAT_AFTER[step]
    if now - scheduled > REMINDER_STALE_AFTER:
        return False
    zone = ZoneInfo(row["patient__timezone"])
    if in_quiet_hours(row["due_at"], zone):
        return True  # the dose itself is due in quiet hours: the patient wants it then
    return not (in_quiet_hours(scheduled, zone) or in_quiet_hours(now, zone))


def _queue_dose_reminders(rows: Iterable[dict], *, repeat: int, now: datetime) -> int:
    """One outbox row per patient and due time (doses due together get one message), in the
    claiming transaction."""
    groups: dict[tuple[int, datetime], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["patient_id"], row["due_at"])].append(row)
    deliveries = []
    for (patient_id, due_at), doses in groups.items():
        doses.sort(key=lambda row: row["pk"])
        local = due_at.astimezone(ZoneInfo(doses[0]["patient__timezone"])).strftime("%H:%M")
        late_until = min(row["late_until"] for row in doses)
        deliveries.append(
            _delivery_row(
                patient_id,
                kind=DOSE_KIND,
                dedup_key=f"dose:{doses[0]['pk']}:{repeat}",
                message={
                    "title": reminder_text(local),
                    "body": "",
                    "open_path": reminder_channels.OPEN_PATH,
                    "tag": f"dose-{doses[0]['pk']}",
                    "dose_ids": [row["pk"] for row in doses],
                    "repeat": repeat,
                },
                # Stale after an hour, and never once the window has closed; the Taken link
                # itself stays valid until the window closes.
                expires_at=min(late_until, now + REMINDER_STALE_AFTER),
                dose_id=doses[0]["pk"],
                now=now,
            )
        )
    return len(_deliveries_insert(deliveries))
