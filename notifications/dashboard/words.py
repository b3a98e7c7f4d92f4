"""Alerts in a nurse's words: reasons (which item, which rule, the patient's grade in
plain words), deadlines and durations, history events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from medications.models import (
    SymptomReport,
)
from medications.symptoms import triage

from ..models import (
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertOutcome,
    AlertStatus,
)

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
        if data.get("logged_late"):
            parts.append(f"dose of {_local_words(data['logged_late'])} logged as taken later")
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
        if data.get("held"):
            count = len(data["held"])
            parts.append(f"{count} prescription{'s' if count != 1 else ''} put on hold")
        if data.get("to_mg"):
            parts.append(f"dose changed from {data.get('from_mg')} mg to {data['to_mg']} mg")
        if data.get("attend_at"):
            parts.append("asked to attend (time kept on the alert)")
        if "follow_ups_ended" in data:
            parts.append("follow-up check-ins ended")
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


def _local_words(local: str) -> str:
    """ "2026-03-09 08:00" (a patient's local time kept in alert details) -> "08:00, 9 Mar"."""
    try:
        moment = datetime.strptime(str(local), "%Y-%m-%d %H:%M")
    except ValueError:
        return str(local)
    return f"{moment:%H:%M}, {moment.day} {moment:%b}"


def late_log_lines(alert: Alert) -> list[str]:
    """A missed-dose alert's doses the patient logged as taken later (services/stale.py)."""
    details = alert.details if isinstance(alert.details, dict) else {}
    return [
        f"Taken later: {_local_words(line.get('local', ''))}"
        for line in details.get("logged_late") or []
        if isinstance(line, dict)
    ]


def as_decimal_text(value: Decimal | None) -> str:
    return "" if value is None else f"{Decimal(value).normalize():f}"
