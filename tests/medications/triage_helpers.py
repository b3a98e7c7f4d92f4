"""What the triage engine tests share: the codes of triage.md (copied from the specification,
not derived from the rule set) and small builders of reports and prior reports."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from medications.symptoms.rules import DEFAULT_RULES
from medications.symptoms.triage import (
    AMBER,
    GREEN,
    RED,
    PatientContext,
    PriorReport,
    ReportInput,
    SymptomItem,
    TriageResult,
    grade_report,
)

RULES = DEFAULT_RULES
NOW = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)
NOT_EXPOSED = PatientContext()

GRADED_CODES = [
    "diarrhoea",
    "nausea",
    "vomiting",
    "mouth_sores",
    "constipation",
    "hand_foot",
    "rash",
    "fatigue",
    "breathlessness",
    "cough",
    "abdominal_pain",
    "pain",
    "headache",
    "abdominal_swelling",
    "numbness",
    "bruising",
]
RED_FLAG_CODES = [
    "chest_pain",
    "vomiting_blood",
    "black_stools",
    "blood_in_stool",
    "coughing_blood",
    "bleeding",
    "jaundice",
    "dark_urine",
    "confusion",
    "fainting",
    "seizure",
    "vision_change",
    "shivering",
    "reduced_urine",
    "swallowing_difficulty",
]
IMMUNOTHERAPY_CODES = ["diarrhoea", "abdominal_pain", "breathlessness", "cough", "rash", "headache"]
GRADE_TO_LEVEL = {1: GREEN, 2: AMBER, 3: RED}


def report(
    *symptoms: tuple[str, int],
    temperature_c: Decimal | float | None = None,
    bp: tuple[int, int] | None = None,
    at: datetime = NOW,
) -> ReportInput:
    systolic, diastolic = bp if bp else (None, None)
    return ReportInput(
        symptoms=tuple(SymptomItem(code, grade) for code, grade in symptoms),
        reported_at=at,
        temperature_c=temperature_c,
        systolic_bp=systolic,
        diastolic_bp=diastolic,
    )


def triage(report_input: ReportInput, context: PatientContext = NOT_EXPOSED) -> TriageResult:
    return grade_report(report_input, context, RULES)


def earlier(hours_before: float, **item_levels: str) -> PriorReport:
    return PriorReport(reported_at=NOW - timedelta(hours=hours_before), item_levels=item_levels)
