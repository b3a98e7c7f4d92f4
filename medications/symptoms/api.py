"""Symptom reports API (../shared/API.md): a patient reports symptoms and gets the triage
result in the same response; staff report for a patient in their care, and list reports.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from patients.roles import is_patient, role_of
from patients.selectors import patient_for

from . import selectors, services
from .serializers import (
    SymptomReportCreateSerializer,
    SymptomReportQuerySerializer,
    SymptomReportSerializer,
)

FIELD_MESSAGES = serializers.ListField(child=serializers.CharField(), required=False)
REPORT_ERROR = inline_serializer(
    "SymptomReportError",
    fields={
        "detail": serializers.CharField(required=False),
        "non_field_errors": FIELD_MESSAGES,
        "patient": FIELD_MESSAGES,
        "symptoms": FIELD_MESSAGES,
        "temperature_c": FIELD_MESSAGES,
        "systolic_bp": FIELD_MESSAGES,
        "diastolic_bp": FIELD_MESSAGES,
        "notes": FIELD_MESSAGES,
        "idempotency_key": FIELD_MESSAGES,
    },
)
NOT_FOUND = OpenApiResponse(
    inline_serializer("SymptomReportNotFound", fields={"detail": serializers.CharField()}),
    description="Not found, or not in your care.",
)
BAD_REQUEST = OpenApiResponse(
    REPORT_ERROR,
    description="Bad input: each bad field is named (unknown fields too); nothing is stored.",
)


class HasRole(permissions.BasePermission):
    message = "Only patients and advice-line staff can use symptom reports."

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None


def _patient_or_404(user, patient_id):
    try:
        return patient_for(user, patient_id)
    except Http404 as exc:
        raise NotFound("No such patient.") from exc


@extend_schema(tags=["symptom-reports"])
class SymptomReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Symptom reports and their red/amber/green triage (clinical/triage.md)."""

    serializer_class = SymptomReportSerializer
    permission_classes = [permissions.IsAuthenticated, HasRole]
    filter_backends: list = []

    def get_queryset(self):
        user = self.request.user
        qs = selectors.symptom_reports_visible_to(user)
        if self.action != "list" or getattr(self, "swagger_fake_view", False):
            return qs
        query = SymptomReportQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        if query.validated_data.get("patient") is not None:
            qs = qs.filter(patient=_patient_or_404(user, query.validated_data["patient"]))
        if query.validated_data.get("level"):
            qs = qs.filter(triage_level=query.validated_data["level"])
        return qs

    def get_object(self):
        try:
            return selectors.symptom_report_for(self.request.user, self.kwargs["pk"])
        except Http404 as exc:
            raise NotFound(str(exc)) from exc

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", int, description="Only this patient's reports."),
            OpenApiParameter("level", str, enum=["green", "amber", "red"]),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: SymptomReportSerializer(many=True), 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: SymptomReportSerializer, 404: NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=SymptomReportCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Send the same key when retrying: the report is stored once.",
            )
        ],
        responses={
            201: OpenApiResponse(
                SymptomReportSerializer,
                description="Stored and graded; `triage` says what to do now.",
            ),
            200: OpenApiResponse(
                SymptomReportSerializer,
                description="A resend (same Idempotency-Key, or the same items and values "
                "within 10 minutes): the first report; nothing new is stored or raised.",
            ),
            400: BAD_REQUEST,
            404: NOT_FOUND,
            422: OpenApiResponse(
                REPORT_ERROR, description="This Idempotency-Key was used for another report."
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key.strip()) <= services.IDEMPOTENCY_KEY_MAX_LENGTH):
            raise ValidationError({"idempotency_key": ["Use a key of 1 to 128 characters."]})
        body = SymptomReportCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        patient = self._patient(request.user, data.pop("patient", None))
        try:
            report = services.symptom_report_create(
                patient=patient, data=data, entered_by=request.user, idempotency_key=key
            )
        except services.IdempotencyKeyReused as exc:
            return Response(exc.message_dict, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise ValidationError(exc.message_dict) from exc
            raise ValidationError({"non_field_errors": exc.messages}) from exc
        if report.is_resend:
            response = Response(SymptomReportSerializer(report).data, status=status.HTTP_200_OK)
            response["Idempotent-Replayed"] = "true"
            return response
        return Response(SymptomReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _patient(user, patient_id):
        if is_patient(user):
            # A patient reports for themself; someone else's id reads as "no such patient".
            own = getattr(user, "patient", None)
            if own is None or (patient_id is not None and patient_id != own.pk):
                raise NotFound("No such patient.")
            return _patient_or_404(user, own.pk)
        if patient_id is None:
            raise ValidationError({"patient": ["Give the id of the patient you report for."]})
        return _patient_or_404(user, patient_id)
