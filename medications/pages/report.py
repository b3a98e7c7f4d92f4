"""The answer to a symptom report, in the patient's words: level, reasons, advice and the
advice-line number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..models import SymptomReportStatus, TriageLevel
from ..symptoms import selectors as symptom_selectors
from ..symptoms import triage
from .symptom_chart import _grade_text
from .words import _sentence_case, day_phrase, time_phrase

SYMPTOM_HISTORY = timedelta(days=28)
# Today lists the reports of the last days with where each stands.
RECENT_REPORTS = timedelta(days=7)
# checkins.md "Emergencies first": a red report with one of these puts Call 999 first.
EMERGENCY_FLAGS = (
    "chest_pain",
    "vomiting_blood",
    "coughing_blood",
    "bleeding",
    "fainting",
    "seizure",
    "confusion",
)
EMERGENCY_GRADED = {"breathlessness": 3}
NOTHING_MORE = "Your team looked at this; nothing else is needed now."


def _grades(report) -> dict[str, int]:
    return {
        item.get("code"): item.get("grade")
        for item in (report.symptoms if isinstance(report.symptoms, list) else [])
        if isinstance(item, dict) and isinstance(item.get("grade"), int)
    }


def is_emergency(report) -> bool:
    """checkins.md "Emergencies first"."""
    if report.triage_level != TriageLevel.RED:
        return False
    grades = _grades(report)
    if any(grades.get(code, 0) >= 1 for code in EMERGENCY_FLAGS):
        return True
    return any(grades.get(code, 0) >= grade for code, grade in EMERGENCY_GRADED.items())


@dataclass
class ReportStatusWords:
    state: str  # "sent", "seen", "closed", or "saved" (green: no alert, nobody will call)
    label: str  # a short word for lists: Sent / Seen / Closed / Saved
    words: str  # a sentence (checkins.md "Telling the patient what happened")
    message: str  # the nurse's short message to the patient, if any

    @property
    def heard_back(self) -> bool:
        return self.state in (SymptomReportStatus.SEEN, SymptomReportStatus.CLOSED)


def report_status(report, zone: ZoneInfo, today: date) -> ReportStatusWords:
    """Where a report stands, in plain words (checkins.md "Telling the patient")."""
    message = report.message_to_patient or ""
    if report.closed_at is not None:
        outcome = report.outcome_text or NOTHING_MORE
        when = time_phrase(report.closed_at, zone, today)
        return ReportStatusWords(
            SymptomReportStatus.CLOSED, "Closed", f"Closed at {when}. {outcome}", message
        )
    if report.seen_at is not None:
        when = time_phrase(report.seen_at, zone, today)
        return ReportStatusWords(
            SymptomReportStatus.SEEN,
            "Seen",
            f"Seen by your team at {when}. They will be in touch if they need to be.",
            message,
        )
    if report.triage_level in (TriageLevel.RED, TriageLevel.AMBER) and not report.expected_only:
        return ReportStatusWords(
            SymptomReportStatus.SENT,
            "Sent",
            "Sent to your team. They have not looked at it yet.",
            message,
        )
    if not report.triage_level:
        return ReportStatusWords(
            SymptomReportStatus.SENT, "Sent", "Sent. It has not been checked yet.", message
        )
    return ReportStatusWords(
        "saved",
        "Saved",
        "Saved in your record. Nobody needs to call you about it; report again if it gets worse.",
        message,
    )


@dataclass
class ReportResult:
    level: str  # "red", "amber", "green", or "" if not graded yet
    call_now: bool
    lead: str  # the first advice line of the level (red: "Call your advice line now.")
    lines: list[str]  # the rest of the level's lines, in the rule set's order
    self_care: list[tuple[str, str]]  # (symptom, advice)
    why: list[str]  # the reasons, in words
    told: list[tuple[str, str]]  # what the patient reported, above "none"

    @property
    def heading(self) -> str:
        return self.lead.rstrip(".") or "Call your advice line now"


def _reason_words(reason: dict, report, rules: dict) -> str:
    code, rule = reason.get("code", ""), reason.get("rule", "")
    label = triage.item_label(rules, code)
    grades = {
        item.get("code"): item.get("grade")
        for item in (report.symptoms if isinstance(report.symptoms, list) else [])
        if isinstance(item, dict)
    }
    if rule == triage.RULE_TWO_AMBERS:
        return "Two or more of your answers need review, which together makes this urgent."
    if code == "temperature" and report.temperature_c is not None:
        return f"Temperature {report.temperature_c} °C."
    if code == "blood_pressure" and report.systolic_bp is not None:
        words = f"Blood pressure {report.systolic_bp}/{report.diastolic_bp}."
    elif isinstance(grades.get(code), int):
        words = f"{label}: {_grade_text(rules, code, grades[code])}."
    else:
        words = f"{label}."
    if rule == triage.RULE_REPEAT_AMBER:
        hours = rules["combination_rules"]["repeat_amber"]["window_hours"]
        words += f" You also reported this in the last {hours} hours."
    elif rule == triage.RULE_IMMUNOTHERAPY:
        words += " With immunotherapy (atezolizumab) this can be a sign of an immune reaction."
    elif rule == triage.RULE_BP_WITH_HEADACHE:
        words += " High blood pressure together with a headache needs checking at once."
    return words


def report_result(report, rules: dict) -> ReportResult:
    level = report.triage_level or ""
    advice = list(report.triage_advice or [])
    graded = rules.get("graded_symptoms", {})
    self_care_texts = {graded[code]["self_care"]: graded[code]["label"] for code in graded}
    lines, self_care = [], []
    for line in advice:
        label, _, text = line.partition(": ")
        if text and text in self_care_texts:
            self_care.append((label, text))
        else:
            lines.append(line)
    told = []
    for item in report.symptoms if isinstance(report.symptoms, list) else []:
        code, grade = item.get("code"), item.get("grade")
        if isinstance(code, str) and isinstance(grade, int) and grade:
            told.append((triage.item_label(rules, code), _grade_text(rules, code, grade)))
    if report.temperature_c is not None:
        told.append(("Temperature", f"{report.temperature_c} °C"))
    if report.systolic_bp is not None and report.diastolic_bp is not None:
        told.append(("Blood pressure", f"{report.systolic_bp}/{report.diastolic_bp}"))
    seen: list[str] = []
    for reason in report.triage_reasons or []:
        if isinstance(reason, dict):
            words = _reason_words(reason, report, rules)
            if words not in seen:
                seen.append(words)
    # Not graded (yet): say "call" rather than nothing - never under-triage.
    call_now = bool(report.call_advice_line) or not level
    return ReportResult(
        level=level,
        call_now=call_now,
        lead=lines[0] if lines else "",
        lines=lines[1:],
        self_care=self_care,
        why=seen,
        told=told,
    )


def red_measurement_text(rules: dict, key: str) -> str:
    """'37.5 °C or higher, or below 36.0 °C': a measurement's red conditions in words,
    from the rule set (a Trust may change them)."""
    measurement = rules.get("measurements", {}).get(key)
    if not measurement:
        return ""
    parts = []
    for condition in measurement["levels"].get("red", []):
        unit = rules["validation"][condition["figure"]]["unit"]
        if "at_or_above" in condition:
            parts.append(f"{condition['at_or_above']} {unit} or higher")
        else:
            parts.append(f"below {condition['below']} {unit}")
    return ", or ".join(parts)


@dataclass
class RecentReport:
    report: object
    when: str
    level: str
    status: ReportStatusWords


def recent_reports(user, patient, now: datetime, limit: int = 3) -> list[RecentReport]:
    """Today's "Your recent reports": the last few of the last 7 days, with where each
    stands (checkins.md "Telling the patient"). One query."""
    zone = patient.zone
    today = now.astimezone(zone).date()
    reports = (
        symptom_selectors.symptom_reports_visible_to(user)
        .filter(patient=patient, reported_at__gte=now - RECENT_REPORTS)
        .order_by("-reported_at", "-id")[:limit]
    )
    return [
        RecentReport(
            report=report,
            when=_sentence_case(
                f"{day_phrase(report.reported_at.astimezone(zone).date(), today)} at "
                f"{report.reported_at.astimezone(zone):%H:%M}"
            ),
            level=report.triage_level,
            status=report_status(report, zone, today),
        )
        for report in reports
    ]


def with_status(rows: list, *, zone: ZoneInfo, now: datetime) -> list:
    """History's report rows, each with where it stands."""
    today = now.astimezone(zone).date()
    for row in rows:
        row.status = report_status(row.report, zone, today)
    return rows
