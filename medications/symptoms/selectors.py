"""Reads for symptom reports and their triage (../shared/clinical/triage.md).

Scoped like every read (patient: own; nurse: their care teams'; admin: all; out of scope is
a 404), and each with a fixed number of queries.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from patients.models import Patient
from patients.selectors import get_or_404, visible_to

from ..models import (
    AppointmentState,
    CheckIn,
    CheckInStatus,
    CourseStatus,
    InfusionAppointment,
    InfusionCourse,
    SymptomReport,
    TriageRuleSet,
)
from . import triage

# --- the active rule set ------------------------------------------------------------------------

_cache_lock = threading.Lock()
_cached: dict[str, TriageRuleSet] = {}


def active_ruleset() -> TriageRuleSet:
    """The rule set new reports are graded with.

    Versions are never edited (a change is a new row), so a row can be cached per process
    for as long as it stays the active one. One small query per call finds which row that
    is, so a version made active in the admin is used from the next report on, in every
    process, with no restart.
    """
    current = TriageRuleSet.objects.filter(is_active=True).values_list("pk", "version").first()
    if current is None:
        raise TriageRuleSet.DoesNotExist(
            "No active triage rule set: run the migrations, or make a version active in the admin."
        )
    key = f"{current[0]}:{current[1]}"
    with _cache_lock:
        ruleset = _cached.get("active")
        if ruleset is not None and getattr(ruleset, "_cache_key", None) == key:
            return ruleset
    ruleset = TriageRuleSet.objects.get(pk=current[0])
    ruleset._cache_key = key
    with _cache_lock:
        _cached["active"] = ruleset
    return ruleset


def active_rules() -> dict[str, Any]:
    return active_ruleset().rules


def clear_ruleset_cache() -> None:
    with _cache_lock:
        _cached.clear()


# --- what triage needs to know about the patient ------------------------------------------------


def patient_context(
    patient: Patient,
    *,
    reported_at: datetime,
    rules: triage.Rules,
    exclude_report_id: int | None = None,
) -> triage.PatientContext:
    """The patient facts the combination rules read (triage.md rules 3 and 4), from the
    database as it is now. Two or three queries.
    """
    on_drug, last_given_at = _immunotherapy_exposure(patient, rules)
    return triage.PatientContext(
        on_atezolizumab=on_drug,
        last_atezolizumab_at=last_given_at,
        recent_reports=_recent_reports(patient, reported_at, rules, exclude_report_id),
    )


def _immunotherapy_exposure(patient: Patient, rules: triage.Rules) -> tuple[bool, datetime | None]:
    drug = rules["combination_rules"]["immunotherapy"]["drug"]
    # Drug lists are JSON; the patient has few courses, so filter them here rather than rely
    # on JSON containment, which SQLite lacks.
    courses = [
        course
        for course in InfusionCourse.objects.filter(patient=patient).values("id", "drugs", "status")
        if isinstance(course["drugs"], list) and drug in course["drugs"]
    ]
    on_drug = any(course["status"] == CourseStatus.ACTIVE for course in courses)
    last_given_at = None
    if courses:
        last_given_at = InfusionAppointment.objects.filter(
            course_id__in=[course["id"] for course in courses],
            state=AppointmentState.GIVEN,
            given_at__isnull=False,
        ).aggregate(last=Max("given_at"))["last"]
    if drug in (patient.prior_systemic_therapies or []) and patient.created_at:
        # Given before enrolment, date not recorded: it was given before the record was
        # created, so that moment is the latest it can have been. Using it can only make
        # the rule apply where it might (never under-triage), and it stops applying once the
        # record is older than the look-back.
        last_given_at = max(filter(None, [last_given_at, patient.created_at]))
    return on_drug, last_given_at


def _recent_reports(
    patient: Patient,
    reported_at: datetime,
    rules: triage.Rules,
    exclude_report_id: int | None,
) -> tuple[triage.PriorReport, ...]:
    window = timedelta(hours=rules["combination_rules"]["repeat_amber"]["window_hours"])
    rows = SymptomReport.objects.filter(
        patient=patient, reported_at__gte=reported_at - window, reported_at__lt=reported_at
    )
    if exclude_report_id is not None:
        rows = rows.exclude(pk=exclude_report_id)
    priors = []
    for row in rows.values(
        "reported_at",
        "triaged_at",
        "triage_item_levels",
        "symptoms",
        "temperature_c",
        "systolic_bp",
        "diastolic_bp",
    ):
        if row["triaged_at"] is not None:
            item_levels = row["triage_item_levels"] or {}
        else:
            # Not graded yet (entered by import or admin; the sweep will grade it). Its items'
            # own levels decide the repeat-amber rule exactly as its final levels would, since
            # the combination rules only ever raise an amber item to red.
            item_levels = _own_item_levels(row, rules)
        priors.append(triage.PriorReport(reported_at=row["reported_at"], item_levels=item_levels))
    return tuple(priors)


def _own_item_levels(row: dict[str, Any], rules: triage.Rules) -> dict[str, str]:
    data = {
        "symptoms": row["symptoms"],
        "temperature_c": row["temperature_c"],
        "systolic_bp": row["systolic_bp"],
        "diastolic_bp": row["diastolic_bp"],
    }
    if triage.validate_report(data, rules):
        return {}
    return triage.grade_items(triage.report_input_from_data(data, row["reported_at"]), rules)


# --- reports, scoped ----------------------------------------------------------------------------


def symptom_reports_visible_to(user) -> QuerySet[SymptomReport]:
    return visible_to(
        user, SymptomReport.objects.select_related("patient", "patient__care_team")
    ).order_by("-reported_at", "-id")


def symptom_report_for(user, report_id) -> SymptomReport:
    return get_or_404(symptom_reports_visible_to(user), report_id, "symptom report")


def symptom_reports_untriaged() -> QuerySet[SymptomReport]:
    """Stored reports not graded yet, oldest first (uses the report_untriaged index)."""
    return SymptomReport.objects.filter(triaged_at__isnull=True).order_by("reported_at", "id")


# --- history and chart series -------------------------------------------------------------------


@dataclass
class SymptomHistory:
    """A patient's reports since a moment, oldest first, and chart-ready series."""

    patient_id: int
    since: datetime
    reports: list[SymptomReport] = field(default_factory=list)
    # Symptom code -> [(reported_at, grade)], in the order first reported.
    symptoms: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)
    temperature: list[tuple[datetime, Decimal]] = field(default_factory=list)
    # [(reported_at, systolic, diastolic)]
    blood_pressure: list[tuple[datetime, int, int]] = field(default_factory=list)
    # [(reported_at, level)] for graded reports.
    levels: list[tuple[datetime, str]] = field(default_factory=list)
    # Plain-English name of every code in the series (from the active rule set).
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def latest(self) -> SymptomReport | None:
        return self.reports[-1] if self.reports else None


