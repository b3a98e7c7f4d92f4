"""The answer to a symptom report, in the patient's words: level, reasons, advice and the
advice-line number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..symptoms import triage
from .symptom_chart import _grade_text

SYMPTOM_HISTORY = timedelta(days=28)


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
