"""Medications API (../shared/API.md): drugs, prescriptions and their clinical decisions,
infusion courses and appointments, expected doses, dose logging and adherence.

Thin views: a serializer checks the body, a selector scopes the objects (out of reach is a
404), a service writes. Service ValidationErrors become 400s naming each field.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.permissions import IsStaffMember
from patients.roles import is_patient
from patients.selectors import patient_for

from . import selectors, services
from .models import DoseState
from .serializers import (
    AdherenceQuerySerializer,
    AdherenceSerializer,
    ChangeDoseSerializer,
    DoseLogRequestSerializer,
    DoseLogResponseSerializer,
    DoseQuerySerializer,
    DoseSerializer,
    DrugSerializer,
    HoldSerializer,
    InfusionAppointmentSerializer,
    InfusionCourseCreateSerializer,
    InfusionCourseSerializer,
    InfusionGivenSerializer,
    InfusionRescheduleSerializer,
    PrescriptionCreateSerializer,
    PrescriptionSerializer,
    ResumeSerializer,
    StopSerializer,
)

ERROR = inline_serializer(
    "MedicationError",
    fields={
        "detail": serializers.CharField(required=False),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
CHECKS_ERROR = inline_serializer(
    "PrescribingChecksError",
    fields={
        "prescribing_checks": serializers.ListField(
            child=inline_serializer(
                "UnmetCheck",
                fields={
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                    "overridable": serializers.BooleanField(),
                },
            ),
            required=False,
        ),
        "override_reason": serializers.ListField(child=serializers.CharField(), required=False),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
NOT_FOUND = OpenApiResponse(ERROR, description="Not found, or not in your care.")
INVALID_PAGE = OpenApiResponse(ERROR, description="No such page.")
STAFF_ONLY = OpenApiResponse(ERROR, description="Only advice-line staff (nurse, admin).")
BAD_REQUEST = OpenApiResponse(ERROR, description="Bad input: each bad field is named.")


def _run(call, **kwargs):
    """Call a service; its ValidationErrors become DRF 400s (prescribing checks listed)."""
    try:
        return call(**kwargs)
    except services.PrescribingChecksNotMet as exc:
        raise ValidationError({**exc.message_dict, "prescribing_checks": exc.unmet}) from exc
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError(exc.message_dict) from exc
        raise ValidationError({"non_field_errors": exc.messages}) from exc


def _valid(serializer_class, data, request):
    serializer = serializer_class(data=data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class _ScopedObjectMixin:
    """Objects come from a scoped selector: anything out of reach is a JSON 404."""

    def get_object(self):
        try:
            obj = self.object_for(self.request.user, self.kwargs[self.lookup_field])
        except Http404 as exc:
            raise NotFound(str(exc)) from exc
        return obj


@extend_schema_view(
    list=extend_schema(responses={200: DrugSerializer(many=True)}),
    retrieve=extend_schema(responses={200: DrugSerializer, 404: NOT_FOUND}),
)
class DrugViewSet(viewsets.ReadOnlyModelViewSet):
    """The drug catalogue (clinical/drugs.md)."""

    serializer_class = DrugSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"  # anything odd is a JSON 404 from the view, not HTML
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return selectors.drugs_list()


@extend_schema_view(retrieve=extend_schema(responses={200: PrescriptionSerializer, 404: NOT_FOUND}))
class PrescriptionViewSet(
    _ScopedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PrescriptionSerializer
    filter_backends: list = []
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        qs = selectors.prescriptions_visible_to(self.request.user).order_by("-recorded_at", "-id")
        params = self.request.query_params
        if params.get("patient"):
            if not params["patient"].isdigit() or len(params["patient"]) > 18:
                raise ValidationError({"patient": ["Give the patient's id (a whole number)."]})
            qs = qs.filter(patient_id=int(params["patient"]))
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        if params.get("drug"):
            qs = qs.filter(drug__code=params["drug"])
        return qs

    def object_for(self, user, pk):
        return selectors.prescription_for(user, pk)

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [permissions.IsAuthenticated()]
        return [permissions.IsAuthenticated(), IsStaffMember()]

    def _answer(self, prescription, code=status.HTTP_200_OK):
        fresh = selectors.prescription_for(self.request.user, prescription.pk)
        return Response(PrescriptionSerializer(fresh).data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", int, description="Only this patient's prescriptions."),
            OpenApiParameter("status", str, enum=["active", "held", "stopped"]),
            OpenApiParameter("drug", str, description="Drug code."),
        ],
        responses={200: PrescriptionSerializer(many=True), 400: BAD_REQUEST, 404: INVALID_PAGE},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=PrescriptionCreateSerializer,
        responses={
            201: PrescriptionSerializer,
            403: STAFF_ONLY,
            400: OpenApiResponse(
                CHECKS_ERROR,
                description="Bad input, or prescribing checks not met (each listed) and no "
                "override_reason given.",
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        data = _valid(PrescriptionCreateSerializer, request.data, request)
        prescription = _run(
            services.prescription_create,
            patient=data["patient"],
            drug=data["drug"],
            dose_mg=data.get("dose_mg"),
            times=data["times"],
            start_date=data["start_date"],
            end_date=data.get("end_date"),
            cycle_days_on=data.get("cycle_days_on"),
            cycle_days_off=data.get("cycle_days_off"),
            override_reason=data.get("override_reason", ""),
            recorded_by=request.user,
        )
        return self._answer(prescription, status.HTTP_201_CREATED)

    @extend_schema(
        request=HoldSerializer,
        responses={200: PrescriptionSerializer, 400: BAD_REQUEST, 403: STAFF_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        prescription = self.get_object()
        data = _valid(HoldSerializer, request.data, request)
        _run(
            services.prescription_hold,
            prescription=prescription,
            reason=data["reason"],
            starts_at=data.get("from"),
            ends_at=data.get("until"),
            recorded_by=request.user,
        )
        return self._answer(prescription)

    @extend_schema(
        request=ResumeSerializer,
        responses={200: PrescriptionSerializer, 400: BAD_REQUEST, 403: STAFF_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        prescription = self.get_object()
        data = _valid(ResumeSerializer, request.data, request)
        _run(
            services.prescription_resume,
            prescription=prescription,
            reason=data["reason"],
            recorded_by=request.user,
        )
        return self._answer(prescription)

    @extend_schema(
        request=ChangeDoseSerializer,
        responses={200: PrescriptionSerializer, 400: BAD_REQUEST, 403: STAFF_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="change-dose")
    def change_dose(self, request, pk=None):
        prescription = self.get_object()
        data = _valid(ChangeDoseSerializer, request.data, request)
        _run(
            services.prescription_change_dose,
            prescription=prescription,
            dose_mg=data["dose_mg"],
            reason=data["reason"],
            effective_at=data.get("from"),
            times=data.get("times"),
            ladder_step=data.get("ladder_step"),
            override_reason=data.get("override_reason", ""),
            recorded_by=request.user,
        )
        return self._answer(prescription)

    @extend_schema(
        request=StopSerializer,
        responses={200: PrescriptionSerializer, 400: BAD_REQUEST, 403: STAFF_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        prescription = self.get_object()
        data = _valid(StopSerializer, request.data, request)
        _run(
            services.prescription_stop,
            prescription=prescription,
            reason=data["reason"],
            stopped_at=data.get("at"),
            recorded_by=request.user,
        )
        return self._answer(prescription)


@extend_schema_view(
    list=extend_schema(responses={200: InfusionCourseSerializer(many=True), 404: INVALID_PAGE}),
    retrieve=extend_schema(responses={200: InfusionCourseSerializer, 404: NOT_FOUND}),
)
class InfusionCourseViewSet(
    _ScopedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InfusionCourseSerializer
    filter_backends: list = []
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.infusion_courses_visible_to(self.request.user).order_by("-id")

    def object_for(self, user, pk):
        return selectors.infusion_course_for(user, pk)

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [permissions.IsAuthenticated()]
        return [permissions.IsAuthenticated(), IsStaffMember()]

    @extend_schema(
        request=InfusionCourseCreateSerializer,
        responses={
            201: InfusionCourseSerializer,
            400: OpenApiResponse(CHECKS_ERROR, description="Bad input or checks not met."),
            403: STAFF_ONLY,
        },
    )
    def create(self, request, *args, **kwargs):
        data = _valid(InfusionCourseCreateSerializer, request.data, request)
        course = _run(
            services.infusion_course_create,
            patient=data["patient"],
            drugs=data["drugs"],
            first_infusion_at=data["first_infusion_at"],
            interval_days=data["interval_days"],
            location=data.get("location", ""),
            override_reason=data.get("override_reason", ""),
            recorded_by=request.user,
        )
        course = selectors.infusion_courses_visible_to(request.user).get(pk=course.pk)
        return Response(InfusionCourseSerializer(course).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        responses={200: InfusionAppointmentSerializer(many=True), 404: INVALID_PAGE}
    ),
    retrieve=extend_schema(responses={200: InfusionAppointmentSerializer, 404: NOT_FOUND}),
)
class InfusionAppointmentViewSet(
    _ScopedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InfusionAppointmentSerializer
    filter_backends: list = []
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.appointments_visible_to(self.request.user).order_by("scheduled_at", "id")

    def object_for(self, user, pk):
        return selectors.appointment_for(user, pk)

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [permissions.IsAuthenticated()]
        return [permissions.IsAuthenticated(), IsStaffMember()]

    @extend_schema(
        request=InfusionGivenSerializer,
        responses={
            200: InfusionAppointmentSerializer,
            400: BAD_REQUEST,
            403: STAFF_ONLY,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def given(self, request, pk=None):
        appointment = self.get_object()
        data = _valid(InfusionGivenSerializer, request.data, request)
        appointment = _run(
            services.infusion_mark_given,
            appointment=appointment,
            given_at=data.get("given_at") or timezone.now(),
            recorded_by=request.user,
        )
        return Response(InfusionAppointmentSerializer(appointment).data)

    @extend_schema(
        request=InfusionRescheduleSerializer,
        responses={
            200: InfusionAppointmentSerializer,
            400: BAD_REQUEST,
            403: STAFF_ONLY,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        appointment = self.get_object()
        data = _valid(InfusionRescheduleSerializer, request.data, request)
        appointment = _run(
            services.infusion_reschedule,
            appointment=appointment,
            scheduled_at=data["scheduled_at"],
            reason=data["reason"],
            recorded_by=request.user,
        )
        return Response(InfusionAppointmentSerializer(appointment).data)


def _log_answer(result: services.DoseLogResult) -> dict:
    dose = result.dose
    body = DoseSerializer(dose).data
    log = result.log
    body["log"] = {
        "id": log.pk,
        "action": log.action,
        "at": serializers.DateTimeField().to_representation(log.at),
        "reason": log.reason,
        "note": log.note,
        "recorded_at": serializers.DateTimeField().to_representation(log.recorded_at),
    }
    body["taken_outside_window"] = result.taken_outside_window
    body["rule"] = (
        dose.prescription.drug.missed_dose_advice if dose.state == DoseState.TAKEN_LATE else None
    )
    body["symptom_report_suggested"] = result.symptom_report_suggested
    return body


@extend_schema_view(retrieve=extend_schema(responses={200: DoseSerializer, 404: NOT_FOUND}))
class DoseViewSet(
    _ScopedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Expected doses of oral drugs, with their state (clinical/adherence.md)."""

    serializer_class = DoseSerializer
    filter_backends: list = []
    lookup_value_regex = "[^/]+"

    def object_for(self, user, pk):
        return selectors.dose_for(user, pk)

    def get_queryset(self):
        user = self.request.user
        qs = selectors.doses_visible_to(user)
        if self.action != "list" or getattr(self, "swagger_fake_view", False):
            return qs
        query = _valid(DoseQuerySerializer, self.request.query_params.dict(), self.request)
        zone = timezone.get_default_timezone()
        if query.get("patient") is not None:
            try:
                patient = patient_for(user, query["patient"])
            except Http404 as exc:
                raise NotFound("No such patient.") from exc
            qs = qs.filter(patient=patient)
            zone = patient.zone
        elif is_patient(user) and hasattr(user, "patient"):
            zone = user.patient.zone
        today = timezone.now().astimezone(zone).date()
        first = query.get("from") or today - timedelta(days=7)
        last = query.get("to") or max(first, today) + timedelta(days=7)
        if (last - first).days > 366:
            raise ValidationError({"to": ["Ask for at most 366 days at once."]})
        if last < first:
            raise ValidationError({"to": ["'to' is before 'from'."]})
        return selectors.doses_between(qs, first_day=first, last_day=last, zone=zone)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="First local day (default: 7 days ago)."
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description="Last local day (default: 7 days ahead)."
            ),
            OpenApiParameter("patient", int, description="Staff: only this patient's doses."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: DoseSerializer(many=True),
            400: BAD_REQUEST,
            403: STAFF_ONLY,
            404: NOT_FOUND,
        },
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=DoseLogRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="Send the same key when retrying: the dose is logged once.",
            )
        ],
        responses={
            200: OpenApiResponse(DoseLogResponseSerializer, description="A retry: logged before."),
            201: OpenApiResponse(DoseLogResponseSerializer, description="Logged."),
            400: BAD_REQUEST,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def log(self, request, pk=None):
        data = _valid(DoseLogRequestSerializer, request.data, request)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key.strip()) <= 128):
            raise ValidationError({"idempotency_key": ["Use a key of 1 to 128 characters."]})
        try:
            # The service finds the dose among those this user may see and locks it, in
            # one query (docs/benchmarks.md, benchmark 2).
            result = _run(
                services.dose_log,
                dose=pk,
                visible=selectors.dose_rows_for(request.user),
                action=data["action"],
                at=data.get("at"),
                reason=data.get("reason", ""),
                note=data.get("note", ""),
                recorded_by=request.user,
                idempotency_key=key,
            )
        except Http404 as exc:
            raise NotFound(str(exc)) from exc
        response = Response(
            _log_answer(result),
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
        if not result.created:
            response["Idempotent-Replayed"] = "true"
        return response


class PatientAdherenceView(APIView):
    """Adherence per prescription and overall (clinical/adherence.md)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("patient_id", int, location=OpenApiParameter.PATH),
            OpenApiParameter(
                "days",
                str,
                description='Window in local days ending today: 7, 28 (default), ... or "all".',
            ),
        ],
        responses={200: AdherenceSerializer, 400: BAD_REQUEST, 403: STAFF_ONLY, 404: NOT_FOUND},
    )
    def get(self, request, patient_id: str):
        if not (patient_id.isdigit() and len(patient_id) <= 18):
            raise NotFound("No such patient.")
        try:
            patient = patient_for(request.user, patient_id)
        except Http404 as exc:
            raise NotFound("No such patient.") from exc
        query = _valid(AdherenceQuerySerializer, request.query_params.dict(), request)
        days = query.get("days", 28)
        result = selectors.adherence_for_patient(patient, days=days)
        return Response(adherence_body(result))


def adherence_body(result: selectors.PatientAdherence) -> dict:
    """The API shape of a patient's adherence (also used by the HTML pages)."""
    return {
        "patient": result.patient.pk,
        "days": result.days,
        "from": result.first_day,
        "to": result.last_day,
        "overall": result.overall.as_dict(),
        "prescriptions": [
            {
                "prescription": item.prescription.pk,
                "drug": item.prescription.drug.code,
                "status": item.prescription.status,
                **item.doses.as_dict(),
                "first_taken_at": item.first_taken_at,
                "persistence_days": item.persistence_days,
            }
            for item in result.prescriptions
        ],
        "infusion_courses": [
            {"course": item.course.pk, "drugs": item.course.drugs, **item.infusions.as_dict()}
            for item in result.courses
        ],
    }
