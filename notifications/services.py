"""Writes for alerts: raise, update, acknowledge, resolve, escalate, deliver; and the sweeps
that turn medication state (missed doses, missed infusions, red and amber symptom reports,
"ran out of tablets") into alerts.

Clinical rules: ../shared/clinical/triage.md ("Alerts from symptom reports") and
adherence.md ("Missed-dose alerts"). Guarantees (docs/alerts.md):

- One alert per problem. `Alert.dedup_key` is unique: "symptom_report:<id>" and
  "supply:dose_log:<id>" are kept forever (one alert per report / per log, however often it
  is raised); "missed_dose:prescription:<id>" and "missed_infusion:appointment:<id>" are
  cleared when the alert is resolved (one OPEN alert per prescription / appointment).
- The state change, the alert, its events and its Delivery rows (the outbox) are written in
  one transaction. Sending happens after commit, at least once.
- Transitions are conditional updates (`filter(pk=..., status=old).update(...)`, count
  checked): sweeps may run twice or concurrently; only the process that changed a row acts.
- A level may rise on an unresolved alert (its deadline tightens), never silently fall.
"""

from __future__ import annotations

import logging
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core import bulk
from core.queue import enqueue_on_commit
from medications.models import (
    AppointmentState,
    CourseStatus,
    DoseAction,
    DoseLog,
    DoseState,
    ExpectedDose,
    InfusionAppointment,
    Prescription,
    SkipReason,
    SymptomReport,
)
from patients.models import CareTeam, Patient, ReminderChannel

from . import channels, rules, sms
from .models import (
    LEVEL_RANK,
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertOutcome,
    AlertStatus,
    Channel,
    ChannelKind,
    ChannelPurpose,
    Delivery,
    DeliveryAttempt,
    DeliveryPurpose,
    DeliveryStatus,
)

logger = logging.getLogger(__name__)

# Rows one sweep transaction handles. A batch costs a fixed number of queries (about 15 for
# missed doses), so 10,000 patients are a few batches, not 10,000 round trips.
SWEEP_BATCH = 5000
# Deliveries the delivery sweep sends itself per run, and for how long (under the task's
# soft time limit of 60 s); the rest wait for the next run.
DELIVERY_SWEEP_LIMIT = 500
DELIVERY_SWEEP_BUDGET_SECONDS = 40.0
# A delivery claimed ("sending") longer than this lost its sender (worker killed, machine
# restarted): it goes back to pending. Well above the webhook and SMTP timeouts (10 s).
DELIVERY_STUCK_AFTER = timedelta(seconds=settings.DELIVERY_STUCK_AFTER_SECONDS)
# Up to this many new deliveries get one task each after commit; more are left to one
# delivery sweep task (a missed-dose sweep over 10,000 patients must not publish 10,000
# messages inside the request that committed them).
ENQUEUE_EACH_UP_TO = 50
# The two most recent expected doses are looked for this far back (a hold or an off week
# between two misses still makes them consecutive).
CONSECUTIVE_LOOKBACK = timedelta(days=14)
# A late "ran out of tablets" alert is still raised from logs this recent.
SUPPLY_LOOKBACK = timedelta(days=3)
# Dose reminders go out from the due time until this long after it (a sweep that was down
# for hours does not send stale reminders) and never after the late window closed.
REMINDER_STALE_AFTER = timedelta(hours=1)
# Details lists (missed dose dates) keep the most recent entries only.
DETAILS_LIST_LIMIT = 60
# Fallback channel for a team with no channel at all (CareTeam.advice_line_email).
FALLBACK_CHANNEL_NAME = "Advice line e-mail (automatic)"
AUTO_RESOLVE_NOTE = "Closed automatically: the next dose was taken on time."

MISSED_DOSE_KEY = "missed_dose:prescription:{}"
MISSED_INFUSION_KEY = "missed_infusion:appointment:{}"
SYMPTOM_KEY = "symptom_report:{}"
SUPPLY_KEY = "supply:dose_log:{}"
# Keys cleared on resolve: the next miss may open a new alert. The others are kept forever.
KEYS_CLEARED_ON_RESOLVE = ("missed_dose:", "missed_infusion:")


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- raising and updating ---------------------------------------------------------------------


@dataclass
class AlertSpec:
    """What one problem should look like as an alert; `_alerts_raise` creates or merges it."""

    dedup_key: str
    patient_id: int
    care_team_id: int
    kind: str
    level: str
    reasons: list[dict]
    summary: str = ""
    details: dict = field(default_factory=dict)
    occurrences: int = 1
    # A symptom report triaged again is the same occurrence, a further missed dose is not.
    repeat_adds_occurrences: bool = True
    symptom_report_id: int | None = None
    prescription_id: int | None = None
    appointment_id: int | None = None


@dataclass
class RaiseResult:
    alert: Alert
    created: bool
    changed: bool = False
    level_raised: bool = False


def _alert_row(spec: AlertSpec, now: datetime) -> dict:
    return {
        "patient_id": spec.patient_id,
        "care_team_id": spec.care_team_id,
        "kind": spec.kind,
        "level": spec.level,
        "status": AlertStatus.OPEN,
        "reasons": list(spec.reasons),
        "summary": spec.summary[:300],
        "dedup_key": spec.dedup_key,
        "symptom_report_id": spec.symptom_report_id,
        "prescription_id": spec.prescription_id,
        "appointment_id": spec.appointment_id,
        "occurrences": spec.occurrences,
        "details": dict(spec.details),
        "created_at": now,
        "updated_at": now,
        "due_by": rules.due_by_for(spec.level, now),
        "outcome": "",
        "resolution_note": "",
    }


def _new_alert(spec: AlertSpec, now: datetime) -> Alert:
    return Alert(**_alert_row(spec, now))


def _create_alerts(specs: Sequence[AlertSpec], now: datetime) -> tuple[list[Alert], list]:
    """Insert new alerts; returns (created, [(existing alert, spec)] that raced us).

    Someone may insert one of these keys between our read and our insert (a concurrent
    sweep; the task and the sweep for one report): that alert is locked and merged into
    instead, never duplicated."""
    if not specs:
        return [], []
    if bulk.fast():
        return _create_alerts_postgres(specs, now)
    new = [_new_alert(spec, now) for spec in specs]
    try:
        with transaction.atomic():
            Alert.objects.bulk_create(new)
        return new, []
    except IntegrityError:
        pass
    created, raced = [], []
    for spec in specs:
        try:
            with transaction.atomic():
                alert = _new_alert(spec, now)
                alert.save(force_insert=True)
            created.append(alert)
        except IntegrityError:
            existing = Alert.objects.select_for_update().get(dedup_key=spec.dedup_key)
            raced.append((existing, spec))
    return created, raced


