"""Alerts: raise (deduplicated, merged, level only rises), acknowledge, resolve and escalate.

Guarantees (docs/alerts.md):

- One alert per problem. `Alert.dedup_key` is unique: "symptom_report:<id>" and
  "supply:dose_log:<id>" are kept forever (one alert per report / per log, however often it
  is raised); "missed_dose:prescription:<id>" and "missed_infusion:appointment:<id>" are
  cleared when the alert is resolved (one OPEN alert per prescription / appointment).
- The state change, the alert, its events and its Delivery rows (the outbox) are written in
  one transaction. Sending happens after commit, at least once.
- Transitions are conditional updates (`filter(pk=..., status=old).update(...)`, count
  checked): sweeps may run twice or concurrently; only the process that changed a row acts.
- A level may rise on an unresolved alert (its deadline tightens), never silently fall."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction

from core import bulk
from medications.models import (
    SymptomReport,
)
from medications.symptoms import services as symptom_services
from patients.models import Patient

from .. import rules
from ..models import (
    LEVEL_RANK,
    Alert,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertOutcome,
    AlertStatus,
    DeliveryPurpose,
)
from .common import SWEEP_BATCH, _claim_ids, _event, _event_row, _insert_events, _iso, _now
from .outbox import _deliveries_create
from .outcomes import OutcomeRequest, outcome_act

# Details lists (missed dose dates) keep the most recent entries only.
DETAILS_LIST_LIMIT = 60
MISSED_DOSE_KEY = "missed_dose:prescription:{}"
MISSED_INFUSION_KEY = "missed_infusion:appointment:{}"
# Before episodes, one alert per report; old alerts keep these keys.
SYMPTOM_KEY = "symptom_report:{}"
# checkins.md, "One open symptom episode per patient": red and amber reports join the
# patient's open, unacknowledged symptom alert; the key is cleared when it is acknowledged
# (new information needs fresh eyes) or resolved.
SYMPTOM_EPISODE_KEY = "symptom_episode:patient:{}"
SUPPLY_KEY = "supply:dose_log:{}"
# checkins.md: one open "check-in not done" alert per patient.
MISSED_CHECK_IN_KEY = "missed_check_in:patient:{}"
# Keys cleared on resolve: the next miss may open a new alert. The others are kept forever.
KEYS_CLEARED_ON_RESOLVE = (
    "missed_dose:",
    "missed_infusion:",
    "symptom_episode:",
    "missed_check_in:",
)
KEYS_CLEARED_ON_ACKNOWLEDGE = ("symptom_episode:",)


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


def _canonical(item) -> str:
    return json.dumps(item, sort_keys=True, cls=DjangoJSONEncoder)


def _merge_details(old: dict, new: dict) -> dict:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, list) and isinstance(merged.get(key), list):
            # Compared whatever their keys' order (PostgreSQL's jsonb reorders an object's keys).
            seen = {_canonical(item) for item in merged[key]}
            combined = merged[key] + [item for item in value if _canonical(item) not in seen]
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


def episode_report_ids(alert: Alert) -> list[int]:
    """The symptom reports of an alert: every report of its episode (details["reports"]),
    or its one report for an alert raised before episodes."""
    ids = [int(pk) for pk in (alert.details or {}).get("reports") or []]
    if alert.symptom_report_id and alert.symptom_report_id not in ids:
        ids.insert(0, alert.symptom_report_id)
    return ids


def _symptom_episode_acknowledged(alert_id: int, now: datetime) -> None:
    """An acknowledged episode takes no more reports (its key is freed, so the next red or
    amber report opens a new alert), and each of its reports is now "seen" by the team."""
    Alert.objects.filter(pk=alert_id, dedup_key__startswith=KEYS_CLEARED_ON_ACKNOWLEDGE[0]).update(
        dedup_key=None
    )
    alert = Alert.objects.only("pk", "details", "symptom_report_id").get(pk=alert_id)
    if alert.symptom_report_id:
        symptom_services.symptom_reports_mark_seen(report_ids=episode_report_ids(alert), at=now)


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user, now: datetime | None = None) -> Alert:
    """Open -> acknowledged, with who and when. Acknowledging twice changes nothing."""
    now = _now(now)
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user, updated_at=now
    )
    if updated:
        _event(alert.pk, AlertEventKind.ACKNOWLEDGED, now, actor=user)
        _symptom_episode_acknowledged(alert.pk, now)
    else:
        status = Alert.objects.values_list("status", flat=True).get(pk=alert.pk)
        if status == AlertStatus.RESOLVED:
            raise ValidationError({"non_field_errors": ["This alert is already resolved."]})
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_resolve(
    *,
    alert: Alert,
    user,
    outcome: str,
    note: str,
    message_to_patient: str = "",
    prescription_ids: Sequence[int] = (),
    dose_mg=None,
    ladder_step: str = "",
    attend_at: datetime | None = None,
    end_follow_up: bool = False,
    now: datetime | None = None,
) -> Alert:
    """Open or acknowledged -> resolved, with the outcome, a note, who and when (triage.md:
    "The nurse closes an alert with an outcome ... and a note"). The same request repeated
    answers the same; resolving a resolved alert otherwise is refused. A symptom report's
    patient is told the outcome in plain words, with the nurse's optional message
    (checkins.md, "Telling the patient"); the note stays internal.

    Outcomes that act (services/outcomes.py): "treatment_held" holds `prescription_ids`,
    "dose_reduced" moves one prescription down its ladder to `dose_mg`, with the note as the
    reason, in this transaction; "same_day_assessment" keeps `attend_at`."""
    now = _now(now)
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in AlertOutcome.values:
        errors["outcome"] = [f"Choose one of: {', '.join(AlertOutcome.values)}."]
    if not note:
        errors["note"] = ["Say what was done (a short note)."]
    elif len(note) > 4000:
        errors["note"] = ["Keep the note under 4000 characters."]
    if len((message_to_patient or "").strip()) > 500:
        errors["message_to_patient"] = ["Keep the message to the patient under 500 characters."]
    if errors:
        raise ValidationError(errors)
    current = (
        Alert.objects.select_for_update(of=("self",)).select_related("patient").get(pk=alert.pk)
    )
    if current.status == AlertStatus.RESOLVED:
        if (
            current.outcome == outcome
            and current.resolution_note == note
            and current.resolved_by_id == getattr(user, "pk", None)
        ):
            alert.refresh_from_db()
            return alert
        raise ValidationError({"non_field_errors": ["This alert is already resolved."]})
    if (message_to_patient or "").strip() and not current.symptom_report_id:
        # The patient reads the message on their report; other alerts have none to carry it.
        raise ValidationError({"message_to_patient": ["Only for an alert from a symptom report."]})
    done = outcome_act(
        alert=current,
        outcome=outcome,
        note=note,
        request=OutcomeRequest(
            prescription_ids=list(prescription_ids or ()),
            dose_mg=dose_mg,
            ladder_step=ladder_step or "",
            attend_at=attend_at,
            end_follow_up=bool(end_follow_up),
        ),
        user=user,
        now=now,
    )
    updates = {
        "status": AlertStatus.RESOLVED,
        "attend_at": done.attend_at,
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
    _event(
        alert.pk,
        AlertEventKind.RESOLVED,
        now,
        actor=user,
        outcome=outcome,
        was=current.status,
        **done.event,
    )
    if current.symptom_report_id:
        symptom_services.symptom_reports_mark_closed(
            report_ids=episode_report_ids(current),
            at=now,
            outcome_text=done.patient_words or rules.patient_outcome_words(outcome),
            message_to_patient=message_to_patient,
        )
    alert.refresh_from_db()
    return alert


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
