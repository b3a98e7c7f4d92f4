"""Alerts that a later dose log makes stale (issue 16, point 3; adherence.md).

- A **supply** alert ("ran out of tablets") closes itself when the patient takes a dose of
  that prescription due at or after the one they could not take, or records that they took
  that very dose after all (a correction): they have tablets. Outcome "doses resumed", the
  event says why; whoever had acknowledged it sees it in the history.
- A **missed dose logged late** adds a line to the prescription's open missed-dose alert
  ("taken later") and an event; the alert stays for the nurse (amber alerts are closed by a
  nurse, adherence.md), so the queue and the alert page show what changed.

Called from `sources.dose_log_alerts_update` inside the dose log's transaction (the
receiver's savepoint). One query finds both kinds of alert for a taken dose, so a dose log
with nothing stale costs what it did before (docs/benchmarks.md, benchmark 2)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from medications.models import DoseLog, ExpectedDose

from ..models import Alert, AlertEventKind, AlertKind, AlertOutcome, AlertStatus
from .alerts import MISSED_DOSE_KEY
from .common import _event, _iso

SUPPLY_CLOSED_NOTE = (
    "Closed automatically: the patient took a dose after reporting they had run out."
)
TOOK_AFTER_ALL_NOTE = (
    "Closed automatically: the patient recorded that they took the dose after all."
)
UNRESOLVED = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def _taken_dose_alerts_q(prescription_id, missed_dose_key) -> Q:
    return Q(dedup_key=missed_dose_key) | Q(
        prescription_id=prescription_id, kind=AlertKind.SUPPLY, status__in=UNRESOLVED
    )


def taken_dose_alerts(*, dose: ExpectedDose) -> tuple[Alert | None, list[Alert]]:
    """(the prescription's unresolved missed-dose alert, its unresolved supply alerts): one
    query (the unique dedup key, or the prescription's index)."""
    found = list(
        Alert.objects.filter(
            _taken_dose_alerts_q(dose.prescription_id, MISSED_DOSE_KEY.format(dose.prescription_id))
        ).only("pk", "kind", "level", "status", "details", "dedup_key")
    )
    missed = next((a for a in found if a.kind == AlertKind.MISSED_DOSE), None)
    if missed is not None and missed.status not in UNRESOLVED:
        missed = None
    return missed, [a for a in found if a.kind == AlertKind.SUPPLY]


# The attribute the dose log's locked read sets on the dose: could taken_dose_alerts find
# anything? Most doses' prescriptions have no such alert; then the receiver opens no savepoint
# and sends no query (docs/benchmarks.md, benchmark 2).
ALERTS_HINT = "has_dose_alerts"


def taken_dose_alerts_exist() -> Exists:
    """taken_dose_alerts' filter as an expression over the dose row being logged (registered
    in medications.signals.dose_lock_annotations by notifications.receivers). An alert
    committed between that read and the end of the log is not closed by this log: it stays
    for a nurse, as it would had it come a moment after the log."""
    prescription = OuterRef("prescription_id")
    key = Concat(
        Value(MISSED_DOSE_KEY.format("")),
        Cast(prescription, CharField()),
        output_field=CharField(),
    )
    return Exists(Alert.objects.filter(_taken_dose_alerts_q(prescription, key)))


def supply_alerts_close(
    *, dose: ExpectedDose, log: DoseLog, alerts: list[Alert], now: datetime
) -> list[int]:
    """Close the supply alerts this taken dose answers; returns their ids."""
    closed = []
    for alert in alerts:
        details = alert.details or {}
        same_dose = details.get("dose_id") == dose.pk
        later = bool(details.get("due_at")) and _iso(dose.due_at) >= details["due_at"]
        if not (same_dose or later):
            continue  # an older dose logged late says nothing about tablets now
        note = TOOK_AFTER_ALL_NOTE if same_dose else SUPPLY_CLOSED_NOTE
        # Conditional: a nurse resolving it meanwhile wins.
        changed = Alert.objects.filter(pk=alert.pk, status__in=UNRESOLVED).update(
            status=AlertStatus.RESOLVED,
            resolved_at=now,
            outcome=AlertOutcome.DOSES_RESUMED,
            resolution_note=note,
            updated_at=now,
        )
        if changed:
            _event(
                alert.pk,
                AlertEventKind.RESOLVED,
                now,
                outcome=AlertOutcome.DOSES_RESUMED,
                automatic=True,
                dose_id=dose.pk,
                dose_log_id=log.pk,
                took_after_all=same_dose,
            )
            closed.append(alert.pk)
    return closed


def missed_dose_alert_note_late_log(
    *, dose: ExpectedDose, log: DoseLog, alert: Alert | None, now: datetime
) -> int | None:
    """A dose listed as missed on the open alert, now logged as taken: add the line."""
    if alert is None:
        return None
    details = alert.details or {}
    missed = [m for m in details.get("missed") or [] if m.get("dose_id") == dose.pk]
    if not missed:
        return None
    locked = Alert.objects.select_for_update(of=("self",)).only("pk", "details", "status")
    alert = locked.filter(pk=alert.pk, status__in=UNRESOLVED).first()
    if alert is None:
        return None
    details = dict(alert.details or {})
    lines = [line for line in details.get("logged_late") or [] if line.get("dose_id") != dose.pk]
    taken_at = log.at or dose.taken_at
    lines.append(
        {
            "dose_id": dose.pk,
            "local": missed[0].get("local", ""),
            "taken_at": _iso(taken_at) if taken_at else None,
            "logged_at": _iso(now),
        }
    )
    details["logged_late"] = lines
    Alert.objects.filter(pk=alert.pk).update(details=details, updated_at=now)
    _event(
        alert.pk,
        AlertEventKind.UPDATED,
        now,
        logged_late=missed[0].get("local", ""),
        dose_id=dose.pk,
    )
    return alert.pk
