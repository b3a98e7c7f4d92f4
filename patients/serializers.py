from datetime import date

from django.contrib.auth.models import User
from rest_framework import serializers

from core.api import StrictFieldsMixin

from .models import CareTeam, ChildPugh, Patient
from .validators import normalise_nhs_number, validate_nhs_number, validate_timezone


class PatientSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    care_team_name = serializers.CharField(source="care_team.name", read_only=True)
    advice_line_phone = serializers.CharField(source="effective_advice_line_phone", read_only=True)
    dose_reminders = serializers.ChoiceField(
        choices=["push", "sms", "email", "none"],
        read_only=True,
        help_text='The channel a dose reminder is tried on first now, or "none" when reminders '
        "are off or nothing can carry them. Settings: GET /api/v1/patients/{id}/reminders/.",
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "username",
            "given_name",
            "family_name",
            "nhs_number",
            "date_of_birth",
            "weight_kg",
            "child_pugh_class",
            "performance_status",
            "care_team",
            "care_team_name",
            "timezone",
            "advice_line_phone",
            "has_bp_monitor",
            "dose_reminders",
            "created_at",
        ]
        read_only_fields = fields


class PatientUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """PATCH /api/v1/patients/{id}/ (API.md): any of these, each checked as at enrolment."""

    email = serializers.EmailField(required=False, allow_blank=True)
    mobile_phone = serializers.RegexField(
        r"^[0-9 +()-]{6,32}$", required=False, allow_blank=True, max_length=32
    )
    has_bp_monitor = serializers.BooleanField(required=False)
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=20, max_value=300, required=False
    )
    child_pugh_class = serializers.ChoiceField(choices=ChildPugh.choices, required=False)
    performance_status = serializers.IntegerField(min_value=0, max_value=4, required=False)
    timezone = serializers.CharField(max_length=64, required=False)

    def validate_timezone(self, value: str) -> str:
        try:
            validate_timezone(value)
        except Exception as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Send at least one field."]})
        return attrs


class PatientCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    password = serializers.CharField(write_only=True, max_length=128)
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    nhs_number = serializers.CharField(max_length=14)
    date_of_birth = serializers.DateField()
    weight_kg = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=20,
        max_value=300,
        error_messages={
            "min_value": "Weight must be at least 20 kg.",
            "max_value": "Weight must be at most 300 kg.",
        },
    )
    child_pugh_class = serializers.ChoiceField(
        choices=ChildPugh.choices,
        error_messages={"invalid_choice": 'Child-Pugh class must be "A", "B" or "C".'},
    )
    performance_status = serializers.IntegerField(
        min_value=0,
        max_value=4,
        error_messages={
            "min_value": "Performance status is 0 to 4.",
            "max_value": "Performance status is 0 to 4.",
        },
    )
    care_team = serializers.PrimaryKeyRelatedField(queryset=CareTeam.objects.all(), required=False)
    timezone = serializers.CharField(max_length=64, default="Europe/London")
    advice_line_phone = serializers.RegexField(
        r"^[0-9 +()-]{6,32}$", required=False, allow_blank=True, max_length=32
    )
    email = serializers.EmailField(required=False, allow_blank=True)
    mobile_phone = serializers.RegexField(
        r"^[0-9 +()-]{6,32}$", required=False, allow_blank=True, max_length=32
    )
    has_bp_monitor = serializers.BooleanField(required=False)

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("This username is already taken.")
        return value

    def validate_nhs_number(self, value: str) -> str:
        try:
            validate_nhs_number(value)
        except Exception as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        value = normalise_nhs_number(value)
        if Patient.objects.filter(nhs_number=value).exists():
            raise serializers.ValidationError("A patient with this NHS number already exists.")
        return value

    def validate_timezone(self, value: str) -> str:
        try:
            validate_timezone(value)
        except Exception as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value

    def validate_date_of_birth(self, value: date) -> date:
        today = date.today()
        if value >= today:
            raise serializers.ValidationError("Date of birth must be in the past.")
        if value.year < today.year - 120:
            raise serializers.ValidationError("Date of birth is more than 120 years ago.")
        return value


class TokenRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