def symptom_histories(
    patient_ids: Iterable[int], since: datetime, until: datetime | None = None
) -> dict[int, SymptomHistory]:
    """History of several patients (the nurse dashboard): two queries however many."""
    ids = list(dict.fromkeys(patient_ids))
    histories = {pk: SymptomHistory(patient_id=pk, since=since) for pk in ids}
    if not ids:
        return histories
    rows = SymptomReport.objects.filter(patient_id__in=ids, reported_at__gte=since)
    if until is not None:
        rows = rows.filter(reported_at__lt=until)
    codes: set[str] = set()
    series: dict[int, dict[str, list]] = defaultdict(dict)
    for report in rows.order_by("reported_at", "id"):
        history = histories[report.patient_id]
        history.reports.append(report)
        for item in report.symptoms if isinstance(report.symptoms, list) else []:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                series[report.patient_id].setdefault(item["code"], []).append(
                    (report.reported_at, item.get("grade"))
                )
                codes.add(item["code"])
        if report.temperature_c is not None:
            history.temperature.append((report.reported_at, report.temperature_c))
        if report.systolic_bp is not None and report.diastolic_bp is not None:
            history.blood_pressure.append(
                (report.reported_at, report.systolic_bp, report.diastolic_bp)
            )
        if report.triage_level:
            history.levels.append((report.reported_at, report.triage_level))
    rules = active_rules()
    labels = {code: triage.item_label(rules, code) for code in codes}
    for pk, history in histories.items():
        history.symptoms = series.get(pk, {})
        history.labels = {code: labels[code] for code in history.symptoms}
    return histories


def symptom_history(
    patient: Patient, since: datetime, until: datetime | None = None
) -> SymptomHistory:
    """One patient's reports since `since`, with chart series: two queries."""
    return symptom_histories([patient.pk], since, until)[patient.pk]


# --- figures for the team (checkins.md, "Measure": check-in completion, target >= 90%) -----------


@dataclass(frozen=True)
class CheckInCompletion:
    """Completed / due over a period: due = check-ins that opened in it and finished
    (completed or missed); paused ones are not due, open ones not yet counted."""

    completed: int
    due: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.completed / self.due, 1) if self.due else None

    @property
    def meets_target(self) -> bool | None:
        return None if self.percent is None else self.percent >= CHECK_IN_COMPLETION_TARGET


CHECK_IN_COMPLETION_TARGET = 90.0


def check_in_completion(
    *,
    since: datetime,
    until: datetime,
    patient_ids: Sequence[int] | None = None,
    care_team_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Check-in completion over [since, until): {"overall": CheckInCompletion, "per_patient":
    {patient id: ...}, "per_team": {care team id: ...}}, optionally for some patients or
    teams only. One grouped query, whatever the number of patients. The nurse's metrics page
    and patient page call this."""
    rows = CheckIn.objects.filter(
        status__in=[CheckInStatus.COMPLETED, CheckInStatus.MISSED],
        opens_at__gte=since,
        opens_at__lt=until,
    )
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    if care_team_ids is not None:
        rows = rows.filter(patient__care_team_id__in=list(care_team_ids))
    grouped = (
        rows.values("patient_id", "patient__care_team_id")
        .annotate(due=Count("pk"), completed=Count("pk", filter=Q(status=CheckInStatus.COMPLETED)))
        .order_by()
    )
    per_patient: dict[int, CheckInCompletion] = {}
    teams: dict[int, list[int]] = {}
    for row in grouped:
        per_patient[row["patient_id"]] = CheckInCompletion(row["completed"], row["due"])
        counts = teams.setdefault(row["patient__care_team_id"], [0, 0])
        counts[0] += row["completed"]
        counts[1] += row["due"]
    return {
        "overall": CheckInCompletion(
            sum(c.completed for c in per_patient.values()), sum(c.due for c in per_patient.values())
        ),
        "per_patient": per_patient,
        "per_team": {team: CheckInCompletion(*counts) for team, counts in teams.items()},
    }
