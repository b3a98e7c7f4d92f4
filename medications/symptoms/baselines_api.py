"""Expected symptoms (baselines) API (../shared/API.md, "Added in the second round"):
GET and POST /api/v1/patients/{id}/expected-symptoms/, DELETE /api/v1/expected-symptoms/{id}/.
Nurses (their care teams' patients) and admins; anything out of reach answers 404. Every
request that touches a patient is audited by patients.audit (the patient id is in the URL or
the answer)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictFieldsMixin
from patients.permissions import IsStaffMember
from patients.selectors import patient_for

from ..models import ExpectedSymptom
from . import baselines

NOT_FOUND = OpenApiResponse(
    inline_serializer("ExpectedSymptomNotFound", fields={"detail": serializers.CharField()}),
    description="Not found, or not in your care.",
)


class ExpectedSymptomSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = ExpectedSymptom
        fields = [
            "id",
            "patient",
            "code",
            "max_grade",
            "until",
            "reason",
            "created_at",
            "created_by",
            "ended_at",
            "ended_by",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, baseline: ExpectedSymptom) -> bool:
        return baselines.is_active(baseline)


class ExpectedSymptomCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    code = serializers.CharField(max_length=40)
    max_grade = serializers.IntegerField(min_value=1, max_value=ExpectedSymptom.MAX_GRADE)
    until = serializers.DateField(help_text="The last day it applies; at most 30 days ahead.")
    reason = serializers.CharField(max_length=baselines.REASON_MAX_LENGTH)


def _patient_or_404(request, patient_id, what: str = "expected symptoms"):
    try:
        return patient_for(request.user, patient_id, request, what)
    except Http404 as exc:
        raise NotFound("No such patient.") from exc


@extend_schema(tags=["expected-symptoms"])
class PatientExpectedSymptomsView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsStaffMember]

    @extend_schema(responses={200: ExpectedSymptomSerializer(many=True), 404: NOT_FOUND})
    def get(self, request, patient_id):
        patient = _patient_or_404(request, patient_id)
        rows = baselines.expected_symptoms_for_patient(patient)
        for row in rows:
            row.patient = patient
        return Response(ExpectedSymptomSerializer(rows, many=True).data)

    @extend_schema(
        request=ExpectedSymptomCreateSerializer,
        responses={201: ExpectedSymptomSerializer, 404: NOT_FOUND},
    )
    def post(self, request, patient_id):
        patient = _patient_or_404(request, patient_id)
        body = ExpectedSymptomCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            baseline = baselines.expected_symptom_set(
                patient=patient, data=body.validated_data, user=request.user
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(ExpectedSymptomSerializer(baseline).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["expected-symptoms"])
class ExpectedSymptomView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsStaffMember]

    @extend_schema(responses={204: None, 404: NOT_FOUND})
    def delete(self, request, baseline_id):
        baseline = (
            ExpectedSymptom.objects.filter(pk=int(baseline_id)).select_related("patient").first()
            if str(baseline_id).isdigit()
            else None
        )
        if baseline is None:
            raise NotFound("No such expected symptom.")
        # The same scoping rule as every patient record: out of reach reads as missing.
        _patient_or_404(request, baseline.patient_id, f"expected symptom {baseline.pk}")
        baselines.expected_symptom_end(baseline=baseline, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
