"""What turns medication state into alerts: red and amber symptom reports (triage.md,
"Alerts from symptom reports"), "ran out of tablets" logs, missed doses (adherence.md,
"Missed-dose alerts") and missed infusions (drugs.md). Event paths (signal receivers,
tasks) give seconds-level latency; the sweeps guarantee nothing is missed when the broker
or a worker was down."""

from __future__ import annotations

import json
import logging
import zoneinfo
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from core import bulk
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
from patients.models import Patient

from .. import rules
from ..models import (
    Alert,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertOutcome,
    AlertStatus,
    DeliveryPurpose,
)
from . import missed_dose_sql, stale
from .alerts import (
    MISSED_DOSE_KEY,
    MISSED_INFUSION_KEY,
    SUPPLY_KEY,
    SYMPTOM_EPISODE_KEY,
    AlertSpec,
    _alerts_raise,
    _merge_reasons,
    episode_report_ids,
)
from .common import SWEEP_BATCH, _claim_ids, _event, _iso, _now
from .outbox import _deliveries_create, _enqueue_new_deliveries

logger = logging.getLogger(__name__)

CONSECUTIVE_LOOKBACK = rules.CONSECUTIVE_LOOKBACK
# A late "ran out of tablets" alert is still raised from logs this recent.
SUPPLY_LOOKBACK = timedelta(days=3)
AUTO_RESOLVE_NOTE = "Closed automatically: the next dose was taken on time."


def _symptom_spec(reports: list[SymptomReport], care_team_id: int) -> AlertSpec:
    """One patient's red and amber reports as one episode (checkins.md, "One open symptom
    episode per patient"): the higher level, every reason, one occurrence per report."""
    first = reports[0]
    level = (
        AlertLevel.RED
        if any(r.triage_level == AlertLevel.RED for r in reports)
        else (AlertLevel.AMBER)
    )
    reasons: list[dict] = []
    for report in reports:
        reasons = _merge_reasons(reasons, list(report.triage_reasons or []))
    last = reports[-1]
    return AlertSpec(
        dedup_key=SYMPTOM_EPISODE_KEY.format(first.patient_id),
        patient_id=first.patient_id,
        care_team_id=care_team_id,
        kind=AlertKind.SYMPTOM,
        level=level,
        reasons=reasons,
        summary=f"{level.capitalize()} symptom report",
        details={
            "reports": [report.pk for report in reports],
            "last_reported_at": _iso(last.reported_at),
            "ruleset_version": last.ruleset_version,
            "entered_by_staff": last.entered_by_staff,
        },
        occurrences=len(reports),
        symptom_report_id=first.pk,
    )


def _needs_alert(report: SymptomReport) -> bool:
    # triage.md: red and amber reports raise an alert; green raise none. checkins.md: an
    # amber report whose only amber items a nurse marked as expected raises none either.
    return report.triage_level in (AlertLevel.RED, AlertLevel.AMBER) and not report.expected_only


def _alert_of_report(report: SymptomReport) -> Alert | None:
    for alert in Alert.objects.filter(
        patient_id=report.patient_id, kind=AlertKind.SYMPTOM
    ).order_by("-pk")[:50]:
        if report.pk in episode_report_ids(alert):
            return alert
    return None


