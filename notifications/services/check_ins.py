"""The check-in sweep and its alerts (../shared/clinical/checkins.md, "Scheduled
check-ins"): generate what is due ahead, open check-ins and remind the patient (at opening
and +24 h, through notifications.services.reminder_queue's outbox), and at 72 h mark them
missed and raise the "check-in not done" alert: green, amber after two misses in a row, one
open per patient (updated, never duplicated). A completed check-in closes a green one by
itself ("resolved: patient reported"); an amber one stays for the nurse with a line in its
history that the patient has reported. State change, reminders and alert: one transaction
per batch. Safe to run twice or concurrently (claims skip locked rows, conditional updates,
unique keys)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime

from django.db import transaction

from medications.symptoms import check_in_rules
from medications.symptoms import checkins as check_in_services
from patients.models import Patient

from ..models import Alert, AlertEventKind, AlertKind, AlertLevel, AlertOutcome, AlertStatus
from .alerts import MISSED_CHECK_IN_KEY, AlertSpec, _alerts_raise
from .common import SWEEP_BATCH, _event, _iso, _now
from .reminders import reminders_queue_many

logger = logging.getLogger(__name__)

AUTO_RESOLVE_NOTE = "Closed automatically: the patient has reported."
REMINDER_TITLE = "Your check-in is open"
REMINDER_BODY = "How have you been? Tell your team in the app."
# A stuck batch (rows due that no rule moves) must never loop for ever.
MAX_BATCHES = 1000


def _reminders(rows: list[dict]) -> list[dict]:
    return [
        {
            "patient": row["patient_id"],
            "kind": "check_in",
            "title": REMINDER_TITLE,
            "body": REMINDER_BODY,
            "dedup_key": f"check_in:{row['pk']}:{row['reminders_sent']}",
            "open_path": "/me/",
            "expires_at": row["closes_at"],
            "tag": f"check_in:{row['pk']}",
        }
        for row in rows
    ]


def _missed_specs(missed: list[dict], now: datetime) -> list[AlertSpec]:
    by_patient: dict[int, list[dict]] = defaultdict(list)
    for row in missed:
        by_patient[row["patient_id"]].append(row)
    teams = dict(Patient.objects.filter(pk__in=list(by_patient)).values_list("pk", "care_team_id"))
    outcomes = check_in_services.recent_outcomes(list(by_patient), now)
    specs = []
    for patient_id, rows in by_patient.items():
        level = check_in_rules.missed_alert_level(outcomes.get(patient_id, []))
        rule = (
            "two check-ins in a row not done: no contact for two weeks"
            if level == AlertLevel.AMBER
            else "check-in not done within 72 hours"
        )
        specs.append(
            AlertSpec(
                dedup_key=MISSED_CHECK_IN_KEY.format(patient_id),
                patient_id=patient_id,
                care_team_id=teams[patient_id],
                kind=AlertKind.MISSED_CHECK_IN,
                level=level,
                reasons=[{"code": "missed_check_in", "level": level, "rule": rule}],
                summary="No contact for two weeks" if level == "amber" else "Check-in not done",
                details={
                    "missed_check_ins": [
                        {
                            "check_in_id": row["pk"],
                            "kind": row["kind"],
                            "opens_at": _iso(row["opens_at"]),
                        }
                        for row in rows
                    ],
                    "last_missed_at": _iso(rows[-1]["closes_at"]),
                },
                occurrences=len(rows),
            )
        )
    return specs


def check_ins_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """Generate, open and remind, chase, and mark missed with its alert (see module doc).
    A fixed number of queries per batch, whatever the number of patients."""
    now = _now(now)
    with transaction.atomic():
        generated = check_in_services.check_ins_generate(now=now)
    totals = Counter(
        scheduled=generated["weekly"] + generated["post_infusion"],
        opened=0,
        chased=0,
        missed=0,
        alerts_raised=0,
        alerts_updated=0,
    )
    for _ in range(MAX_BATCHES):
        with transaction.atomic():
            advanced = check_in_services.check_ins_advance(now=now, limit=batch_size)
            if not advanced.claimed:
                break
            reminders_queue_many(reminders=_reminders(advanced.opened + advanced.chased), now=now)
            totals["opened"] += len(advanced.opened)
            totals["chased"] += len(advanced.chased)
            totals["missed"] += len(advanced.missed)
            if advanced.missed:
                for result in _alerts_raise(_missed_specs(advanced.missed, now), now=now):
                    if result.created:
                        totals["alerts_raised"] += 1
                    elif result.changed:
                        totals["alerts_updated"] += 1
        if advanced.claimed < batch_size:
            break
    return dict(totals)


def check_in_alert_after_report(*, patient_id: int, report_id: int, now: datetime | None = None):
    """A check-in was completed: an open green "check-in not done" alert closes itself
    (outcome "patient reported"); an amber one, or one a nurse has acknowledged, stays for
    the nurse with a line in its history that the patient has reported. In the report's
    transaction (the check_in_completed receiver)."""
    now = _now(now)
    alert = (
        Alert.objects.filter(dedup_key=MISSED_CHECK_IN_KEY.format(patient_id))
        .only("pk", "level", "status")
        .first()
    )
    if alert is None:
        return None
    # Conditional: a sweep that just raised it to amber, or a nurse who acknowledged it,
    # wins; then it stays for the nurse.
    closed = Alert.objects.filter(
        pk=alert.pk, status=AlertStatus.OPEN, level=AlertLevel.GREEN
    ).update(
        status=AlertStatus.RESOLVED,
        resolved_at=now,
        outcome=AlertOutcome.PATIENT_REPORTED,
        resolution_note=AUTO_RESOLVE_NOTE,
        dedup_key=None,
        updated_at=now,
    )
    if closed:
        _event(
            alert.pk,
            AlertEventKind.RESOLVED,
            now,
            outcome=AlertOutcome.PATIENT_REPORTED,
            automatic=True,
            report_id=report_id,
        )
        return "closed"
    _event(alert.pk, AlertEventKind.UPDATED, now, patient_reported=True, report_id=report_id)
    Alert.objects.filter(pk=alert.pk).update(updated_at=now)
    return "noted"
