"""Check-ins API (../shared/API.md): GET /api/v1/check-ins/ (patient: own; nurse: their
care teams'; admin: all; `?patient=` 404 outside your care), `?status=`."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import NotFound

from patients.roles import role_of
from patients.selectors import patient_for

from ..models import CheckIn, CheckInStatus
from . import checkins


class CheckInSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckIn
        fields = [
            "id",
            "patient",
            "kind",
            "opens_at",
            "closes_at",
            "status",
            "report",
            "asks_bp",
            "focus_codes",
            "completed_at",
        ]
        read_only_fields = fields


class CheckInQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=CheckInStatus.choices, required=False)
    patient = serializers.IntegerField(required=False, min_value=1)
    page = serializers.IntegerField(required=False)
    page_size = serializers.IntegerField(required=False)


class HasRole(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None


@extend_schema(tags=["check-ins"])
class CheckInViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Scheduled check-ins (clinical/checkins.md); the next weekly one is listed ahead as
    `scheduled`."""

    serializer_class = CheckInSerializer
    permission_classes = [permissions.IsAuthenticated, HasRole]
    filter_backends: list = []

    def get_queryset(self):
        qs = checkins.check_ins_visible_to(self.request.user)
        if getattr(self, "swagger_fake_view", False):
            return qs
        query = CheckInQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        patient_id = query.validated_data.get("patient")
        if patient_id is not None:
            try:
                patient = patient_for(self.request.user, patient_id, self.request, "check-ins")
            except Http404 as exc:
                raise NotFound("No such patient.") from exc
            qs = qs.filter(patient=patient)
        if query.validated_data.get("status"):
            qs = qs.filter(status=query.validated_data["status"])
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", int),
            OpenApiParameter("status", str, enum=CheckInStatus.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