def _create_alerts_postgres(specs: Sequence[AlertSpec], now: datetime):
    created: list[Alert] = []
    raced: list = []
    pending = list(specs)
    # A key another transaction inserted (ON CONFLICT DO NOTHING waits for it to commit) is
    # read and merged into; if it was resolved and its key cleared meanwhile, insert again.
    for _ in range(3):
        inserted = {
            key: pk
            for pk, key in bulk.insert_rows(
                Alert,
                [_alert_row(spec, now) for spec in pending],
                on_conflict="ON CONFLICT (dedup_key) DO NOTHING",
                returning=("id", "dedup_key"),
                order_by="dedup_key",
            )
        }
        missing = {}
        for spec in pending:
            pk = inserted.get(spec.dedup_key)
            if pk is None:
                missing[spec.dedup_key] = spec
                continue
            alert = _new_alert(spec, now)
            alert.pk = pk
            alert._state.adding = False
            alert._state.db = "default"
            created.append(alert)
        if not missing:
            return created, raced
        for alert in (
            Alert.objects.select_for_update().filter(dedup_key__in=list(missing)).order_by("pk")
        ):
            raced.append((alert, missing.pop(alert.dedup_key)))
        pending = list(missing.values())
        if not pending:
            return created, raced
    raise IntegrityError("could not insert or find alerts for " + ", ".join(missing))


def _merge_reasons(old: list[dict], new: list[dict]) -> list[dict]:
    """By code: a newer reason replaces the same code's entry unless its level is lower."""
    merged = {reason.get("code"): reason for reason in old}
    order = [reason.get("code") for reason in old]
    for reason in new:
        code = reason.get("code")
        previous = merged.get(code)
        if previous is None:
            order.append(code)
            merged[code] = reason
        elif LEVEL_RANK.get(reason.get("level"), 0) >= LEVEL_RANK.get(previous.get("level"), 0):
            merged[code] = reason
    return [merged[code] for code in order]


def _merge_details(old: dict, new: dict) -> dict:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            seen = {repr(item) for item in merged[key]}
            combined = merged[key] + [item for item in value if repr(item) not in seen]
            merged[key] = combined[-DETAILS_LIST_LIMIT:]
        elif key.startswith("last_") and isinstance(value, str) and merged.get(key):
            merged[key] = max(merged[key], value)  # ISO UTC strings sort as times
        else:
            merged[key] = value
    return merged


def _merge(alert: Alert, spec: AlertSpec, now: datetime) -> tuple[bool, bool, dict]:
    """Fold a repeat of the problem into its alert. Returns (changed, level_raised, event)."""
    if alert.status == AlertStatus.RESOLVED:
        return False, False, {}  # a kept key (report, log): its one alert is closed
    event: dict = {}
    level_raised = LEVEL_RANK[spec.level] > LEVEL_RANK[alert.level]
    if level_raised:
        event.update({"from": alert.level, "to": spec.level})
        alert.level = spec.level
        # The deadline tightens to the new level's; never moves later.
        alert.due_by = min(alert.due_by, rules.due_by_for(spec.level, now))
        # A higher level is a new emergency: the escalation clock starts again, and an
        # acknowledgement given at the lower level no longer covers it (never under-triage).
        alert.escalated_at = None
        if alert.status == AlertStatus.ACKNOWLEDGED:
            alert.status = AlertStatus.OPEN
            alert.acknowledged_at = None
            alert.acknowledged_by = None
            event["reopened"] = True
    reasons = _merge_reasons(alert.reasons or [], spec.reasons)
    details = _merge_details(alert.details or {}, spec.details)
    added = spec.occurrences if spec.repeat_adds_occurrences else 0
    if not level_raised and not added and reasons == alert.reasons and details == alert.details:
        return False, False, {}
    new_codes = sorted({r.get("code") for r in reasons} - {r.get("code") for r in alert.reasons})
    alert.reasons = reasons
    alert.details = details
    alert.occurrences += added
    if spec.summary:
        alert.summary = spec.summary[:300]
    alert.updated_at = now
    event.update({"occurrences": alert.occurrences, "added": added})
    if new_codes:
        event["reasons_added"] = new_codes
    return True, level_raised, event


MERGED_FIELDS = [
    "level",
    "due_by",
    "escalated_at",
    "status",
    "acknowledged_at",
    "acknowledged_by",
    "reasons",
    "details",
    "occurrences",
    "summary",
    "updated_at",
]


def _alerts_raise(specs: Sequence[AlertSpec], *, now: datetime) -> list[RaiseResult]:
    """Create or update one alert per spec (by dedup_key), with events and outbox rows, in
    the caller's transaction. A fixed number of queries however many specs."""
    if not specs:
        return []
    by_key: dict[str, AlertSpec] = {}
    for spec in specs:
        by_key[spec.dedup_key] = spec  # one spec per problem; the caller merged repeats
    existing = {
        alert.dedup_key: alert
        for alert in Alert.objects.select_for_update()
        .filter(dedup_key__in=list(by_key))
        # A fixed lock order: two sweeps locking the same alerts cannot deadlock.
        .order_by("pk")
    }
    # Inserted in key order: two sweeps inserting overlapping keys wait for each other in one
    # direction only (a waits-for cycle, i.e. a deadlock, needs two orders).
    missing = [by_key[key] for key in sorted(by_key) if key not in existing]
    created, raced = _create_alerts(missing, now)
    pairs = [(alert, by_key[key]) for key, alert in existing.items()] + raced

    results: list[RaiseResult] = []
    events: list[dict] = []
    for alert in created:
        results.append(RaiseResult(alert=alert, created=True, changed=True))
        events.append(
            _event_row(
                alert.pk,
                AlertEventKind.CREATED,
                now,
                {
                    "level": alert.level,
                    "kind": alert.kind,
                    "reasons": [r.get("code") for r in alert.reasons],
                    "occurrences": alert.occurrences,
                    "due_by": _iso(alert.due_by),
                },
            )
        )
    changed_alerts = []
    for alert, spec in pairs:
        changed, level_raised, data = _merge(alert, spec, now)
        results.append(
            RaiseResult(alert=alert, created=False, changed=changed, level_raised=level_raised)
        )
        if changed:
            changed_alerts.append(alert)
            kind = AlertEventKind.LEVEL_RAISED if level_raised else AlertEventKind.UPDATED
            events.append(_event_row(alert.pk, kind, now, data))
    if changed_alerts and bulk.fast():
        attnames = [Alert._meta.get_field(name).attname for name in MERGED_FIELDS]
        bulk.update_rows(
            Alert,
            [{"id": a.pk, **{n: getattr(a, n) for n in attnames}} for a in changed_alerts],
        )
    elif changed_alerts:
        Alert.objects.bulk_update(changed_alerts, MERGED_FIELDS)
    _insert_events(events)
    _deliveries_create(
        [r.alert for r in results if r.created or r.level_raised],
        purpose=DeliveryPurpose.ALERT,
        now=now,
        renotify={r.alert.pk for r in results if r.level_raised},
    )
    return results


