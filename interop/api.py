"""GET /api/v1/patients/{id}/export/: everything held about a patient as one JSON document
(API.md, "Added in the second round"; UK GDPR right of access). The patient gets their own
(without notes staff wrote for each other); an admin gets the complete document. A nurse
of the patient's team is refused (403: a subject access request goes through an admin);
anyone else gets 404."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.roles import is_admin, is_patient
from patients.selectors import patient_for

from .patient_export import FORMAT, patient_export

EXPORT_SCHEMA = inline_serializer(
    "PatientExport",
    fields={
        "format": serializers.CharField(help_text=f"Always {FORMAT!r}."),
        "generated_at": serializers.DateTimeField(),
        "complete": serializers.BooleanField(
            help_text="True for an admin's export; the patient's own leaves out staff notes."
        ),
        "note": serializers.CharField(),
        "patient": serializers.DictField(help_text="Every field of the patient record."),
        "account": serializers.DictField(help_text="Sign-in account: username, e-mail, dates."),
        "prescriptions": serializers.ListField(
            child=serializers.DictField(), help_text="With their events (history) and holds."
        ),
        "expected_doses": serializers.ListField(
            child=serializers.DictField(), help_text="Every dose, with its logs."
        ),
        "symptom_reports": serializers.ListField(child=serializers.DictField()),
        "alerts": serializers.ListField(child=serializers.DictField()),
        "audit_events": serializers.ListField(
            child=serializers.DictField(), help_text="Who read or changed the record, when."
        ),
        "fhir_bundle": serializers.DictField(
            help_text="The FHIR R4 Patient/$everything Bundle of the same record."
        ),
    },
)


class PatientExportView(APIView):
    """Everything held about the patient, as one JSON document."""

    @extend_schema(
        parameters=[OpenApiParameter("patient_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={
            200: OpenApiResponse(
                EXPORT_SCHEMA,
                description="The document; other sections appear as the service holds more "
                "kinds of data (each a list of rows).",
            ),
            403: OpenApiResponse(description="A nurse: exports are for the patient or an admin."),
            404: OpenApiResponse(description="No such patient, or not in your reach."),
        },
    )
    def get(self, request, patient_id: str):
        if not (patient_id.isdigit() and len(patient_id) <= 18):
            raise NotFound("No such patient.")
        try:
            patient = patient_for(request.user, patient_id, request, "export")
        except Http404 as exc:
            raise NotFound("No such patient.") from exc
        admin = is_admin(request.user)
        if not admin and not (is_patient(request.user) and patient.user_id == request.user.pk):
            raise PermissionDenied("Exports are for the patient themself or an admin.")
        document = patient_export(
            patient, for_staff=admin, base_url=request.build_absolute_uri("/fhir/r4").rstrip("/")
        )
        response = Response(document)
        if request.query_params.get("download"):
            response["Content-Disposition"] = (
                f'attachment; filename="patient-{patient.pk}-export.json"'
            )
        return response
