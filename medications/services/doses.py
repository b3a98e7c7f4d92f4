"""Dose logging (adherence.md, "Dose states"): taken or not taken, idempotent, corrections
kept in history, under the dose's row lock so logging and the missed-dose sweep take
turns."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Expression, OuterRef, QuerySet, Subquery
from django.utils import timezone

from patients.roles import is_staff_member
from patients.selectors import get_or_404

from .. import catalogue
from ..models import (
    DoseAction,
    DoseLog,
    DoseState,
    ExpectedDose,
    SkipReason,
)
from ..signals import dose_lock_annotations, dose_logged
from .common import _local, _now

logger = logging.getLogger(__name__)

# A dose may be logged this long before it is due (the patient takes it a little early).
EARLY_LOGGING = timedelta(hours=2)
# The same dose and action sent again within this time is a retry, not a new log.
REPLAY_WINDOW = timedelta(minutes=10)
# adherence.md "When it was taken": the time given may be this far ahead of the server's
# clock (a phone's clock drifts), never more.
LOG_CLOCK_SKEW = timedelta(minutes=2)
# adherence.md: a patient may log their own doses due in the last 72 hours; older doses only
# staff can log, with a reason (the note).
PATIENT_LOGGING_PERIOD = timedelta(hours=72)


@dataclass
class DoseLogResult:
    dose: ExpectedDose
    log: DoseLog
    created: bool  # False: a retry of an earlier request, answered the same way

    @property
    def taken_outside_window(self) -> bool:
        return self.dose.state == DoseState.TAKEN_LATE

    @property
    def symptom_report_suggested(self) -> bool:
        # adherence.md: "side effects" or "felt unwell" asks for a symptom report.
        return self.log.action == DoseAction.SKIPPED and self.log.reason in (
            SkipReason.SIDE_EFFECTS,
            SkipReason.UNWELL,
        )


def _validate_log(
    *, dose: ExpectedDose, action: str, at: datetime, reason: str, note: str, now: datetime
) -> None:
    if dose.due_at - EARLY_LOGGING > now:
        # A dose may be logged a little early, never a day ahead (that would be doubling up).
        opens = _local(dose.due_at - EARLY_LOGGING, dose.patient)
        due = _local(dose.due_at, dose.patient)
        raise ValidationError(
            {
                "non_field_errors": [
                    f"This dose is not due until {due:%d %b %H:%M}; it can be logged from "
                    f"{opens:%d %b %H:%M}."
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    if action not in DoseAction.values:
        errors["action"] = ['Say "taken" or "skipped".']
    if action == DoseAction.SKIPPED:
        if not reason:
            errors["reason"] = [
                "Say why the dose was not taken: " + ", ".join(SkipReason.values) + "."
            ]
        elif reason not in SkipReason.values:
            errors["reason"] = [f"{reason!r} is not one of: {', '.join(SkipReason.values)}."]
        elif reason == SkipReason.OTHER and not note.strip():
            errors["note"] = ['With reason "other", say what happened in the note.']
    elif action == DoseAction.TAKEN and reason:
        errors["reason"] = ["A reason is only given for a dose that was not taken."]
    errors.update(_time_problems(dose=dose, at=at, now=now))
    if len(note) > 1000:
        errors["note"] = ["Keep the note under 1000 characters."]
    if errors:
        raise ValidationError(errors)
    if dose.state == DoseState.HELD:
        raise ValidationError(
            {
                "non_field_errors": [
                    "Your team has put this dose on hold, so there is nothing to log. If you "
                    "took it, please call the advice line."
                ]
            }
        )


def _time_problems(*, dose: ExpectedDose, at: datetime, now: datetime) -> dict[str, list[str]]:
    # adherence.md "When it was taken": from 2 hours before the due time until now, for a
    # dose taken and for one not taken alike (a time outside says it is the wrong dose).
    if timezone.is_naive(at):
        return {"at": ["Give a time with its UTC offset, e.g. 2026-01-05T08:10Z."]}
    if at > now + LOG_CLOCK_SKEW:
        return {"at": ["This time is in the future."]}
    if at < dose.due_at - EARLY_LOGGING:
        return {
            "at": [
                "That is more than 2 hours before this dose was due "
                f"({_local(dose.due_at, dose.patient):%d %b %H:%M}); log it against the right "
                "dose."
            ]
        }
    return {}


def _older_dose_problems(
    *, dose: ExpectedDose, note: str, recorded_by, now: datetime
) -> dict[str, list[str]]:
    # Asked only for doses due over 72 hours ago, so the usual log costs no role lookup.
    if dose.due_at >= now - PATIENT_LOGGING_PERIOD or recorded_by is None:
        return {}
    if not is_staff_member(recorded_by):
        return {
            "non_field_errors": [
                "This dose was due more than 3 days ago, so it can no longer be changed here. "
                "If you need to tell us about it, please call your advice line."
            ]
        }
    if not note.strip():
        return {"note": ["This dose was due more than 3 days ago: say why it is logged now."]}
    return {}


def _replay(dose: ExpectedDose, log: DoseLog) -> DoseLogResult:
    dose.refresh_from_db()
    return DoseLogResult(dose=dose, log=log, created=False)


def dose_log(
    *,
    dose: ExpectedDose | int | str,
    visible: QuerySet[ExpectedDose] | None = None,
    action: str,
    at: datetime | None = None,
    reason: str = "",
    note: str = "",
    recorded_by=None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> DoseLogResult:
    """Record that a dose was taken or not taken (adherence.md, "Dose states").

    Taken within the late window -> taken; after it, or once the sweep has marked the dose
    missed -> taken_late (allowed: the record must be true; flagged). Skipped needs a
    reason. A retry (same Idempotency-Key from the same user, or the same dose, action and
    reason within 10 minutes) records nothing new and returns the first answer. A different
    answer is a correction: a new log, the previous one marked superseded.

    `dose` is the dose, or its id together with `visible`, the doses the caller may log
    (selectors.dose_rows_for): then the dose is found, scoped and locked in one query, and
    one out of reach is an Http404 (docs/benchmarks.md, benchmark 2).
    """
    now = _now(now)
    at = at or now
    reason = reason or ""
    note = note or ""
    key = (idempotency_key or "").strip()[:128] or None
    try:
        return _dose_log(
            dose=dose,
            visible=visible,
            action=action,
            at=at,
            reason=reason,
            note=note,
            recorded_by=recorded_by,
            key=key,
            now=now,
        )
    except IntegrityError:
        # Two requests with one Idempotency-Key raced; the first one's log is the answer.
        existing = (
            DoseLog.objects.filter(recorded_by=recorded_by, idempotency_key=key)
            .select_related("expected_dose")
            .first()
        )
        if existing is None:
            raise
        if not isinstance(dose, ExpectedDose):  # found in `visible` before the race
            dose = get_or_404(visible, dose, "dose")
            catalogue.attach_drug(dose.prescription)
        if existing.expected_dose_id != dose.pk:
            raise ValidationError(
                {"idempotency_key": ["This Idempotency-Key was already used for another dose."]}
            ) from None
        return _replay(dose, existing)


def _current_logs(dose_id):
    return DoseLog.objects.filter(expected_dose_id=dose_id, superseded_at__isnull=True).order_by(
        "-recorded_at", "-id"
    )


@functools.cache
def _lock_annotations(names: tuple[str, ...]) -> dict[str, Expression]:
    # Built once per process (~0.4 ms a log otherwise): annotate() resolves a copy of each
    # expression and never changes these.
    return {
        "current_log_id": Subquery(_current_logs(OuterRef("pk")).values("pk")[:1]),
        **{name: dose_lock_annotations[name]() for name in names},
    }


def _locked(dose: ExpectedDose | int | str, visible: QuerySet[ExpectedDose] | None):
    """The dose under its row lock, the first statement of the log's transaction: the lock
    makes logging and the missed-dose sweep take turns on it (the conditional update in
    _dose_log is the second guard). Read with it: the id of its current log (most doses have
    none yet: then no second query) and what dose_logged's receivers asked for
    (signals.dose_lock_annotations)."""
    annotations = _lock_annotations(tuple(dose_lock_annotations))
    if isinstance(dose, ExpectedDose):
        loaded = dose
        rows, pk = ExpectedDose.objects.all(), dose.pk
    elif visible is not None:
        loaded = None
        rows, pk = visible, dose
    else:
        raise TypeError("dose_log: give the dose, or its id with the doses the caller may log")
    locked = get_or_404(
        rows.select_for_update(of=("self",)).annotate(**annotations),
        pk,
        "dose",
    )
    if loaded is None:
        catalogue.attach_drug(locked.prescription)
        return locked
    # Logging changes neither the prescription nor the patient: keep those the caller loaded
    # rather than join them again under the lock.
    for relation in ("prescription", "patient"):
        if ExpectedDose._meta.get_field(relation).is_cached(loaded):
            setattr(locked, relation, getattr(loaded, relation))
    return locked


@transaction.atomic
def _dose_log(*, dose, visible, action, at, reason, note, recorded_by, key, now) -> DoseLogResult:
    dose = _locked(dose, visible)
    if key:
        earlier = DoseLog.objects.filter(recorded_by=recorded_by, idempotency_key=key).first()
        if earlier is not None:
            if earlier.expected_dose_id != dose.pk:
                raise ValidationError(
                    {"idempotency_key": ["This Idempotency-Key was already used for another dose."]}
                )
            return _replay(dose, earlier)
    current = None
    if dose.current_log_id is not None:
        current = _current_logs(dose.pk).first()
    if (
        current is not None
        and current.action == action
        and current.reason == reason
        and now - current.recorded_at <= REPLAY_WINDOW
    ):
        return _replay(dose, current)
    _validate_log(dose=dose, action=action, at=at, reason=reason, note=note, now=now)
    older = _older_dose_problems(dose=dose, note=note, recorded_by=recorded_by, now=now)
    if older:
        raise ValidationError(older)

    if action == DoseAction.TAKEN:
        # The state follows the time taken, not the time of logging (adherence.md): a dose
        # the sweep marked missed but taken inside its window is taken, "logged later".
        late = at > dose.late_until
        new_state = DoseState.TAKEN_LATE if late else DoseState.TAKEN
        updates = {"state": new_state, "taken_at": at, "skip_reason": ""}
    else:
        new_state = DoseState.SKIPPED
        updates = {"state": new_state, "taken_at": None, "skip_reason": reason}
    updated = ExpectedDose.objects.filter(pk=dose.pk, state=dose.state).update(
        state_changed_at=now, **updates
    )
    if updated != 1:  # cannot happen under the row lock; refuse rather than overwrite
        raise ValidationError({"non_field_errors": ["This dose changed meanwhile; try again."]})
    if current is not None:
        DoseLog.objects.filter(pk=current.pk, superseded_at__isnull=True).update(superseded_at=now)
    # No savepoint of its own: an IntegrityError (two requests with one Idempotency-Key)
    # leaves this function's transaction, which rolls back, and dose_log() answers it.
    log = DoseLog.objects.create(
        expected_dose=dose,
        action=action,
        at=at,
        reason=reason if action == DoseAction.SKIPPED else "",
        note=note,
        recorded_at=now,
        recorded_by=recorded_by,
        idempotency_key=key,
    )
    # The row is locked and was just updated with exactly these values: set them rather
    # than re-read the row, which would also drop the prescription, drug and patient loaded
    # with it and cost the answer two more queries (docs/benchmarks.md, benchmark 2).
    for name, value in {"state_changed_at": now, **updates}.items():
        setattr(dose, name, value)
    dose_logged.send(sender=DoseLog, log=log, dose=dose)
    logger.info("dose %s logged %s (log %s)", dose.pk, new_state, log.pk)
    return DoseLogResult(dose=dose, log=log, created=True)