def _event_row(alert_id: int, kind: str, at: datetime, data: dict, actor_id=None) -> dict:
    return {"alert_id": alert_id, "at": at, "actor_id": actor_id, "kind": kind, "data": data}


def _insert_events(rows: list[dict]) -> None:
    if not rows:
        return
    if bulk.fast():
        bulk.insert_rows(AlertEvent, rows)
    else:
        AlertEvent.objects.bulk_create([AlertEvent(**row) for row in rows])


def alert_raise(
    *,
    patient: Patient,
    kind: str,
    level: str,
    reasons: list[dict],
    dedup_key: str,
    summary: str = "",
    details: dict | None = None,
    occurrences: int = 1,
    symptom_report: SymptomReport | None = None,
    prescription_id: int | None = None,
    appointment_id: int | None = None,
    now: datetime | None = None,
) -> RaiseResult:
    """Raise the alert for a problem, or update its unresolved alert (level up only,
    occurrences, details). Idempotent by `dedup_key`."""
    if kind not in AlertKind.values:
        raise ValidationError({"kind": [f"{kind!r} is not an alert kind."]})
    if level not in AlertLevel.values:
        raise ValidationError({"level": [f"{level!r} is not an alert level."]})
    spec = AlertSpec(
        dedup_key=dedup_key,
        patient_id=patient.pk,
        care_team_id=patient.care_team_id,
        kind=kind,
        level=level,
        reasons=reasons,
        summary=summary,
        details=details or {},
        occurrences=occurrences,
        symptom_report_id=symptom_report.pk if symptom_report else None,
        prescription_id=prescription_id,
        appointment_id=appointment_id,
    )
    with transaction.atomic():
        return _alerts_raise([spec], now=_now(now))[0]


# --- acknowledge and resolve ------------------------------------------------------------------


def _event(alert_id: int, kind: str, now: datetime, actor=None, **data) -> AlertEvent:
    return AlertEvent.objects.create(alert_id=alert_id, at=now, kind=kind, actor=actor, data=data)


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user, now: datetime | None = None) -> Alert:
    """Open -> acknowledged, with who and when. Acknowledging twice changes nothing."""
    now = _now(now)
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user, updated_at=now
    )
    if updated:
        _event(alert.pk, AlertEventKind.ACKNOWLEDGED, now, actor=user)
    else:
        status = Alert.objects.values_list("status", flat=True).get(pk=alert.pk)
        if status == AlertStatus.RESOLVED:
            raise ValidationError({"non_field_errors": ["This alert is already resolved."]})
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_resolve(
    *, alert: Alert, user, outcome: str, note: str, now: datetime | None = None
) -> Alert:
    """Open or acknowledged -> resolved, with the outcome, a note, who and when (triage.md:
    "The nurse closes an alert with an outcome ... and a note"). The same request repeated
    answers the same; resolving a resolved alert otherwise is refused."""
    now = _now(now)
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in AlertOutcome.values:
        errors["outcome"] = [f"Choose one of: {', '.join(AlertOutcome.values)}."]
    if not note:
        errors["note"] = ["Say what was done (a short note)."]
    elif len(note) > 4000:
        errors["note"] = ["Keep the note under 4000 characters."]
    if errors:
        raise ValidationError(errors)
    current = Alert.objects.select_for_update().get(pk=alert.pk)
    if current.status == AlertStatus.RESOLVED:
        if (
            current.outcome == outcome
            and current.resolution_note == note
            and current.resolved_by_id == getattr(user, "pk", None)
        ):
            alert.refresh_from_db()
            return alert
        raise ValidationError({"non_field_errors": ["This alert is already resolved."]})
    updates = {
        "status": AlertStatus.RESOLVED,
        "resolved_at": now,
        "resolved_by": user,
        "outcome": outcome,
        "resolution_note": note,
        "updated_at": now,
    }
    if current.dedup_key and current.dedup_key.startswith(KEYS_CLEARED_ON_RESOLVE):
        updates["dedup_key"] = None  # the next miss opens a new alert
    updated = Alert.objects.filter(pk=alert.pk, status=current.status).update(**updates)
    if updated != 1:  # cannot happen under the row lock; refuse rather than overwrite
        raise ValidationError({"non_field_errors": ["This alert changed meanwhile; try again."]})
    _event(alert.pk, AlertEventKind.RESOLVED, now, actor=user, outcome=outcome, was=current.status)
    alert.refresh_from_db()
    return alert


# --- symptom reports --------------------------------------------------------------------------


def _symptom_spec(report: SymptomReport, care_team_id: int) -> AlertSpec:
    level = report.triage_level
    return AlertSpec(
        dedup_key=SYMPTOM_KEY.format(report.pk),
        patient_id=report.patient_id,
        care_team_id=care_team_id,
        kind=AlertKind.SYMPTOM,
        level=level,
        reasons=list(report.triage_reasons or []),
        summary=f"{level.capitalize()} symptom report",
        details={
            "reported_at": _iso(report.reported_at),
            "ruleset_version": report.ruleset_version,
            "entered_by_staff": report.entered_by_staff,
        },
        repeat_adds_occurrences=False,
        symptom_report_id=report.pk,
    )


