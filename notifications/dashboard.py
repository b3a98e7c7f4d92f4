"""Reads for the advice-line nurse dashboard (the queue, the alert page, the patient page).

Page-specific read helpers, always scoped to what the signed-in nurse may see (their care
teams; an admin sees all; anything else is a 404). Each page reads a fixed number of
queries however many alerts, doses or reports there are: every list here is one query
with its joins, limited to what the page shows, and the rest is done in memory.

Clinical rules shown here: ../shared/clinical/triage.md ("Alerts from symptom reports":
red acknowledged within 30 minutes, amber within 4 hours, overdue shown as such) and
adherence.md (dose states, adherence measures).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from medications import ladders
from medications.models import (
    AppointmentState,
    CourseStatus,
    DoseState,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
    PrescriptionStatus,
    Route,
    SkipReason,
    SymptomReport,
)
from medications.symptoms import triage
from patients.models import Patient, Role
from patients.roles import role_of, team_ids_for
from patients.selectors import visible_to

from . import selectors
from .models import (
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertKind,
    AlertLevel,
    AlertOutcome,
    AlertStatus,
    Channel,
)

QUEUE_PAGE_SIZE = 25
PATIENTS_PAGE_SIZE = 25
TIMELINE_DAYS = 28
TIMELINE_PAGE_SIZE = 30
CALENDAR_DAYS = 28
# How many newly raised red alerts the banner names; more are counted.
BANNER_NAMES = 3


# --- scope ----------------------------------------------------------------------------------


def is_staff_member(user) -> bool:
    return role_of(user) in (Role.NURSE, Role.ADMIN)


def sees_several_teams(user) -> bool:
    return role_of(user) == Role.ADMIN or len(team_ids_for(user)) > 1


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts of the user's care teams (the team an alert was raised for); admin: all."""
    return selectors.alerts_visible_to(user)


def _pk(value) -> int:
    pk = int(value)
    if not 0 < pk < 2**63:
        raise ValueError(pk)
    return pk


def alert_for(user, alert_id) -> Alert:
    """One alert with its history and deliveries (notifications.selectors.alert_for), or a
    404 outside the user's teams."""
    try:
        pk = _pk(alert_id)
    except (ValueError, TypeError) as exc:
        raise Http404("No such alert.") from exc
    return selectors.alert_for(user, pk)


# --- the queue ------------------------------------------------------------------------------

