"""Alert API shapes (../shared/API.md: GET /api/v1/alerts/, acknowledge, resolve)."""

from decimal import Decimal

from rest_framework import serializers

from core.api import StrictFieldsMixin

from .models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertOutcome,
    AlertStatus,
)


class AlertEventSerializer(serializers.ModelSerializer):
    actor = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = AlertEvent
        fields = ["id", "at", "kind", "actor", "data"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    """API.md fields first (id, patient, kind, level, status, reasons, created_at, due_by,
    overdue), then extras."""

    overdue = serializers.SerializerMethodField()
    # checkins.md, "One open symptom episode": the ids of every report the alert holds.
    reports = serializers.SerializerMethodField()
    # Declared so the schema allows "" (not resolved yet): a read-only field built from the
    # model drops allow_blank, and the schema then forbids the value the API really sends.
    outcome = serializers.ChoiceField(
        choices=AlertOutcome.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "patient",
            "kind",
            "level",
            "status",
            "reasons",
            "created_at",
            "due_by",
            "overdue",
            "care_team",
            "summary",
            "occurrences",
            "reports",
            "details",
            "updated_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "outcome",
            "resolution_note",
            "escalated_at",
            "attend_at",
            "symptom_report",
            "prescription",
            "appointment",
        ]
        read_only_fields = fields

    def get_reports(self, alert: Alert) -> list[int]:
        ids = [int(pk) for pk in (alert.details or {}).get("reports") or []]
        if alert.symptom_report_id and alert.symptom_report_id not in ids:
            ids.insert(0, alert.symptom_report_id)
        return ids

    def get_overdue(self, alert: Alert) -> bool:
        annotated = getattr(alert, "overdue", None)
        return bool(annotated) if annotated is not None else alert.is_overdue()


class AlertDetailSerializer(AlertSerializer):
    events = AlertEventSerializer(many=True, read_only=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "events"]
        read_only_fields = fields


class AlertQuerySerializer(serializers.Serializer):
    """?status=&level=&kind=&patient=&overdue= on the list; each bad value is a 400."""

    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False)
    level = serializers.ChoiceField(choices=AlertLevel.choices, required=False)
    kind = serializers.ChoiceField(choices=AlertKind.choices, required=False)
    patient = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)


class AlertResolveSerializer(StrictFieldsMixin, serializers.Serializer):
    """API.md, second round: outcomes that act. `prescriptions` for "treatment_held" (each
    is held), `dose_mg` for "dose_reduced" (a lower step of the drug's ladder; with more than
    one current prescription, `prescriptions` names the one), `attend_at` for
    "same_day_assessment"; the note is the reason. The change and the resolve are one
    transaction: a refusal leaves the alert open and the treatment as it was."""

    outcome = serializers.ChoiceField(choices=AlertOutcome.choices)
    note = serializers.CharField(max_length=4000, trim_whitespace=True)
    prescriptions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        max_length=20,
        help_text='Prescription ids: which to hold ("treatment_held") or reduce.',
    )
    dose_mg = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal(99999),
        required=False,
        help_text='The new dose ("dose_reduced"): a lower step of the drug\'s dose ladder.',
    )
    attend_at = serializers.DateTimeField(
        required=False,
        help_text='When the patient is to come in ("same_day_assessment"), ISO 8601.',
    )
    end_follow_up = serializers.BooleanField(
        required=False,
        default=False,
        help_text="End the patient's amber follow-up check-ins (checkins.md).",
    )
    message_to_patient = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="A short message shown to the patient with the outcome (symptom alerts).",
    )


class AlertAcknowledgeSerializer(StrictFieldsMixin, serializers.Serializer):
    """No fields: the body may be empty or {}."""