def _needs_alert(report: SymptomReport) -> bool:
    # triage.md: red and amber reports raise one alert each; green raise none.
    return report.triage_level in (AlertLevel.RED, AlertLevel.AMBER)


@transaction.atomic
def symptom_report_alert_raise(*, report: SymptomReport, now: datetime | None = None):
    """The alert for a red or amber report (one per report, however often it is triaged),
    and report.alert_raised_at set in the same transaction. Green: nothing. Returns the
    alert or None."""
    if not _needs_alert(report):
        return None
    now = _now(now)
    # The report's row lock first, then the alert: the same order as the sweep (which locks
    # the reports it raises), so the two never wait for each other in a circle.
    SymptomReport.objects.select_for_update().filter(pk=report.pk).values_list("pk").first()
    care_team_id = Patient.objects.values_list("care_team_id", flat=True).get(pk=report.patient_id)
    result = _alerts_raise([_symptom_spec(report, care_team_id)], now=now)[0]
    SymptomReport.objects.filter(pk=report.pk, alert_raised_at__isnull=True).update(
        alert_raised_at=now
    )
    # The sender may save its instance again: keep the stamp on it too.
    if report.alert_raised_at is None:
        report.alert_raised_at = now
    return result.alert


def symptom_report_alert_raise_by_id(*, report_id: int, now: datetime | None = None) -> dict:
    """For the task: re-read the report; raise its alert if it still needs one."""
    report = SymptomReport.objects.filter(pk=report_id).first()
    if report is None or not _needs_alert(report):
        return {"raised": 0}
    alert = symptom_report_alert_raise(report=report, now=now)
    return {"raised": 1, "alert": alert.pk if alert else None}


def unraised_symptom_alerts_sweep(*, now: datetime | None = None, limit: int = 1000) -> dict:
    """Red and amber reports whose alert was never raised (the receiver failed, or the
    report was written by a path that sent no signal): raise them now (triage.md: "An alert
    is never lost")."""
    now = _now(now)
    with transaction.atomic():
        reports = list(
            SymptomReport.objects.filter(
                triage_level__in=[AlertLevel.RED, AlertLevel.AMBER], alert_raised_at__isnull=True
            )
            .select_related("patient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("reported_at")[:limit]
        )
        if not reports:
            return {"reports": 0, "alerts_raised": 0, "failed": 0}
        try:
            with transaction.atomic():
                results = _alerts_raise(
                    [_symptom_spec(r, r.patient.care_team_id) for r in reports], now=now
                )
                SymptomReport.objects.filter(
                    pk__in=[r.pk for r in reports], alert_raised_at__isnull=True
                ).update(alert_raised_at=now)
            raised = sum(1 for r in results if r.created)
            failed = 0
        except Exception as exc:  # noqa: BLE001 - one bad report must not block the others
            logger.warning(
                "bulk raise of %d report alerts failed (%s); one at a time",
                len(reports),
                exc.__class__.__name__,
            )
            raised = failed = 0
            for report in reports:
                try:
                    with transaction.atomic():
                        alert = symptom_report_alert_raise(report=report, now=now)
                    raised += 1 if alert else 0
                except Exception as one_exc:  # noqa: BLE001
                    failed += 1
                    logger.error(
                        "could not raise the alert for symptom report %s (%s)",
                        report.pk,
                        one_exc.__class__.__name__,
                    )
    return {"reports": len(reports), "alerts_raised": raised, "failed": failed}


# --- dose logs: "ran out of tablets" and doses resumed ----------------------------------------


def _supply_spec(*, log_id: int, dose: dict) -> AlertSpec:
    return AlertSpec(
        dedup_key=SUPPLY_KEY.format(log_id),
        patient_id=dose["patient_id"],
        care_team_id=dose["patient__care_team_id"],
        kind=AlertKind.SUPPLY,
        # adherence.md: "ran out of tablets" raises an amber supply alert.
        level=AlertLevel.AMBER,
        reasons=[{"code": "ran_out", "level": "amber", "rule": "patient has run out of tablets"}],
        summary=f"Ran out of {dose['prescription__drug__name']}",
        details={"dose_id": dose["pk"], "dose_log_id": log_id, "due_at": _iso(dose["due_at"])},
        repeat_adds_occurrences=False,
        prescription_id=dose["prescription_id"],
    )


DOSE_FIELDS = (
    "pk",
    "patient_id",
    "prescription_id",
    "due_at",
    "patient__care_team_id",
    "prescription__drug__name",
)


# No savepoint of its own: its caller, the dose_logged receiver, already runs it in one (a
# second cost two statements on every dose log; docs/benchmarks.md, benchmark 2). Called on
# its own, it is still one transaction.
@transaction.atomic(savepoint=False)
def dose_log_alerts_update(*, log: DoseLog, dose: ExpectedDose, now: datetime | None = None):
    """After a dose log: "ran out of tablets" raises an amber supply alert (one per log);
    a dose taken on time closes the prescription's open GREEN missed-dose alert with the
    outcome "doses resumed" (adherence.md; amber ones stay for a nurse)."""
    now = _now(now)
    summary = {"supply_alert": None, "auto_resolved": None}
    if log.action == DoseAction.SKIPPED and log.reason == SkipReason.RAN_OUT:
        row = ExpectedDose.objects.values(*DOSE_FIELDS).get(pk=dose.pk)
        result = _alerts_raise([_supply_spec(log_id=log.pk, dose=row)], now=now)[0]
        summary["supply_alert"] = result.alert.pk
    if dose.state == DoseState.TAKEN:
        summary["auto_resolved"] = _close_green_missed_dose_alert(dose=dose, now=now)
    return summary


def _close_green_missed_dose_alert(*, dose: ExpectedDose, now: datetime) -> int | None:
    alert = (
        Alert.objects.filter(
            dedup_key=MISSED_DOSE_KEY.format(dose.prescription_id),
            status=AlertStatus.OPEN,
            level=AlertLevel.GREEN,
        )
        .only("pk", "details")
        .first()
    )
    if alert is None:
        return None
    last_missed = (alert.details or {}).get("last_missed_due_at")
    if last_missed and _iso(dose.due_at) <= last_missed:
        return None  # an earlier dose logged late in the day is not "the next dose"
    # Conditional: a sweep that just raised it to amber, or a nurse who acknowledged it,
    # wins; then it stays for the nurse.
    closed = Alert.objects.filter(
        pk=alert.pk, status=AlertStatus.OPEN, level=AlertLevel.GREEN
    ).update(
        status=AlertStatus.RESOLVED,
        resolved_at=now,
        outcome=AlertOutcome.DOSES_RESUMED,
        resolution_note=AUTO_RESOLVE_NOTE,
        dedup_key=None,
        updated_at=now,
    )
    if not closed:
        return None
    _event(
        alert.pk,
        AlertEventKind.RESOLVED,
        now,
        outcome=AlertOutcome.DOSES_RESUMED,
        automatic=True,
        dose_id=dose.pk,
    )
    return alert.pk


def unraised_supply_alerts_sweep(*, now: datetime | None = None) -> dict:
    """Logs of "ran out of tablets" in the last days with no supply alert (the receiver failed):
    raise them now. Keys are kept forever, so a resolved one is not raised again."""
    now = _now(now)
    logs = list(
        DoseLog.objects.filter(
            action=DoseAction.SKIPPED,
            reason=SkipReason.RAN_OUT,
            recorded_at__gte=now - SUPPLY_LOOKBACK,
        ).values_list("pk", "expected_dose_id")
    )
    if not logs:
        return {"alerts_raised": 0}
    keys = {SUPPLY_KEY.format(log_id): (log_id, dose_id) for log_id, dose_id in logs}
    have = set(Alert.objects.filter(dedup_key__in=list(keys)).values_list("dedup_key", flat=True))
    missing = {key: value for key, value in keys.items() if key not in have}
    if not missing:
        return {"alerts_raised": 0}
    doses = {
        row["pk"]: row
        for row in ExpectedDose.objects.filter(
            pk__in=[dose_id for _, dose_id in missing.values()]
        ).values(*DOSE_FIELDS)
    }
    specs = [
        _supply_spec(log_id=log_id, dose=doses[dose_id])
        for log_id, dose_id in missing.values()
        if dose_id in doses
    ]
    with transaction.atomic():
        results = _alerts_raise(specs, now=now)
    return {"alerts_raised": sum(1 for r in results if r.created)}


# --- missed doses -----------------------------------------------------------------------------


def _claim_ids(queryset: QuerySet, limit: int) -> list[int]:
    """Lock up to `limit` rows (skipping rows another process holds) and return their ids.
    PostgreSQL: two concurrent sweeps take disjoint rows; a dose being logged (its row is
    locked by dose_log) is skipped. SQLite serialises writers, so the lock is not needed."""
    return list(
        queryset.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
            :limit
        ]
    )