@transaction.atomic
def symptom_report_alert_raise(*, report: SymptomReport, now: datetime | None = None):
    """A red or amber report joins its patient's open, unacknowledged symptom alert, or
    opens one (checkins.md): level the higher of the two, reasons and the report added,
    occurrences counted, the team notified again only when the level rises. One report
    counts once however often it is raised (report.alert_raised_at, read under the report's
    row lock). Green: nothing. Returns the alert or None."""
    if not _needs_alert(report):
        return None
    now = _now(now)
    # The report's row lock first, then the alert: the same order as the sweep (which locks
    # the reports it raises), so the two never wait for each other in a circle.
    raised_at = (
        SymptomReport.objects.select_for_update()
        .filter(pk=report.pk)
        .values_list("alert_raised_at", flat=True)
        .first()
    )
    if raised_at is not None:
        report.alert_raised_at = raised_at
        return _alert_of_report(report)
    care_team_id = Patient.objects.values_list("care_team_id", flat=True).get(pk=report.patient_id)
    result = _alerts_raise([_symptom_spec([report], care_team_id)], now=now)[0]
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
                triage_level__in=[AlertLevel.RED, AlertLevel.AMBER],
                alert_raised_at__isnull=True,
                expected_only=False,
            )
            .select_related("patient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("reported_at")[:limit]
        )
        if not reports:
            return {"reports": 0, "alerts_raised": 0, "failed": 0}
        try:
            with transaction.atomic():
                by_patient: dict[int, list[SymptomReport]] = defaultdict(list)
                for report in reports:
                    by_patient[report.patient_id].append(report)
                results = _alerts_raise(
                    [
                        _symptom_spec(group, group[0].patient.care_team_id)
                        for group in by_patient.values()
                    ],
                    now=now,
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


def _ran_out(log: DoseLog) -> bool:
    return log.action == DoseAction.SKIPPED and log.reason == SkipReason.RAN_OUT


def _may_close_alerts(dose: ExpectedDose) -> bool:
    # The hint comes with the dose's locked read; without it, look.
    return dose.state in (DoseState.TAKEN, DoseState.TAKEN_LATE) and getattr(
        dose, stale.ALERTS_HINT, True
    )


def dose_log_alerts_needed(*, log: DoseLog, dose: ExpectedDose) -> bool:
    """Has dose_log_alerts_update anything to do? Answered without a query, so the receiver
    opens its savepoint only for the few logs that touch alerts."""
    return _ran_out(log) or _may_close_alerts(dose)


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
    if _ran_out(log):
        row = ExpectedDose.objects.values(*DOSE_FIELDS).get(pk=dose.pk)
        result = _alerts_raise([_supply_spec(log_id=log.pk, dose=row)], now=now)[0]
        summary["supply_alert"] = result.alert.pk
    if _may_close_alerts(dose):
        # Stale alerts (services/stale.py): one query finds the missed-dose and supply alerts.
        missed, supply = stale.taken_dose_alerts(dose=dose)
        summary["supply_resolved"] = stale.supply_alerts_close(
            dose=dose, log=log, alerts=supply, now=now
        )
        summary["late_log_noted"] = stale.missed_dose_alert_note_late_log(
            dose=dose, log=log, alert=missed, now=now
        )
        if dose.state == DoseState.TAKEN:
            summary["auto_resolved"] = _close_green_missed_dose_alert(
                dose=dose, now=now, alert=missed
            )
    return summary


def _close_green_missed_dose_alert(
    *, dose: ExpectedDose, now: datetime, alert: Alert | None = None
) -> int | None:
    """`alert`: the prescription's unresolved missed-dose alert, already read."""
    if alert is None or alert.status != AlertStatus.OPEN or alert.level != AlertLevel.GREEN:
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


def _mark_and_raise_in_sql(
    now: datetime, batch_size: int, totals: Counter
) -> tuple[int, list[AlertSpec]]:
    """A batch of overdue doses claimed and marked missed, their new alerts raised and their
    open alerts merged into (with events and outbox rows), in one statement; returns how many
    doses were claimed and the graded problems left for _alerts_raise (an alert resolved
    with its key kept, or inserted by another sweep meanwhile)."""
    marked = missed_dose_sql.mark_and_raise(now, batch_size)
    totals["doses_missed"] += sum(row[3] for row in (*marked.created, *marked.merged)) + sum(
        row[3] for row in marked.existing
    )
    totals["alerts_raised"] += len(marked.created)
    totals["alerts_updated"] += len(marked.merged)
    totals["amber"] += sum(
        1 for row in (*marked.created, *marked.merged) if row[2] != AlertLevel.GREEN
    )
    _enqueue_new_deliveries(marked.delivery_ids)
    # A team with no channel at all: the outbox gives it its fallback channel.
    _deliveries_create(
        [
            SimpleNamespace(pk=pk, care_team_id=team, level=level)
            for pk, team, level, _raised in marked.without_channels
        ],
        purpose=DeliveryPurpose.ALERT,
        now=now,
        renotify=[pk for pk, _team, _level, raised in marked.without_channels if raised],
    )
    return marked.claimed, [
        AlertSpec(
            dedup_key=key,
            patient_id=patient_id,
            care_team_id=team,
            kind=AlertKind.MISSED_DOSE,
            level=level,
            reasons=json.loads(reasons),
            summary=summary,
            details=json.loads(details),
            occurrences=n,
            prescription_id=pid,
        )
        for pid, team, level, n, patient_id, key, reasons, details, summary in marked.existing
    ]


def missed_doses_sweep(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH) -> dict:
    """Pending doses whose late window has closed become missed, and each prescription's
    missed-dose alert is raised or updated in the same transaction (adherence.md):

    - at most one open missed-dose alert per prescription; further misses add occurrences
      and dates and may raise the level, never a second alert;
    - green for a single miss; amber when the two most recent expected doses are both
      missed, or dose-taking adherence over the last 7 days is below 80%;
    - skipped and held doses are never pending past their window, so they raise nothing.

    Set-based: per batch a fixed number of queries. PostgreSQL: one statement claims, marks,
    grades and raises the new alerts with their events and outbox rows
    (missed_dose_sql.py), then the alerts that already exist are merged. Other databases:
    claim, update, re-read, three grouped reads, bulk writes. Safe to run twice or
    concurrently."""
    now = _now(now)
    totals = Counter(doses_missed=0, alerts_raised=0, alerts_updated=0, amber=0)
    while True:
        with transaction.atomic():
            if bulk.fast():  # PostgreSQL: one statement (missed_dose_sql.py)
                claimed, specs = _mark_and_raise_in_sql(now, batch_size, totals)
            else:
                ids = _overdue_doses(now, batch_size)
                claimed = len(ids)
                marked = _mark_missed(ids, now) if ids else []
                totals["doses_missed"] += len(marked)
                specs = _missed_dose_specs(marked, now) if marked else []
            if specs:
                for result in _alerts_raise(specs, now=now):
                    if result.created:
                        totals["alerts_raised"] += 1
                    elif result.changed:
                        totals["alerts_updated"] += 1
                    if result.alert.level != AlertLevel.GREEN:
                        totals["amber"] += 1
        if claimed < batch_size:
            break
    return dict(totals)


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
