"""Request and response bodies of the symptom-report API (../shared/API.md).

The report's own fields are taken exactly as sent and checked by the service against the
active rule set (symptom_services.symptom_report_errors): a grade of "2" or 2.0, or a
temperature sent as text, is an error rather than something quietly converted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import StrictFieldsMixin

from ..models import SymptomReport, TriageLevel
from .rules import DEFAULT_RULES
from .triage import FIGURES

# The schema documents the product default rule set; a Trust's active version may differ
# (GET /api/v1/symptom-reports/ shows what was graded with which version).
_DEFAULT_CODES = [*DEFAULT_RULES["graded_symptoms"], *DEFAULT_RULES["red_flags"]]
_VALIDATION = DEFAULT_RULES["validation"]

SYMPTOMS_SCHEMA = {
    "type": "array",
    "maxItems": len(_DEFAULT_CODES),
    "description": (
        "Each symptom at most once. Graded symptoms take 0 (not present) to 3 (bruising to "
        "2); red flags take 0 (no) or 1 (yes). Codes and grades: docs/triage.md. Send an "
        "empty list if there is nothing to report."
    ),
    "items": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "enum": _DEFAULT_CODES},
            "grade": {"type": "integer", "minimum": 0, "maximum": 3},
        },
        "required": ["code", "grade"],
        "additionalProperties": False,
    },
}


def _figure_schema(figure: str, description: str) -> dict[str, Any]:
    spec = _VALIDATION[figure]
    return {
        "type": "integer" if spec["type"] == "integer" else "number",
        "minimum": float(spec["min"]) if spec["type"] != "integer" else spec["min"],
        "maximum": float(spec["max"]) if spec["type"] != "integer" else spec["max"],
        "nullable": True,
        "description": description,
    }


class _AsSent(serializers.Field):
    """A value passed on untouched, for the service to check strictly."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(SYMPTOMS_SCHEMA)
class _SymptomsField(_AsSent):
    pass


@extend_schema_field(_figure_schema("temperature_c", "°C, to one decimal place."))
class _TemperatureField(_AsSent):
    pass


@extend_schema_field(
    _figure_schema("systolic_bp", "mmHg; give both blood pressure figures or neither.")
)
class _SystolicField(_AsSent):
    pass


@extend_schema_field(
    _figure_schema("diastolic_bp", "mmHg, lower than systolic; both figures or neither.")
)
class _DiastolicField(_AsSent):
    pass


@extend_schema_field(
    {
        "type": "string",
        "maxLength": 2000,
        "nullable": True,
        "description": "Free text for the team; never used for triage.",
    }
)
class _NotesField(_AsSent):
    pass


def _has_lone_surrogate(value: Any, depth: int = 0) -> bool:
    # JSON may carry "\ud800" alone; such text cannot be stored or even echoed back in an
    # error message, so the whole body is refused up front.
    if depth > 20:
        return False
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(
            _has_lone_surrogate(key, depth + 1) or _has_lone_surrogate(item, depth + 1)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_lone_surrogate(item, depth + 1) for item in value)
    return False


class SymptomReportCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    """A symptom report. Unknown fields are refused (400), as is anything the active triage
    rule set does not accept; nothing is stored unless the whole report is valid."""

    patient = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Staff: the patient's id (required). A patient leaves it out (or gives "
        "their own id).",
    )
    # Published as required (every client should send it); triage.md also accepts a report
    # with only a measurement ("a temperature alone is a report"), see to_internal_value.
    symptoms = _SymptomsField(
        error_messages={
            "required": "Symptoms are required (send an empty list if none), unless a "
            "measurement is given."
        }
    )
    temperature_c = _TemperatureField(required=False, allow_null=True)
    systolic_bp = _SystolicField(required=False, allow_null=True)
    diastolic_bp = _DiastolicField(required=False, allow_null=True)
    notes = _NotesField(required=False, allow_null=True)

    def to_internal_value(self, data):
        if _has_lone_surrogate(data):
            raise serializers.ValidationError(
                {"non_field_errors": ["The report contains characters that are not valid text."]}
            )
        if (
            isinstance(data, Mapping)
            and "symptoms" not in data
            and any(data.get(figure) is not None for figure in FIGURES)
        ):
            data = {**data, "symptoms": []}
        return super().to_internal_value(data)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text='Symptom code, "temperature", "blood_pressure" or "report" (the whole report).'
    )
    level = serializers.ChoiceField(choices=TriageLevel.choices)
    rule = serializers.CharField(
        help_text="grade, red_flag, temperature, blood_pressure, two_ambers, repeat_amber, "
        "immunotherapy or bp_with_headache."
    )


class TriageSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=TriageLevel.choices)
    reasons = ReasonSerializer(many=True)
    advice = serializers.ListField(
        child=serializers.CharField(),
        help_text="What to do now, in order, for the patient (with the advice-line number).",
    )
    call_advice_line = serializers.BooleanField(help_text="True: call the advice line now.")
    advice_line_phone = serializers.CharField()
    ruleset_version = serializers.IntegerField()
    triaged_at = serializers.DateTimeField()


class SymptomItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    grade = serializers.IntegerField()


def advice_with_phone(report: SymptomReport) -> list[str]:
    """The stored advice with the patient's advice-line number where they need it: straight
    after "call now" for red, at the end otherwise."""
    lines = list(report.triage_advice or [])
    phone_line = f"Your advice line: {report.patient.effective_advice_line_phone}."
    if report.call_advice_line:
        return [*lines[:1], phone_line, *lines[1:]]
    return [*lines, phone_line]


def triage_body(report: SymptomReport) -> dict[str, Any] | None:
    if report.triaged_at is None:
        return None
    return {
        "level": report.triage_level,
        "reasons": [
            {"code": reason["code"], "level": reason["level"], "rule": reason["rule"]}
            for reason in report.triage_reasons or []
        ],
        "advice": advice_with_phone(report),
        "call_advice_line": report.call_advice_line,
        "advice_line_phone": report.patient.effective_advice_line_phone,
        "ruleset_version": report.ruleset_version,
        "triaged_at": report.triaged_at,
    }


class SymptomReportSerializer(serializers.ModelSerializer):
    symptoms = SymptomItemSerializer(many=True)
    temperature_c = serializers.DecimalField(
        max_digits=3, decimal_places=1, coerce_to_string=False, allow_null=True
    )
    triage = serializers.SerializerMethodField(
        help_text="The triage result; null only while a report entered by import waits for "
        "the sweep."
    )
    alert_raised = serializers.SerializerMethodField()

    class Meta:
        model = SymptomReport
        fields = [
            "id",
            "patient",
            "reported_at",
            "entered_by_staff",
            "symptoms",
            "temperature_c",
            "systolic_bp",
            "diastolic_bp",
            "notes",
            "triage",
            "alert_raised",
            "expected_codes",
        ]
        read_only_fields = fields

    @extend_schema_field(TriageSerializer(allow_null=True))
    def get_triage(self, report: SymptomReport) -> dict[str, Any] | None:
        body = triage_body(report)
        return TriageSerializer(body).data if body is not None else None

    def get_alert_raised(self, report: SymptomReport) -> bool:
        """True once the advice-line team has an alert for this (red or amber) report."""
        return report.alert_raised_at is not None


class SymptomReportQuerySerializer(serializers.Serializer):
    patient = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    level = serializers.ChoiceField(choices=TriageLevel.choices, required=False)