def _overdue_doses(now: datetime, limit: int) -> list[int]:
    return _claim_ids(
        ExpectedDose.objects.filter(state=DoseState.PENDING, late_until__lte=now).order_by(
            "late_until", "pk"
        ),
        limit,
    )


def _mark_missed(ids: list[int], now: datetime) -> list[dict]:
    """Pending -> missed, conditionally: a dose logged (or put on hold) since it was read
    keeps its new state. Returns exactly the doses this call marked."""
    if bulk.fast():
        rows = bulk.update_returning(
            ExpectedDose,
            set_sql="state = %s, state_changed_at = %s",
            where_sql="id = ANY(%s) AND state = %s AND late_until <= %s",
            params=[DoseState.MISSED, now, list(ids), DoseState.PENDING, now],
            returning=("id", "prescription_id", "due_at"),
        )
        marked = [{"pk": pk, "prescription_id": rx, "due_at": due} for pk, rx, due in rows]
        return sorted(marked, key=lambda d: (d["due_at"], d["pk"]))
    ExpectedDose.objects.filter(pk__in=ids, state=DoseState.PENDING, late_until__lte=now).update(
        state=DoseState.MISSED, state_changed_at=now
    )
    return list(
        ExpectedDose.objects.filter(pk__in=ids, state=DoseState.MISSED, state_changed_at=now)
        .order_by("due_at", "pk")
        .values("pk", "prescription_id", "due_at")
    )


def _recent_consecutive_misses(prescription_ids: list[int], now: datetime) -> set[int]:
    """Prescriptions whose two most recent expected doses (not held, not pending) are both
    missed. One windowed query for all of them."""
    recent = (
        ExpectedDose.objects.filter(
            prescription_id__in=prescription_ids,
            due_at__gt=now - CONSECUTIVE_LOOKBACK,
            due_at__lte=now,
        )
        .exclude(state__in=[DoseState.HELD, DoseState.PENDING])
        .annotate(
            recency=Window(
                RowNumber(),
                partition_by=[F("prescription_id")],
                order_by=[F("due_at").desc(), F("pk").desc()],
            )
        )
        .filter(recency__lte=rules.CONSECUTIVE_MISSES_AMBER)
        .values_list("prescription_id", "state")
    )
    misses = Counter(pid for pid, state in recent if state == DoseState.MISSED)
    return {pid for pid, n in misses.items() if n >= rules.CONSECUTIVE_MISSES_AMBER}