# Filter values of "status": the default shows what still needs someone.
STATUS_ACTIVE = "active"
STATUS_ALL = "all"
STATUS_FILTERS = {
    STATUS_ACTIVE: (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
    AlertStatus.OPEN.value: (AlertStatus.OPEN,),
    AlertStatus.ACKNOWLEDGED.value: (AlertStatus.ACKNOWLEDGED,),
    AlertStatus.RESOLVED.value: (AlertStatus.RESOLVED,),
    STATUS_ALL: (),
}

# Red before amber before green (triage.md: red is the most urgent), then oldest first.
LEVEL_ORDER = Case(
    When(level=AlertLevel.RED, then=Value(0)),
    When(level=AlertLevel.AMBER, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class QueueFilters:
    team_id: int | None = None
    level: str = ""
    kind: str = ""
    status: str = STATUS_ACTIVE
    search: str = ""


def _search_filter(search: str, prefix: str = "patient__") -> Q:
    """Every word must match the given name, family name or NHS number (spaces in an NHS
    number are ignored: nurses read it out as 3-3-4)."""
    condition = Q()
    compact = search.replace(" ", "").replace("-", "")
    if compact.isdigit():
        return Q(**{f"{prefix}nhs_number__contains": compact})
    for word in search.split():
        condition &= (
            Q(**{f"{prefix}given_name__icontains": word})
            | Q(**{f"{prefix}family_name__icontains": word})
            | Q(**{f"{prefix}nhs_number__contains": word})
        )
    return condition


def alert_queue(user, filters: QueueFilters) -> QuerySet[Alert]:
    """The queue (notifications.selectors.alert_queue_for: red, amber, green, oldest first
    within a level, with its joins), narrowed by team and a name or NHS number search."""
    statuses = STATUS_FILTERS.get(filters.status, STATUS_FILTERS[STATUS_ACTIVE])
    qs = selectors.alert_queue_for(
        user,
        status=list(statuses) if statuses else list(AlertStatus.values),
        level=filters.level or None,
        kind=filters.kind or None,
    )
    if filters.team_id:
        qs = qs.filter(care_team_id=filters.team_id)
    if filters.search.strip():
        qs = qs.filter(_search_filter(filters.search.strip()))
    return qs


def queue_counts(alerts: QuerySet[Alert], now: datetime) -> dict[str, Any]:
    """How many of the filtered queue are at each level (red first) and how many are
    overdue (open past their deadline): one query."""
    totals = alerts.order_by().aggregate(
        red=Count("id", filter=Q(level=AlertLevel.RED)),
        amber=Count("id", filter=Q(level=AlertLevel.AMBER)),
        green=Count("id", filter=Q(level=AlertLevel.GREEN)),
        overdue=Count("id", filter=Q(status=AlertStatus.OPEN, due_by__lte=now)),
    )
    return {
        "levels": [(level, totals[level]) for level in LEVEL_RANKED if totals[level]],
        "overdue": totals["overdue"],
    }


LEVEL_RANKED = (AlertLevel.RED, AlertLevel.AMBER, AlertLevel.GREEN)


def latest_red_alert_id(user) -> int:
    """The newest red alert the user can see: the live queue announces any newer one."""
    return alerts_visible_to(user).filter(level=AlertLevel.RED).aggregate(m=Max("id"))["m"] or 0


def new_red_alerts(user, after_id: int, limit: int = 50) -> list[Alert]:
    """Open red alerts raised since the page was opened (id above `after_id`), oldest
    first; an alert leaves this list once someone acknowledges it."""
    return list(
        alerts_visible_to(user)
        .filter(level=AlertLevel.RED, status=AlertStatus.OPEN, id__gt=after_id)
        .select_related("patient", "symptom_report")
        .order_by("id")[:limit]
    )


def failing_channels(user) -> list[Channel]:
    """Delivery channels of the user's teams that keep failing: alerts may not be reaching
    the on-call phone or inbox, so the queue says so (notifications.selectors)."""
    return list(selectors.failing_channels_for(user))


# --- words for reasons, ages and deadlines ----------------------------------------------------

RULE_WORDS = {
    triage.RULE_RED_FLAG: "red flag",
    triage.RULE_TWO_AMBERS: "two or more amber items in one report",
    triage.RULE_REPEAT_AMBER: "amber again within {hours} hours",
    triage.RULE_IMMUNOTHERAPY: "amber on immunotherapy (atezolizumab)",
    triage.RULE_BP_WITH_HEADACHE: "raised blood pressure with headache",
}


@dataclass(frozen=True)
class ReasonLine:
    label: str  # "Diarrhoea", "Temperature"
    detail: str  # "grade 3: 7 or more stools a day more than usual", "38.4 °C"
    level: str  # red / amber / green / ""
    rule: str  # in words: "red flag symptom", "" for a plain grade
    brief: str = ""  # the detail in a few words, for the queue: "grade 3", "38.4 °C"

    @property
    def short(self) -> str:
        text = f"{self.label}, {self.brief}" if self.brief else self.label
        return f"{text} ({self.rule})" if self.rule else text


def _rule_words(rule: str, rules: Mapping[str, Any]) -> str:
    words = RULE_WORDS.get(rule, "")
    if "{hours}" in words:
        hours = rules.get("combination_rules", {}).get("repeat_amber", {}).get("window_hours", 48)
        words = words.format(hours=hours)
    return words


def _grade_detail(code: str, grade: int | None, rules: Mapping[str, Any]) -> str:
    if grade is None:
        return ""
    graded = rules.get("graded_symptoms", {}).get(code)
    if graded is not None:
        grades = graded.get("grades") or []
        meaning = grades[grade] if 0 <= grade < len(grades) else ""
        return f"grade {grade}: {meaning}" if meaning else f"grade {grade}"
    flag = rules.get("red_flags", {}).get(code)
    if flag is not None:
        return flag.get("meaning", "")
    return ""


def _report_figures(report: SymptomReport | None) -> tuple[dict[str, int], dict[str, str]]:
    grades: dict[str, int] = {}
    figures: dict[str, str] = {}
    if report is None:
        return grades, figures
    for item in report.symptoms if isinstance(report.symptoms, list) else []:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            try:
                grades[item["code"]] = int(item.get("grade"))
            except (TypeError, ValueError):
                continue
    if report.temperature_c is not None:
        figures["temperature"] = f"{report.temperature_c} °C"
    if report.systolic_bp is not None and report.diastolic_bp is not None:
        figures["blood_pressure"] = f"{report.systolic_bp}/{report.diastolic_bp} mmHg"
    return grades, figures


TRIAGE_RULES = {
    triage.RULE_GRADE,
    triage.RULE_RED_FLAG,
    triage.RULE_TWO_AMBERS,
    triage.RULE_REPEAT_AMBER,
    triage.RULE_IMMUNOTHERAPY,
    triage.RULE_BP_WITH_HEADACHE,
}


def _is_triage_reason(code: str, rule: str, rules: Mapping[str, Any]) -> bool:
    if rule in TRIAGE_RULES or code == triage.REPORT:
        return True
    return any(
        code in (rules.get(section) or {})
        for section in ("graded_symptoms", "red_flags", "measurements")
    )


def reason_lines(
    reasons: Any, rules: Mapping[str, Any], report: SymptomReport | None = None
) -> list[ReasonLine]:
    """An alert's or report's reasons in words: the symptom labels of the triage rules, the
    grade the patient chose and what it means, and the combination rule that applied."""
    grades, figures = _report_figures(report)
    lines: list[ReasonLine] = []
    for reason in reasons if isinstance(reasons, list) else []:
        if isinstance(reason, str):
            lines.append(ReasonLine(reason, "", "", ""))
            continue
        if not isinstance(reason, Mapping):
            continue
        text = reason.get("text") or reason.get("message") or reason.get("label")
        code = reason.get("code")
        level = str(reason.get("level") or "")
        if text and not code:
            lines.append(ReasonLine(str(text), "", level, ""))
            continue
        if not code:
            continue
        code = str(code)
        rule = str(reason.get("rule") or "")
        if not _is_triage_reason(code, rule, rules):
            # Alerts from the sweeps (missed doses, infusions, supply) say why in words.
            words = rule or str(text or "") or code.replace("_", " ")
            lines.append(ReasonLine(words[:1].upper() + words[1:], "", level, ""))
            continue
        try:
            label = triage.item_label(rules, code)
        except (KeyError, TypeError):
            label = code
        if code in figures:
            detail = brief = figures[code]
        else:
            detail = _grade_detail(code, grades.get(code), rules)
            # A red flag's meaning repeats its name; a grade is enough in the queue.
            brief = detail.split(":")[0] if code in (rules.get("graded_symptoms") or {}) else ""
        lines.append(ReasonLine(label, detail, level, _rule_words(rule, rules), brief))
    return lines


def duration_words(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} {hours} h" if hours else f"{days} {unit}"


@dataclass
class QueueRow:
    alert: Alert
    reasons: list[ReasonLine]
    age: str
    due_text: str
    overdue: bool

    @property
    def level_label(self) -> str:
        return self.alert.get_level_display()


def alert_reasons(alert: Alert, rules: Mapping[str, Any]) -> list[ReasonLine]:
    report = alert.symptom_report if "symptom_report" in alert._state.fields_cache else None
    lines = reason_lines(alert.reasons, rules, report)
    if not lines and alert.summary:
        lines = [ReasonLine(alert.summary, "", alert.level, "")]
    return lines


def deadline_words(alert: Alert, now: datetime) -> tuple[str, bool]:
    """(words, overdue). The deadline is for acknowledging (red 30 min, amber 4 h)."""
    if alert.status == AlertStatus.RESOLVED:
        return "Resolved", False
    if alert.status == AlertStatus.ACKNOWLEDGED:
        if alert.acknowledged_at and alert.acknowledged_at > alert.due_by:
            return "Acknowledged late", False
        return "Acknowledged in time", False
    left = alert.due_by - now
    if left <= timedelta(0):
        return f"Overdue by {duration_words(left)}", True
    return f"{duration_words(left)} left", False


def queue_rows(alerts: Iterable[Alert], rules: Mapping[str, Any], now: datetime) -> list[QueueRow]:
    rows = []
    for alert in alerts:
        due_text, overdue = deadline_words(alert, now)
        rows.append(
            QueueRow(
                alert=alert,
                reasons=alert_reasons(alert, rules),
                age=duration_words(now - alert.created_at),
                due_text=due_text,
                overdue=overdue,
            )
        )
    return rows


def rules_for_labels() -> Mapping[str, Any]:
    """The active triage rule set (its labels name symptoms in plain English)."""
    from medications.symptoms.selectors import active_rules

    try:
        return active_rules()
    except Exception:  # noqa: BLE001 - no active rule set yet: the product defaults
        from medications.symptoms.rules import DEFAULT_RULES

        return DEFAULT_RULES


def event_words(event: AlertEvent, channel_names: Mapping[int, str]) -> str:
    """An alert event's details in words (the data the services record, without ids)."""
    data = event.data or {}
    kind = event.kind
    parts: list[str] = []
    if kind == AlertEventKind.CREATED:
        if data.get("level"):
            parts.append(f"{str(data['level']).capitalize()} alert")
    elif kind == AlertEventKind.LEVEL_RAISED:
        parts.append(f"From {data.get('from', '?')} to {data.get('to', '?')}")
        if data.get("reopened"):
            parts.append("its acknowledgement no longer covers it: open again")
    elif kind == AlertEventKind.UPDATED:
        if data.get("added"):
            parts.append(f"{data['added']} more (now {data.get('occurrences')})")
        if data.get("reasons_added"):
            parts.append(
                "new: " + ", ".join(str(code).replace("_", " ") for code in data["reasons_added"])
            )
    elif kind == AlertEventKind.RESOLVED:
        outcome = data.get("outcome")
        if outcome in AlertOutcome.values:
            parts.append(AlertOutcome(outcome).label)
        if data.get("automatic"):
            parts.append("closed automatically")
    elif kind == AlertEventKind.ESCALATED:
        parts.append("Sent to the on-call channel")
    elif kind in (AlertEventKind.DELIVERED, AlertEventKind.DELIVERY_FAILED):
        channel = channel_names.get(data.get("channel_id"))
        if channel:
            parts.append(channel)
        if data.get("attempts"):
            attempts = data["attempts"]
            parts.append(f"{attempts} attempt{'s' if attempts != 1 else ''}")
        if data.get("error"):
            parts.append(str(data["error"])[:120])
    return "; ".join(parts)


# --- patients list --------------------------------------------------------------------------


def patients_for_list(user, search: str = "") -> QuerySet[Patient]:
    qs = visible_to(user, Patient.objects.select_related("care_team"), patient_path=None)
    if search.strip():
        qs = qs.filter(_search_filter(search.strip(), prefix=""))
    return qs.order_by("family_name", "given_name", "id")


def open_alert_counts(patient_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """patient id -> {level: number of unresolved alerts}: one query for a page."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        Alert.objects.unresolved()
        .filter(patient_id__in=list(patient_ids))
        .values_list("patient_id", "level")
    )
    for patient_id, level in rows:
        counts[patient_id][level] = counts[patient_id].get(level, 0) + 1
    return counts


# --- the patient page -----------------------------------------------------------------------

# triage.md / drugs.md: regorafenib and cabozantinib are second line after sorafenib;
# atezolizumab + bevacizumab is one first-line regimen (so it counts once).
REGIMEN_OF = {"bevacizumab": "atezolizumab"}
ORDINALS = ["First", "Second", "Third", "Fourth", "Fifth"]


@dataclass
class TreatmentLine:
    number: int | None
    words: str  # "Second line"
    current: list[str]  # drug names now
    earlier: list[str]  # drug names before


def treatment_line(
    patient: Patient,
    prescriptions: Sequence[Prescription],
    courses: Sequence[InfusionCourse],
    drug_names: Mapping[str, str],
) -> TreatmentLine:
    """Line of systemic therapy: one more than the number of earlier regimens (prior
    therapies recorded at enrolment and treatments stopped here). With nothing earlier on
    record, a drug licensed only after sorafenib (regorafenib, cabozantinib) still counts as
    second line (drugs.md, "line of therapy")."""
    current_codes: list[str] = []
    earlier_codes: list[str] = list(patient.prior_systemic_therapies or [])
    for prescription in prescriptions:
        code = prescription.drug.code
        if prescription.status == PrescriptionStatus.STOPPED:
            earlier_codes.append(code)
        else:
            current_codes.append(code)
    for course in courses:
        target = current_codes if course.status == CourseStatus.ACTIVE else earlier_codes
        target.extend(course.drugs or [])
    current_regimens = {REGIMEN_OF.get(c, c) for c in current_codes}
    earlier_regimens = {REGIMEN_OF.get(c, c) for c in earlier_codes} - current_regimens
    number = len(earlier_regimens) + 1 if current_regimens else None
    if number == 1 and current_regimens & {"regorafenib", "cabozantinib"}:
        number = 2
    if number is None:
        words = "No current systemic treatment"
    else:
        words = f"{ORDINALS[min(number, len(ORDINALS)) - 1]} line"
    name = lambda code: drug_names.get(code, code)  # noqa: E731
    return TreatmentLine(
        number=number,
        words=words,
        current=[name(c) for c in dict.fromkeys(current_codes)],
        earlier=[name(c) for c in dict.fromkeys(earlier_codes) if c not in current_codes],
    )


@dataclass
class PrescriptionPanel:
    prescription: Prescription
    steps: list[ladders.Step]
    current_step: ladders.Step | None
    open_hold: PrescriptionHold | None
    forms: dict[str, Any] = field(default_factory=dict)


def current_prescriptions(patient: Patient, now: datetime) -> list[PrescriptionPanel]:
    """Prescriptions not stopped, with their ladder and current hold (2 queries)."""
    prescriptions = (
        Prescription.objects.filter(patient=patient)
        .current()
        .select_related("drug")
        .prefetch_related(
            Prefetch("holds", queryset=PrescriptionHold.objects.order_by("starts_at"))
        )
        .order_by("recorded_at", "id")
    )
    panels = []
    for prescription in prescriptions:
        steps = ladders.ladder_for(prescription.drug.dose_ladder, patient.weight_kg)
        current = ladders.find_step(
            steps,
            dose_mg=prescription.dose_mg,
            doses_per_day=len(prescription.times or ()),
            cycle_days_on=prescription.cycle_days_on,
            cycle_days_off=prescription.cycle_days_off,
        )
        open_hold = next(
            (h for h in prescription.holds.all() if h.ends_at is None or h.ends_at > now), None
        )
        panels.append(PrescriptionPanel(prescription, steps, current, open_hold))
    return panels


def all_treatments(patient: Patient) -> tuple[list[Prescription], list[InfusionCourse]]:
    """Every prescription (with drug) and infusion course of the patient: 2 queries."""
    prescriptions = list(Prescription.objects.filter(patient=patient).select_related("drug"))
    courses = list(InfusionCourse.objects.filter(patient=patient).order_by("first_infusion_at"))
    return prescriptions, courses


@dataclass
class AppointmentPanel:
    appointment: InfusionAppointment
    overdue: bool
    forms: dict[str, Any] = field(default_factory=dict)


def infusion_appointments_to_act_on(
    patient: Patient, now: datetime, ahead: int = 2
) -> list[AppointmentPanel]:
    """Appointments of active courses not yet given: missed or past ones first (to be marked
    given or moved), then the next `ahead` planned ones. One query."""
    rows = list(
        InfusionAppointment.objects.filter(
            patient=patient,
            course__status=CourseStatus.ACTIVE,
            state__in=[AppointmentState.SCHEDULED, AppointmentState.MISSED],
        )
        .select_related("course")
        .order_by("scheduled_at", "id")
    )
    past = [a for a in rows if a.scheduled_at <= now or a.state == AppointmentState.MISSED]
    future = [a for a in rows if a not in past][:ahead]
    return [AppointmentPanel(a, a in past) for a in past + future]


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


@dataclass
class CalendarDay:
    day: date
    expected: int = 0
    taken: int = 0
    held: int = 0
    missed: int = 0  # missed or not taken (skipped)
    pending: int = 0  # upcoming or still inside the late window
    in_range: bool = True
    label: str = ""  # "3", or "1 Nov" on the first shown day and the first of a month

    @property
    def status(self) -> str:
        if not self.in_range:
            return "outside"
        if self.expected == 0:
            return "held" if self.held else "none"
        if self.pending and not self.missed:
            return "pending"
        if self.taken == self.expected:
            return "all"
        if self.taken == 0 and self.missed:
            return "missed"
        return "some"

    @property
    def words(self) -> str:
        status = self.status
        if status == "outside":
            return ""
        if status == "none":
            return "No doses due"
        if status == "held":
            return "Held: no doses expected"
        text = f"{self.taken} of {self.expected} taken"
        if self.pending:
            text += f", {self.pending} still to take"
        return text

    @property
    def symbol(self) -> str:
        return {"all": "✓", "some": "½", "missed": "✗", "held": "H", "pending": "…"}.get(
            self.status, ""
        )


def dose_calendar(
    patient: Patient, now: datetime, days: int = CALENDAR_DAYS
) -> list[list[CalendarDay]]:
    """The last `days` local days as weeks (Monday first): per day, doses taken of those
    expected (held doses are not expected, adherence.md). One query."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    by_day: dict[date, CalendarDay] = {}
    rows = ExpectedDose.objects.filter(
        patient=patient, due_at__gte=start, due_at__lt=end
    ).values_list("due_at", "late_until", "state")
    for due_at, late_until, state in rows:
        day = due_at.astimezone(zone).date()
        cell = by_day.setdefault(day, CalendarDay(day))
        if state == DoseState.HELD:
            cell.held += 1
            continue
        cell.expected += 1
        if state in (DoseState.TAKEN, DoseState.TAKEN_LATE):
            cell.taken += 1
        elif state in (DoseState.MISSED, DoseState.SKIPPED):
            cell.missed += 1
        elif state == DoseState.PENDING:
            if now >= late_until:
                cell.missed += 1  # the sweep has not marked it yet; it is missed
            else:
                cell.pending += 1
    monday = first - timedelta(days=first.weekday())
    weeks: list[list[CalendarDay]] = []
    day = monday
    while day <= today:
        week = []
        for _ in range(7):
            cell = by_day.get(day) or CalendarDay(day)
            cell.in_range = first <= day <= today
            month = day == first or day.day == 1
            cell.label = f"{day.day} {day:%b}" if month else str(day.day)
            week.append(cell)
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def oral_drugs_on_record(prescriptions: Sequence[Prescription]) -> bool:
    return any(p.drug.route == Route.ORAL for p in prescriptions)


def unresolved_alerts_for_patient(patient: Patient, limit: int = 10) -> tuple[list[Alert], int]:
    """The patient's open and acknowledged alerts, most urgent first (at most `limit`; the
    queue filtered by NHS number shows the rest), and how many more there are. 2 queries."""
    qs = (
        Alert.objects.unresolved()
        .filter(patient=patient)
        .select_related("acknowledged_by", "symptom_report", "care_team", "patient")
        .annotate(level_order=LEVEL_ORDER)
        .order_by("level_order", "created_at", "id")
    )
    shown = list(qs[:limit])
    return shown, max(qs.count() - len(shown), 0)


def kind_choices() -> list[tuple[str, str]]:
    return list(AlertKind.choices)


def level_choices() -> list[tuple[str, str]]:
    return [(AlertLevel.RED, "Red"), (AlertLevel.AMBER, "Amber"), (AlertLevel.GREEN, "Green")]


def as_decimal_text(value: Decimal | None) -> str:
    return "" if value is None else f"{Decimal(value).normalize():f}"
