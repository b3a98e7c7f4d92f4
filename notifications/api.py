"""Alerts API (../shared/API.md): list for the advice-line team, acknowledge, resolve.

Thin views: a serializer checks input, a selector scopes (another team's alert is a 404),
a service writes with a conditional update. Patients have no access (403).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from patients.permissions import IsStaffMember

from . import selectors, services
from .models import AlertKind, AlertLevel, AlertStatus
from .serializers import (
    AlertAcknowledgeSerializer,
    AlertDetailSerializer,
    AlertQuerySerializer,
    AlertResolveSerializer,
    AlertSerializer,
)

ERROR = inline_serializer(
    "AlertError",
    fields={
        "detail": serializers.CharField(required=False),
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
NOT_FOUND = OpenApiResponse(ERROR, description="No such alert, or not one of your teams'.")
FORBIDDEN = OpenApiResponse(ERROR, description="Only advice-line staff (nurse, admin).")
BAD_REQUEST = OpenApiResponse(ERROR, description="Bad input: each bad field is named.")


def _run(call, **kwargs):
    try:
        return call(**kwargs)
    except DjangoValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise ValidationError(exc.message_dict) from exc
        raise ValidationError({"non_field_errors": exc.messages}) from exc


@extend_schema_view(
    list=extend_schema(
        summary="The advice-line alert queue",
        description="Alerts of the care teams you belong to (admin: all), red first, then "
        "amber, then green; oldest first within a level. `overdue`: still open (not "
        "acknowledged) past `due_by` (red 30 min, amber 4 h, green 09:00 next working day).",
        parameters=[
            OpenApiParameter("status", str, enum=AlertStatus.values),
            OpenApiParameter("level", str, enum=AlertLevel.values),
            OpenApiParameter("kind", str, enum=AlertKind.values),
            OpenApiParameter("patient", int, description="Only this patient's alerts."),
            OpenApiParameter("overdue", bool, description="Only overdue (or not overdue)."),
        ],
        responses={200: AlertSerializer(many=True), 400: BAD_REQUEST, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One alert with its history",
        responses={200: AlertDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, IsStaffMember]
    serializer_class = AlertSerializer
    filter_backends: list = []

    def get_queryset(self):
        query = AlertQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        return selectors.alert_queue_for(
            self.request.user,
            # API.md: without ?status= the list is every alert, resolved ones included.
            status=params.get("status") or list(AlertStatus.values),
            level=params.get("level"),
            kind=params.get("kind"),
            patient_id=params.get("patient"),
            overdue=params.get("overdue"),
        )

    def get_serializer_class(self):
        return AlertDetailSerializer if self.action == "retrieve" else AlertSerializer

    def get_object(self):
        try:
            return selectors.alert_for(self.request.user, self.kwargs["pk"])
        except Http404 as exc:
            raise NotFound("No such alert.") from exc

    def _answer(self, alert):
        fresh = selectors.alert_for(self.request.user, alert.pk)
        return Response(AlertDetailSerializer(fresh).data)

    @extend_schema(
        summary="Acknowledge an alert",
        description="Open -> acknowledged, with who and when. Acknowledging again changes "
        "nothing; a resolved alert cannot be acknowledged (400).",
        request=AlertAcknowledgeSerializer,
        responses={200: AlertDetailSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = self.get_object()
        if request.data:
            AlertAcknowledgeSerializer(data=request.data).is_valid(raise_exception=True)
        _run(services.alert_acknowledge, alert=alert, user=request.user)
        return self._answer(alert)

    @extend_schema(
        summary="Resolve an alert with an outcome and a note",
        description="Outcomes that act: treatment_held holds `prescriptions`, dose_reduced "
        "moves a prescription down its ladder to `dose_mg`, in the same transaction, with "
        "the note as the reason; same_day_assessment keeps `attend_at`.",
        request=AlertResolveSerializer,
        responses={200: AlertDetailSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        alert = self.get_object()
        body = AlertResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        _run(
            services.alert_resolve,
            alert=alert,
            user=request.user,
            outcome=data["outcome"],
            note=data["note"],
            message_to_patient=data.get("message_to_patient", ""),
            prescription_ids=data.get("prescriptions") or (),
            dose_mg=data.get("dose_mg"),
            attend_at=data.get("attend_at"),
            end_follow_up=data.get("end_follow_up", False),
        )
        return self._answer(alert)