def _adherence_7d(prescription_ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """(taken on time or late, expected) per prescription over the last 7 days; expected
    excludes held and still-pending doses (adherence.md, "Adherence measures"). One grouped
    query."""
    rows = (
        ExpectedDose.objects.filter(
            prescription_id__in=prescription_ids,
            due_at__gt=now - rules.ADHERENCE_WINDOW,
            due_at__lte=now,
        )
        .exclude(state__in=[DoseState.HELD, DoseState.PENDING])
        .values("prescription_id")
        .annotate(
            expected=Count("pk"),
            taken=Count("pk", filter=Q(state__in=[DoseState.TAKEN, DoseState.TAKEN_LATE])),
        )
        .order_by()
    )
    return {row["prescription_id"]: (row["taken"], row["expected"]) for row in rows}


def _missed_dose_specs(marked: list[dict], now: datetime) -> list[AlertSpec]:
    by_prescription: dict[int, list[dict]] = defaultdict(list)
    for dose in marked:
        by_prescription[dose["prescription_id"]].append(dose)
    ids = list(by_prescription)
    info = {
        row["pk"]: row
        for row in Prescription.objects.filter(pk__in=ids).values(
            "pk", "patient_id", "patient__care_team_id", "patient__timezone", "drug__name"
        )
    }
    consecutive = _recent_consecutive_misses(ids, now)
    adherence = _adherence_7d(ids, now)
    specs = []
    for pid, doses in by_prescription.items():
        row = info[pid]
        zone = zoneinfo.ZoneInfo(row["patient__timezone"])
        taken, expected = adherence.get(pid, (0, 0))
        assessment = rules.assess_missed_doses(
            newly_missed=len(doses),
            consecutive_missed=pid in consecutive,
            taken_7d=taken,
            expected_7d=expected,
        )
        specs.append(
            AlertSpec(
                dedup_key=MISSED_DOSE_KEY.format(pid),
                patient_id=row["patient_id"],
                care_team_id=row["patient__care_team_id"],
                kind=AlertKind.MISSED_DOSE,
                level=assessment.level,
                reasons=assessment.reasons,
                summary=f"Missed {row['drug__name']} dose",
                details={
                    "missed": [
                        {
                            "dose_id": d["pk"],
                            "due_at": _iso(d["due_at"]),
                            "local": d["due_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                        }
                        for d in doses
                    ],
                    "last_missed_due_at": _iso(doses[-1]["due_at"]),
                    "adherence_7d": {
                        "taken": taken,
                        "expected": expected,
                        "percent": assessment.adherence_percent,
                    },
                },
                occurrences=len(doses),
                prescription_id=pid,
            )
        )
    return specs


def missed_doses_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """Pending doses whose late window has closed become missed, and each prescription's
    missed-dose alert is raised or updated in the same transaction (adherence.md):

    - at most one open missed-dose alert per prescription; further misses add occurrences
      and dates and may raise the level, never a second alert;
    - green for a single miss; amber when the two most recent expected doses are both
      missed, or dose-taking adherence over the last 7 days is below 80%;
    - skipped and held doses are never pending past their window, so they raise nothing.

    Set-based: per batch a fixed number of queries (claim, update, re-read, three grouped
    reads, bulk writes). Safe to run twice or concurrently."""
    now = _now(now)
    totals = Counter(doses_missed=0, alerts_raised=0, alerts_updated=0, amber=0)
    while True:
        with transaction.atomic():
            ids = _overdue_doses(now, batch_size)
            if not ids:
                break
            marked = _mark_missed(ids, now)
            totals["doses_missed"] += len(marked)
            if marked:
                for result in _alerts_raise(_missed_dose_specs(marked, now), now=now):
                    if result.created:
                        totals["alerts_raised"] += 1
                    elif result.changed:
                        totals["alerts_updated"] += 1
                    if result.alert.level != AlertLevel.GREEN:
                        totals["amber"] += 1
        if len(ids) < batch_size:
            break
    return dict(totals)


# --- missed infusions -------------------------------------------------------------------------


def missed_infusions_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """drugs.md: an appointment neither given nor rescheduled by 24 h after its planned start
    is a missed infusion; adherence.md: it raises an amber alert. Conditional update, alert
    in the same transaction, one alert per appointment while open."""
    now = _now(now)
    cutoff = now - InfusionAppointment.MISSED_AFTER
    totals = Counter(infusions_missed=0, alerts_raised=0)
    while True:
        with transaction.atomic():
            ids = _claim_ids(
                InfusionAppointment.objects.filter(
                    state=AppointmentState.SCHEDULED,
                    scheduled_at__lte=cutoff,
                    course__status=CourseStatus.ACTIVE,
                ).order_by("scheduled_at", "pk"),
                batch_size,
            )
            if not ids:
                break
            InfusionAppointment.objects.filter(
                pk__in=ids, state=AppointmentState.SCHEDULED, scheduled_at__lte=cutoff
            ).update(state=AppointmentState.MISSED, state_changed_at=now, updated_at=now)
            marked = list(
                InfusionAppointment.objects.filter(
                    pk__in=ids, state=AppointmentState.MISSED, state_changed_at=now
                ).values(
                    "pk", "patient_id", "patient__care_team_id", "cycle_number", "scheduled_at"
                )
            )
            totals["infusions_missed"] += len(marked)
            specs = [
                AlertSpec(
                    dedup_key=MISSED_INFUSION_KEY.format(row["pk"]),
                    patient_id=row["patient_id"],
                    care_team_id=row["patient__care_team_id"],
                    kind=AlertKind.MISSED_INFUSION,
                    level=AlertLevel.AMBER,
                    reasons=[
                        {
                            "code": "missed_infusion",
                            "level": "amber",
                            "rule": "infusion neither given nor rescheduled 24 h after its "
                            "planned start",
                        }
                    ],
                    summary=f"Missed infusion (cycle {row['cycle_number']})",
                    details={
                        "cycle_number": row["cycle_number"],
                        "scheduled_at": _iso(row["scheduled_at"]),
                    },
                    appointment_id=row["pk"],
                )
                for row in marked
            ]
            totals["alerts_raised"] += sum(1 for r in _alerts_raise(specs, now=now) if r.created)
        if len(ids) < batch_size:
            break
    return dict(totals)


# --- escalation -------------------------------------------------------------------------------


def escalations_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """Open red and amber alerts past their deadline escalate once (escalated_at): a second,
    louder notification to the team's on-call channels (purpose escalation or both). Green
    alerts past 09:00 the next working day show as overdue on the dashboard only."""
    now = _now(now)
    escalated = 0
    while True:
        with transaction.atomic():
            candidates = Alert.objects.filter(
                status=AlertStatus.OPEN,
                escalated_at__isnull=True,
                due_by__lte=now,
                level__in=[lvl for lvl in AlertLevel.values if rules.escalates(lvl)],
            ).order_by("due_by", "pk")
            ids = _claim_ids(candidates, batch_size)
            if not ids:
                break
            Alert.objects.filter(
                pk__in=ids, status=AlertStatus.OPEN, escalated_at__isnull=True
            ).update(escalated_at=now, updated_at=now)
            claimed = list(
                Alert.objects.filter(pk__in=ids, escalated_at=now, status=AlertStatus.OPEN).only(
                    "pk", "care_team_id", "level", "due_by"
                )
            )
            _insert_events(
                [
                    _event_row(
                        alert.pk,
                        AlertEventKind.ESCALATED,
                        now,
                        {"level": alert.level, "due_by": _iso(alert.due_by)},
                    )
                    for alert in claimed
                ]
            )
            # An alert escalating a second time (its level rose) tells the on-call again.
            _deliveries_create(
                claimed,
                purpose=DeliveryPurpose.ESCALATION,
                now=now,
                renotify={alert.pk for alert in claimed},
            )
            escalated += len(claimed)
        if len(ids) < batch_size:
            break
    return {"escalated": escalated}


# --- deliveries (the outbox) ------------------------------------------------------------------


def _fallback_channels(team_ids: Iterable[int]) -> list[Channel]:
    """A team with no channel at all gets one: e-mail to its advice-line address
    (CareTeam.advice_line_email: "Where alert e-mails go when no channel is configured").
    Shown in the admin like any other channel, so it can be changed or switched off."""
    teams = CareTeam.objects.filter(pk__in=list(team_ids)).exclude(advice_line_email="")
    new = [
        Channel(
            name=FALLBACK_CHANNEL_NAME,
            care_team_id=team.pk,
            kind=ChannelKind.EMAIL,
            purpose=ChannelPurpose.BOTH,
            target=team.advice_line_email,
            min_level=AlertLevel.AMBER,
        )
        for team in teams
    ]
    return Channel.objects.bulk_create(new) if new else []


def _channels_by_team(team_ids: set[int], purpose: str) -> dict[int, list[Channel]]:
    wanted = (
        (ChannelPurpose.ALERTS, ChannelPurpose.BOTH)
        if purpose == DeliveryPurpose.ALERT
        else (ChannelPurpose.ESCALATION, ChannelPurpose.BOTH)
    )
    found = list(Channel.objects.filter(care_team_id__in=list(team_ids)))
    without = team_ids - {channel.care_team_id for channel in found}
    if without:
        found += _fallback_channels(without)
    by_team: dict[int, list[Channel]] = defaultdict(list)
    for channel in found:
        if channel.is_active and channel.purpose in wanted:
            by_team[channel.care_team_id].append(channel)
    return by_team


def _deliveries_create(
    alerts: Sequence[Alert], *, purpose: str, now: datetime, renotify: Iterable[int] = ()
) -> int:
    """Outbox rows, one per (alert, channel, purpose), in the caller's transaction; their
    sending is enqueued for after commit (and the delivery sweep sends whatever that
    missed). A channel only gets alerts at or above its minimum level.

    `renotify`: ids of alerts that may already have rows (a level rise, a second
    escalation): channels told at the lower level are told again through the same outbox
    row (its attempt log keeps every send)."""
    if not alerts:
        return 0
    by_team = _channels_by_team({alert.care_team_id for alert in alerts}, purpose)
    rows = [
        {
            "alert_id": alert.pk,
            "channel_id": channel.pk,
            "purpose": purpose,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
        }
        for alert in alerts
        for channel in by_team.get(alert.care_team_id, [])
        if rules.level_at_least(alert.level, channel.min_level)
    ]
    if not rows:
        return 0
    again: list[int] = []
    renotify = list(renotify)
    if renotify:
        again = list(
            Delivery.objects.filter(
                alert_id__in=renotify,
                purpose=purpose,
                status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED],
                channel__is_active=True,
            ).values_list("pk", flat=True)
        )
        if again:
            Delivery.objects.filter(pk__in=again).update(
                status=DeliveryStatus.PENDING, next_attempt_at=now, attempts=0, sent_at=None
            )
    if bulk.fast():
        # ON CONFLICT: a channel that already has this alert's row keeps it (see renotify).
        new = [
            pk
            for (pk,) in bulk.insert_rows(
                Delivery,
                rows,
                on_conflict="ON CONFLICT (alert_id, channel_id, purpose) "
                "WHERE alert_id IS NOT NULL DO NOTHING",
                returning=("id",),
            )
        ]
    else:
        Delivery.objects.bulk_create([Delivery(**row) for row in rows], ignore_conflicts=True)
        new = list(
            Delivery.objects.filter(
                alert_id__in=[alert.pk for alert in alerts],
                purpose=purpose,
                status=DeliveryStatus.PENDING,
                attempts=0,
            ).values_list("pk", flat=True)
        )
    ids = set(new) | set(again)
    if len(ids) > ENQUEUE_EACH_UP_TO:
        _enqueue_delivery_sweep()
    else:
        _enqueue_deliveries(sorted(ids))
    return len(ids)


def _enqueue_deliveries(ids: Iterable[int]) -> None:
    from . import tasks  # tasks import this module

    for delivery_id in ids:
        enqueue_on_commit(tasks.send_delivery, delivery_id)


def _enqueue_delivery_sweep() -> None:
    from . import tasks

    enqueue_on_commit(tasks.sweep_deliveries)


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Claim, send, record: at-least-once delivery of one outbox row.

    Claim is a conditional update (pending and due -> sending, attempts + 1) committed before
    sending, so a second worker or the sweep cannot send it at the same time; the attempt row
    is written with the claim, so a sender killed mid-send leaves an unfinished attempt that
    the sweep closes when it reclaims the delivery. Returns what happened."""
    now = _now(now)
    with transaction.atomic():
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if claimed != 1:
            return "not due"
        attempt = DeliveryAttempt.objects.create(delivery_id=delivery_id, started_at=now)
    delivery = Delivery.objects.select_related("channel__care_team", "alert").get(pk=delivery_id)
    started = time.monotonic()
    result = channels.send(delivery)
    finished = now + timedelta(seconds=time.monotonic() - started)
    return _delivery_record(delivery, attempt, result, claimed_at=now, finished=finished)


def _delivery_record(
    delivery: Delivery,
    attempt: DeliveryAttempt,
    result: channels.SendResult,
    *,
    claimed_at: datetime,
    finished: datetime,
) -> str:
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=finished, ok=result.ok, status_code=result.status_code, error=result.error
        )
        if result.ok:
            # Success stands even if the sweep reclaimed this meanwhile: marking it sent
            # spares the receiver one duplicate.
            done = (
                Delivery.objects.filter(pk=delivery.pk)
                .exclude(status=DeliveryStatus.SENT)
                .update(status=DeliveryStatus.SENT, sent_at=finished, last_error="")
            )
            Channel.objects.filter(pk=delivery.channel_id).update(
                consecutive_failures=0, last_success_at=finished
            )
            if done and delivery.alert_id:
                _event(
                    delivery.alert_id,
                    AlertEventKind.DELIVERED,
                    finished,
                    delivery_id=delivery.pk,
                    channel_id=delivery.channel_id,
                    channel_kind=delivery.channel.kind,
                    purpose=delivery.purpose,
                    attempts=delivery.attempts,
                )
            return "sent"
        mine = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at
        )
        Channel.objects.filter(pk=delivery.channel_id).update(
            consecutive_failures=F("consecutive_failures") + 1,
            last_failure_at=finished,
            last_error=result.error,
        )
        if rules.gives_up(delivery.attempts):
            gave_up = mine.update(status=DeliveryStatus.FAILED, last_error=result.error)
            if gave_up and delivery.alert_id:
                _event(
                    delivery.alert_id,
                    AlertEventKind.DELIVERY_FAILED,
                    finished,
                    delivery_id=delivery.pk,
                    channel_id=delivery.channel_id,
                    attempts=delivery.attempts,
                    error=result.error,
                )
            return "failed"
        mine.update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=finished + rules.retry_delay(delivery.attempts),
            last_error=result.error,
        )
        logger.info(
            "delivery %s via channel %s failed (attempt %s): %s",
            delivery.pk,
            delivery.channel_id,
            delivery.attempts,
            result.error,
        )
        return "retrying"


def _reclaim_stuck(now: datetime) -> int:
    """Deliveries whose sender died mid-send (worker killed) go back to pending."""
    cutoff = now - DELIVERY_STUCK_AFTER
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff)
    ids = list(stuck.values_list("pk", flat=True)[:SWEEP_BATCH])
    if not ids:
        return 0
    with transaction.atomic():
        DeliveryAttempt.objects.filter(delivery_id__in=ids, finished_at__isnull=True).update(
            finished_at=now, ok=False, error="no result recorded: the sender stopped mid-send"
        )
        note = "the sender stopped mid-send; reclaimed"
        base = Delivery.objects.filter(
            pk__in=ids, status=DeliveryStatus.SENDING, claimed_at__lt=cutoff
        )
        failed = base.filter(attempts__gte=rules.MAX_DELIVERY_ATTEMPTS).update(
            status=DeliveryStatus.FAILED, last_error=note
        )
        reclaimed = base.update(status=DeliveryStatus.PENDING, next_attempt_at=now, last_error=note)
    return reclaimed + failed


def deliveries_sweep(
    *,
    now: datetime | None = None,
    limit: int = DELIVERY_SWEEP_LIMIT,
    budget_seconds: float = DELIVERY_SWEEP_BUDGET_SECONDS,
) -> dict:
    """Reclaim deliveries stuck in "sending", then send due pending ones here, in this
    process (so `manage.py sweep` delivers even when the broker is down)."""
    now = _now(now)
    reclaimed = _reclaim_stuck(now)
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcome: Counter = Counter()
    started = time.monotonic()
    for delivery_id in due:
        if time.monotonic() - started > budget_seconds:
            outcome["left_for_next_run"] += 1
            continue
        outcome[delivery_send(delivery_id=delivery_id, now=now)] += 1
    return {
        "reclaimed": reclaimed,
        "sent": outcome["sent"],
        "retrying": outcome["retrying"],
        "failed": outcome["failed"],
        "left_for_next_run": outcome["left_for_next_run"],
    }


@transaction.atomic
def _test_delivery(channel: Channel, now: datetime) -> Delivery:
    return Delivery.objects.create(
        alert=None,
        channel=channel,
        purpose=DeliveryPurpose.TEST,
        next_attempt_at=now,
        created_at=now,
    )


def channel_send_test(*, channel: Channel, now: datetime | None = None) -> Delivery:
    """Send a test message through a channel now (admin action); recorded like any delivery."""
    now = _now(now)
    delivery = _test_delivery(channel, now)
    delivery_send(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    return delivery


# --- patient dose reminders -------------------------------------------------------------------


REMINDER_SUBJECT = "Medicine reminder"


def reminder_text(local_time: str) -> str:
    """Deliberately minimal: no drug name, no condition (a phone's lock screen is public)."""
    return (
        f"It's time for your {local_time} medicine. You can record it in the tracker: "
        f"{settings.SITE_URL}/me/"
    )


def dose_reminders_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """Remind patients who opted in (Patient.dose_reminders) when a dose falls due.

    Not repeated: each dose's reminder_sent_at is claimed with a conditional update before
    sending (at-most-once: a failed send is logged, not retried, so a reminder never comes
    twice). Held doses and off weeks have no pending dose, so they get no reminder. One
    message per patient per due time, however many doses fall due together."""
    now = _now(now)
    with transaction.atomic():
        ids = _claim_ids(
            ExpectedDose.objects.filter(
                state=DoseState.PENDING,
                reminder_sent_at__isnull=True,
                due_at__lte=now,
                due_at__gt=now - REMINDER_STALE_AFTER,
                late_until__gt=now,
                patient__dose_reminders__in=[ReminderChannel.EMAIL, ReminderChannel.SMS],
            ).order_by("due_at"),
            batch_size,
        )
        if not ids:
            return {"reminders_sent": 0, "failed": 0}
        ExpectedDose.objects.filter(
            pk__in=ids, state=DoseState.PENDING, reminder_sent_at__isnull=True
        ).update(reminder_sent_at=now)
        claimed = list(
            ExpectedDose.objects.filter(pk__in=ids, reminder_sent_at=now).values(
                "pk",
                "patient_id",
                "due_at",
                "patient__dose_reminders",
                "patient__mobile_phone",
                "patient__user__email",
                "patient__timezone",
            )
        )
    messages: dict[tuple[int, datetime], dict] = {}
    for row in claimed:
        messages.setdefault((row["patient_id"], row["due_at"]), row)
    sent = failed = 0
    for (patient_id, due_at), row in messages.items():
        local = due_at.astimezone(zoneinfo.ZoneInfo(row["patient__timezone"])).strftime("%H:%M")
        body = reminder_text(local)
        try:
            if row["patient__dose_reminders"] == ReminderChannel.SMS:
                sms.send_sms(to=row["patient__mobile_phone"], body=body)
            else:
                address = row["patient__user__email"]
                if not address:
                    raise ValueError("no e-mail address")
                send_mail(REMINDER_SUBJECT, body, None, [address], fail_silently=False)
            sent += 1
        except Exception as exc:  # noqa: BLE001 - one failed reminder must not stop others
            failed += 1
            logger.warning(
                "dose reminder for patient %s failed (%s)", patient_id, exc.__class__.__name__
            )
    return {"reminders_sent": sent, "failed": failed}
