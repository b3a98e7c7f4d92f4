"""Request and response bodies of the medications API (../shared/API.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import StrictFieldsMixin
from patients.selectors import patients_visible_to

from . import schedule
from .models import (
    DoseAction,
    Drug,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
    Route,
    SkipReason,
)

DOSE_STATES = ["upcoming", "due", "taken", "taken_late", "skipped", "missed", "held"]


# --- drugs --------------------------------------------------------------------------------------


class DrugSerializer(serializers.ModelSerializer):
    class Meta:
        model = Drug
        fields = [
            "code",
            "name",
            "brand",
            "route",
            "form",
            "strengths_mg",
            "standard_dose_mg",
            "standard_dose_text",
            "doses_per_day",
            "schedule_text",
            "food_rule",
            "line_of_therapy",
            "late_window_rule",
            "late_window_hours",
            "missed_dose_advice",
            "dose_ladder",
            "default_cycle_days_on",
            "default_cycle_days_off",
            "interval_days",
            "atc_code",
            "snomed_code",
            "common_side_effects",
            "urgent_warning_signs",
        ]
        read_only_fields = fields


# --- shared request fields ----------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class VisiblePatientField(serializers.PrimaryKeyRelatedField):
    """A patient id the requesting user may see; any other id reads as 'does not exist'."""

    default_error_messages = {
        "does_not_exist": "No patient with id {pk_value} in your care.",
        "incorrect_type": "Give the patient's id (a whole number).",
    }

    def get_queryset(self):
        request = self.context.get("request")
        return patients_visible_to(request.user if request else None)

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, int) and not 0 < data < 2**63):
            self.fail("does_not_exist", pk_value=data)
        if isinstance(data, str) and (not data.isdigit() or len(data) > 18):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


def _validate_times(value: list[str]) -> list[str]:
    problems = schedule.times_problems(value)
    if problems:
        raise serializers.ValidationError(problems)
    return sorted(value)


class TimesField(serializers.ListField):
    child = serializers.CharField(max_length=5)

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("validators", [_validate_times])
        kwargs.setdefault(
            "help_text", 'Local times of day in 24-hour HH:MM, e.g. ["08:00", "20:00"].'
        )
        super().__init__(**kwargs)


def _dose_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(99999),
        help_text="Dose in mg.",
        **kwargs,
    )


def _reason_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=2000, **kwargs)


def _aware_datetime(**kwargs) -> serializers.DateTimeField:
    kwargs.setdefault(
        "help_text", "ISO 8601 date and time; without an offset it is read as UK time."
    )
    return serializers.DateTimeField(**kwargs)


# --- prescriptions ------------------------------------------------------------------------------


class PrescriptionCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    patient = VisiblePatientField()
    drug = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Drug.objects.filter(is_active=True),
        error_messages={"does_not_exist": "Unknown drug {value!r}: see GET /api/v1/drugs/."},
        help_text="Drug code, e.g. sorafenib.",
    )
    dose_mg = _dose_field(
        required=False,
        allow_null=True,
    )
    times = TimesField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    cycle_days_on = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=365
    )
    cycle_days_off = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=365
    )
    override_reason = _reason_field(required=False, allow_blank=True)

    def validate_drug(self, drug: Drug) -> Drug:
        if drug.route != Route.ORAL:
            raise serializers.ValidationError(
                f"{drug.name} is an infusion: plan it with POST /api/v1/infusion-courses/."
            )
        return drug

    def validate(self, attrs):
        errors = {}
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            errors["end_date"] = ["The end date is before the start date."]
        if start and not date(2000, 1, 1) <= start <= date(2100, 12, 31):
            errors["start_date"] = ["The start date is out of range."]
        days_on, days_off = attrs.get("cycle_days_on"), attrs.get("cycle_days_off")
        if (days_on is None) != (days_off is None):
            errors["cycle_days_on"] = ["Give both cycle_days_on and cycle_days_off, or neither."]
        elif days_on is not None and days_on < 1:
            errors["cycle_days_on"] = [
                f"A cycle of {days_on} days on and {days_off} off has no dosing days: give at "
                "least 1 day on."
            ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PrescriptionEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrescriptionEvent
        fields = [
            "id",
            "kind",
            "effective_at",
            "until",
            "reason",
            "override_reason",
            "data",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = fields


class PrescriptionHoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrescriptionHold
        fields = ["id", "starts_at", "ends_at", "reason", "recorded_at"]
        read_only_fields = fields


class CheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    overridable = serializers.BooleanField()


class PrescriptionSerializer(serializers.ModelSerializer):
    drug = serializers.CharField(source="drug.code", read_only=True)
    drug_name = serializers.CharField(source="drug.name", read_only=True)
    warnings = CheckSerializer(many=True, read_only=True)
    events = PrescriptionEventSerializer(many=True, read_only=True)
    holds = PrescriptionHoldSerializer(many=True, read_only=True)

    class Meta:
        model = Prescription
        fields = [
            "id",
            "patient",
            "drug",
            "drug_name",
            "dose_mg",
            "times",
            "start_date",
            "end_date",
            "cycle_days_on",
            "cycle_days_off",
            "status",
            "recorded_at",
            "recorded_by",
            "warnings",
            "override_reason",
            "stopped_at",
            "generated_until",
            "events",
            "holds",
        ]
        read_only_fields = fields


class _WithFromField:
    """`from` is a Python keyword, so the field is added by name."""

    from_help = "When it takes effect (default: now)."

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = _aware_datetime(required=False, allow_null=True)
        fields["from"].help_text = self.from_help
        return fields


class HoldSerializer(_WithFromField, StrictFieldsMixin, serializers.Serializer):
    reason = _reason_field()
    until = _aware_datetime(required=False, allow_null=True)


class ResumeSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = _reason_field()


class ChangeDoseSerializer(_WithFromField, StrictFieldsMixin, serializers.Serializer):
    dose_mg = _dose_field()
    reason = _reason_field()
    times = TimesField(required=False)
    ladder_step = serializers.CharField(
        required=False,
        max_length=64,
        help_text="A step id of the drug's dose ladder, where the dose alone is ambiguous.",
    )
    override_reason = _reason_field(required=False, allow_blank=True)


class StopSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = _reason_field()
    at = _aware_datetime(required=False, allow_null=True)


# --- infusions ----------------------------------------------------------------------------------


class InfusionDoseSerializer(serializers.Serializer):
    drug = serializers.CharField()
    dose_mg = serializers.CharField(help_text="Exact dose in mg.")
    display_dose_mg = serializers.CharField(
        required=False, help_text="Bevacizumab: rounded to the nearest 5 mg for display."
    )
    minutes = serializers.IntegerField(required=False)
    mg_per_kg = serializers.CharField(required=False)
    weight_kg = serializers.CharField(required=False)


class InfusionAppointmentSerializer(serializers.ModelSerializer):
    doses = InfusionDoseSerializer(many=True, read_only=True)

    class Meta:
        model = InfusionAppointment
        fields = [
            "id",
            "course",
            "patient",
            "cycle_number",
            "scheduled_at",
            "originally_scheduled_at",
            "state",
            "given_at",
            "doses",
            "location",
            "reschedule_reason",
        ]
        read_only_fields = fields


class InfusionCourseSerializer(serializers.ModelSerializer):
    appointments = InfusionAppointmentSerializer(many=True, read_only=True)
    warnings = CheckSerializer(many=True, read_only=True)

    class Meta:
        model = InfusionCourse
        fields = [
            "id",
            "patient",
            "drugs",
            "interval_days",
            "first_infusion_at",
            "location",
            "status",
            "warnings",
            "override_reason",
            "recorded_at",
            "appointments",
        ]
        read_only_fields = fields


class InfusionCourseCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    patient = VisiblePatientField()
    drugs = serializers.ListField(
        child=serializers.CharField(max_length=32),
        min_length=1,
        max_length=2,
        help_text='Drug codes, e.g. ["atezolizumab", "bevacizumab"].',
    )
    first_infusion_at = _aware_datetime()
    interval_days = serializers.IntegerField(default=21, min_value=7, max_value=84)
    location = serializers.CharField(required=False, allow_blank=True, max_length=200)
    override_reason = _reason_field(required=False, allow_blank=True)

    def validate_drugs(self, value: list[str]) -> list[str]:
        known = set(Drug.objects.filter(is_active=True).values_list("code", flat=True))
        unknown = [code for code in value if code not in known]
        if unknown:
            raise serializers.ValidationError(f"Unknown drug: {', '.join(unknown)}.")
        return value


class InfusionGivenSerializer(StrictFieldsMixin, serializers.Serializer):
    given_at = _aware_datetime(required=False, help_text="When it was given (default: now).")


class InfusionRescheduleSerializer(StrictFieldsMixin, serializers.Serializer):
    scheduled_at = _aware_datetime()
    reason = _reason_field()


# --- doses --------------------------------------------------------------------------------------


class DoseSerializer(serializers.ModelSerializer):
    drug = serializers.CharField(source="prescription.drug.code", read_only=True)
    drug_name = serializers.CharField(source="prescription.drug.name", read_only=True)
    state = serializers.SerializerMethodField()
    logged_later = serializers.BooleanField(
        read_only=True,
        help_text="Taken, and recorded more than 30 minutes after the time taken.",
    )

    class Meta:
        model = ExpectedDose
        fields = [
            "id",
            "prescription",
            "patient",
            "drug",
            "drug_name",
            "dose_mg",
            "due_at",
            "late_until",
            "state",
            "taken_at",
            "logged_later",
            "skip_reason",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": DOSE_STATES})
    def get_state(self, dose: ExpectedDose) -> str:
        now = self.context.get("now") or timezone.now()
        return dose.display_state(now)


class TakenAtField(serializers.DateTimeField):
    """adherence.md "When it was taken": ASCII digits only, and an offset is required (a
    phone's "08:30" without one could be read in the wrong zone)."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            if not value.isascii():
                raise serializers.ValidationError(
                    "Write the time with ordinary digits, e.g. 2026-01-05T08:10+00:00."
                )
            parsed = parse_datetime(value.strip())
            if parsed is not None and parsed.tzinfo is None:
                raise serializers.ValidationError(
                    "Give the time with its UTC offset, e.g. 2026-01-05T08:10+00:00."
                )
        return super().to_internal_value(value)


class DoseLogRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    action = serializers.ChoiceField(choices=DoseAction.choices)
    at = TakenAtField(
        required=False,
        allow_null=True,
        help_text=(
            "When it was taken (default: now): ISO 8601 with its offset, from 2 hours before "
            "the dose was due until now."
        ),
    )
    reason = serializers.ChoiceField(
        choices=SkipReason.choices,
        required=False,
        allow_blank=True,
        help_text="Why a dose was not taken (needed with action=skipped).",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class DoseLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    at = serializers.DateTimeField()
    reason = serializers.CharField()
    note = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class DoseLogResponseSerializer(DoseSerializer):
    log = DoseLogSerializer(read_only=True)
    taken_outside_window = serializers.BooleanField(
        read_only=True, help_text="Taken after the late window closed (counts against timing)."
    )
    rule = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The drug's missed-dose rule, shown when a dose was taken late.",
    )
    symptom_report_suggested = serializers.BooleanField(
        read_only=True, help_text="Not taken because of side effects or feeling unwell."
    )

    class Meta(DoseSerializer.Meta):
        fields = [
            *DoseSerializer.Meta.fields,
            "log",
            "taken_outside_window",
            "rule",
            "symptom_report_suggested",
        ]
        read_only_fields = fields


class DoseQuerySerializer(StrictFieldsMixin, serializers.Serializer):
    """Query string of GET /doses/."""

    patient = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    to = serializers.DateField(required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)
        return fields

    def validate(self, attrs):
        first, last = attrs.get("from"), attrs.get("to")
        if first and last:
            if last < first:
                raise serializers.ValidationError({"to": ["'to' is before 'from'."]})
            if (last - first).days > 366:
                raise serializers.ValidationError({"to": ["Ask for at most 366 days at once."]})
        return attrs


# --- adherence ----------------------------------------------------------------------------------


class DrugHolidaySerializer(serializers.Serializer):
    # "from" is a keyword: declared through get_fields
    to = serializers.DateField()
    days = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        return {"from": serializers.DateField(), **fields}


class AdherenceMeasuresSerializer(serializers.Serializer):
    dose_taking = serializers.FloatField(
        allow_null=True, help_text="Taken (on time or late) / expected, %."
    )
    timing = serializers.FloatField(
        allow_null=True,
        help_text="Taken within +/-2 h (twice daily) or +/-3 h (once daily) / expected, %.",
    )
    days_covered = serializers.FloatField(
        allow_null=True,
        help_text="Days with every expected dose taken / days with an expected dose, %.",
    )
    expected = serializers.IntegerField()
    taken = serializers.IntegerField()
    taken_late = serializers.IntegerField()
    taken_within_timing = serializers.IntegerField()
    missed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    held = serializers.IntegerField()
    due = serializers.IntegerField()
    days_with_doses = serializers.IntegerField()
    days_fully_taken = serializers.IntegerField()
    drug_holidays = DrugHolidaySerializer(many=True)


class PrescriptionAdherenceSerializer(AdherenceMeasuresSerializer):
    prescription = serializers.IntegerField()
    drug = serializers.CharField()
    status = serializers.CharField()
    first_taken_at = serializers.DateTimeField(allow_null=True)
    persistence_days = serializers.IntegerField(allow_null=True)


class InfusionAdherenceSerializer(serializers.Serializer):
    course = serializers.IntegerField()
    drugs = serializers.ListField(child=serializers.CharField())
    planned = serializers.IntegerField()
    given = serializers.IntegerField()
    missed = serializers.IntegerField()
    dose_intensity = serializers.FloatField(allow_null=True)
    mean_delay_days = serializers.FloatField(allow_null=True)
    delays_days = serializers.ListField(child=serializers.IntegerField())


class AdherenceSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    days = serializers.IntegerField(allow_null=True)
    to = serializers.DateField()
    overall = AdherenceMeasuresSerializer()
    prescriptions = PrescriptionAdherenceSerializer(many=True)
    infusion_courses = InfusionAdherenceSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(allow_null=True)
        return fields


class AdherenceQuerySerializer(StrictFieldsMixin, serializers.Serializer):
    days = serializers.CharField(
        required=False,
        max_length=5,
        help_text='Window in days ending today (default 28), or "all" for the whole course.',
    )

    def validate_days(self, value: str) -> int | None:
        if value == "all":
            return None
        if not value.isdigit() or not 1 <= int(value) <= 3660:
            raise serializers.ValidationError('Give a number of days from 1 to 3660, or "all".')
        return int(value)
