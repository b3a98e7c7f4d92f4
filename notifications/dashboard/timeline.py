"""One patient's timeline: doses, symptom reports, alerts and clinical decisions, newest
first, in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from medications.models import (
    AppointmentState,
    DoseState,
    ExpectedDose,
    InfusionAppointment,
    PrescriptionEvent,
    SkipReason,
    SymptomReport,
)
from medications.symptoms import triage
from patients.models import Patient

from ..models import (
    Alert,
    AlertStatus,
)
from .words import ReasonLine, alert_reasons, reason_lines

TIMELINE_DAYS = 28
TIMELINE_PAGE_SIZE = 30


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # dose / report / infusion / alert / treatment
    kind_label: str
    title: str
    detail: str = ""
    level: str = ""  # red / amber / green: colours the entry
    state: str = ""  # a css hint: taken / missed / held ...
    url: str = ""
    reasons: tuple[ReasonLine, ...] = ()


DOSE_STATE_WORDS = {
    DoseState.TAKEN: "Taken",
    DoseState.TAKEN_LATE: "Taken late, outside the safe window",
    DoseState.SKIPPED: "Not taken",
    DoseState.MISSED: "Missed",
    DoseState.HELD: "Held",
    "due": "Due now",
}
SKIP_REASON_WORDS = {
    SkipReason.FORGOT: "forgot",
    SkipReason.SIDE_EFFECTS: "side effects",
    SkipReason.UNWELL: "felt unwell",
    SkipReason.VOMITED: "vomited",
    SkipReason.RAN_OUT: "ran out of tablets",
    SkipReason.TOLD_TO_STOP: "told to stop by the team",
    SkipReason.OTHER: "other reason",
}


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    has_more: bool
    shown: int
    since: datetime


def patient_timeline(
    patient: Patient,
    *,
    now: datetime,
    limit: int = TIMELINE_PAGE_SIZE,
    rules: Mapping[str, Any],
    alert_url,
    days: int = TIMELINE_DAYS,
) -> Timeline:
    """Doses, symptom reports (with their triage), infusions, alerts and treatment decisions
    of the last `days` days, newest first. Five queries whatever the history: each source
    reads at most `limit + 1` rows (newest first), which is all a merged first `limit`
    entries can need."""
    since = now - timedelta(days=days)
    take = limit + 1
    entries: list[TimelineEntry] = []

    doses = (
        ExpectedDose.objects.filter(patient=patient, due_at__gte=since, due_at__lte=now)
        .select_related("prescription__drug")
        .order_by("-due_at", "-id")[:take]
    )
    for dose in doses:
        state = dose.display_state(now)
        if state == "upcoming":
            continue
        when = dose.taken_at if state in (DoseState.TAKEN, DoseState.TAKEN_LATE) else None
        detail = DOSE_STATE_WORDS.get(state, state)
        if when:
            detail += f" at {timezone.localtime(when, patient.zone):%H:%M}"
            if dose.logged_later:
                detail += ", logged later"
        if dose.skip_reason:
            detail += f" ({SKIP_REASON_WORDS.get(dose.skip_reason, dose.skip_reason)})"
        entries.append(
            TimelineEntry(
                at=dose.due_at,
                kind="dose",
                kind_label="Dose",
                title=f"{dose.prescription.drug.name} {dose.dose_mg.normalize():f} mg",
                detail=detail,
                state=state,
                level={"missed": "amber", "skipped": "amber"}.get(state, ""),
            )
        )

    reports = SymptomReport.objects.filter(patient=patient, reported_at__gte=since).order_by(
        "-reported_at", "-id"
    )[:take]
    for report in reports:
        reported = [
            item
            for item in (report.symptoms if isinstance(report.symptoms, list) else [])
            if isinstance(item, dict) and item.get("grade")
        ]
        words = []
        for item in reported:
            try:
                label = triage.item_label(rules, str(item.get("code")))
            except (KeyError, TypeError):
                label = str(item.get("code"))
            words.append(f"{label} {item.get('grade')}")
        if report.temperature_c is not None:
            words.append(f"temperature {report.temperature_c} °C")
        if report.systolic_bp is not None:
            words.append(f"BP {report.systolic_bp}/{report.diastolic_bp}")
        level = report.triage_level or ""
        # The level shows as a coloured label with its name beside the title.
        title = "Symptom report" if level else "Symptom report (not graded yet)"
        if report.expected_only:
            # checkins.md: an amber report of expected items only raised no alert.
            title = "Symptom report (expected: no alert raised)"
        entries.append(
            TimelineEntry(
                at=report.reported_at,
                kind="report",
                kind_label="Symptoms",
                title=title,
                detail="; ".join(words) or "Nothing above grade 0",
                level=level,
                reasons=tuple(reason_lines(report.triage_reasons, rules, report)),
            )
        )

    appointments = (
        InfusionAppointment.objects.filter(patient=patient, scheduled_at__gte=since)
        .filter(Q(scheduled_at__lte=now) | Q(given_at__isnull=False))
        .order_by("-scheduled_at", "-id")[:take]
    )
    for appointment in appointments:
        at = appointment.given_at or appointment.scheduled_at
        state = appointment.state
        detail = appointment.get_state_display()
        if appointment.reschedule_reason:
            detail += f"; moved: {appointment.reschedule_reason}"
        drugs = " + ".join(d.get("drug", "") for d in appointment.doses or [] if d.get("drug"))
        entries.append(
            TimelineEntry(
                at=at,
                kind="infusion",
                kind_label="Infusion",
                title=f"Infusion cycle {appointment.cycle_number}"
                + (f": {drugs}" if drugs else ""),
                detail=detail,
                state=state,
                level="amber" if state == AppointmentState.MISSED else "",
            )
        )

    alerts = (
        Alert.objects.filter(patient=patient, created_at__gte=since)
        .select_related("acknowledged_by", "resolved_by", "symptom_report")
        .order_by("-created_at", "-id")[:take]
    )
    for alert in alerts:
        detail = alert.get_status_display()
        if alert.status == AlertStatus.RESOLVED and alert.outcome:
            detail += f": {alert.get_outcome_display()}"
        entries.append(
            TimelineEntry(
                at=alert.created_at,
                kind="alert",
                kind_label="Alert",
                title=f"Alert: {alert.get_kind_display()}",
                detail=detail,
                level=alert.level,
                url=alert_url(alert.pk),
                reasons=tuple(alert_reasons(alert, rules)),
            )
        )

    events = (
        PrescriptionEvent.objects.filter(prescription__patient=patient, effective_at__gte=since)
        .select_related("prescription__drug", "recorded_by")
        .order_by("-effective_at", "-id")[:take]
    )
    for event in events:
        detail = event.reason
        if event.kind == "dose_change" and event.data.get("dose_mg"):
            detail = f"to {event.data['dose_mg']} mg: {event.reason}"
        entries.append(
            TimelineEntry(
                at=event.effective_at,
                kind="treatment",
                kind_label="Treatment",
                title=f"{event.prescription.drug.name}: {event.get_kind_display().lower()}",
                detail=detail,
                state=event.kind,
            )
        )

    entries.sort(key=lambda e: e.at, reverse=True)
    return Timeline(
        entries=entries[:limit], has_more=len(entries) > limit, shown=limit, since=since
    )
