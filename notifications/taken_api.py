"""POST {taken_url}: a dose reminder's "Taken" action (API.md, "push payload"). No session
and no body: the signed, single-use link is the authority, for that one dose, until its late
window closes. Audited as the patient's own log through the push channel."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core.api import MethodCheckedFirstMixin
from patients import audit

from .services.taken_link import dose_taken_by_link
from .taken_links import TakenLinkError

REFUSALS = {
    "invalid": (status.HTTP_404_NOT_FOUND, "This link is not valid."),
    "expired": (
        status.HTTP_410_GONE,
        "This reminder has expired: the time to take this dose has passed.",
    ),
    "used": (status.HTTP_409_CONFLICT, "This dose has already been recorded."),
    "refused": (status.HTTP_409_CONFLICT, "This dose cannot be recorded from the reminder."),
}


class DoseTakenByLinkView(MethodCheckedFirstMixin, APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="push_taken_create",
        summary='A dose reminder\'s "Taken" action',
        description="The push payload's `taken_url`: POST with no body and no session. Logs "
        "that one dose as taken now (once); refused after use, for another dose, after the "
        "dose's late window closed, or with an altered link, and nothing is logged.",
        request=None,
        parameters=[OpenApiParameter("t", str, required=True, description="The signed token.")],
        responses={
            201: inline_serializer(
                "DoseTakenByLink",
                {"dose": serializers.IntegerField(), "state": serializers.CharField()},
            ),
            404: OpenApiResponse(description="Not a valid link (altered, or another dose)."),
            409: OpenApiResponse(description="Already recorded (link used, or dose logged)."),
            410: OpenApiResponse(description="Expired: the dose's window has closed."),
        },
    )
    def post(self, request, dose_id: int):
        try:
            done = dose_taken_by_link(
                dose_id=dose_id, token=request.query_params.get("t", ""), now=timezone.now()
            )
        except TakenLinkError as exc:
            code, message = REFUSALS.get(exc.reason, REFUSALS["invalid"])
            return Response({"detail": message, "reason": exc.reason}, status=code)
        patient = done.dose.patient
        audit.record_without_session(
            request,
            user=patient.user,
            patient=patient,
            action="create",
            what=f"dose {dose_id} taken; via push reminder (Taken link); log {done.log_id}",
            status_code=status.HTTP_201_CREATED,
        )
        return Response(
            {"dose": done.dose.pk, "state": done.dose.state}, status=status.HTTP_201_CREATED
        )
