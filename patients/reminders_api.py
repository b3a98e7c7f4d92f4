"""API of dose-reminder settings and push subscriptions (API.md, "Added in the second
round"): GET/PUT /api/v1/patients/{id}/reminders/, GET /api/v1/push/key/,
POST /api/v1/push-subscriptions/, DELETE /api/v1/push-subscriptions/{id}/."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MethodCheckedFirstMixin, StrictFieldsMixin
from core.vapid import vapid_keys

from . import audit
from .models import REMINDER_MINUTES_BEFORE_MAX, ReminderChannel
from .permissions import IsPatient
from .reminders import (
    push_subscription_delete,
    push_subscription_save,
    reminder_settings_update,
    reminder_status,
)
from .selectors import get_or_404, patient_for, patients_visible_to


class ReminderSettingsSerializer(StrictFieldsMixin, serializers.Serializer):
    enabled = serializers.BooleanField()
    minutes_before = serializers.IntegerField(
        min_value=0,
        max_value=REMINDER_MINUTES_BEFORE_MAX,
        error_messages={
            "min_value": f"Choose 0 to {REMINDER_MINUTES_BEFORE_MAX} minutes.",
            "max_value": f"Choose 0 to {REMINDER_MINUTES_BEFORE_MAX} minutes.",
        },
    )


class ReminderStateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Dose reminders on (the default) or off.")
    minutes_before = serializers.IntegerField(
        help_text="Reminders come this many minutes before the due time (0-60)."
    )
    reachable = serializers.BooleanField(
        help_text="Reminders are on, some channel can carry them, and no reminder has failed "
        "on every channel for 48 hours."
    )
    unreachable = serializers.BooleanField(
        help_text='No channel succeeded for 48 hours: staff see "reminders unreachable".'
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=ReminderChannel.choices),
        help_text="The channels that can carry a reminder now, in the order they are tried.",
    )
    devices = serializers.IntegerField(help_text="Devices subscribed to notifications.")
    reached_at = serializers.DateTimeField(
        allow_null=True, help_text="When a reminder last got through."
    )
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="Since when every reminder has failed (null: none is failing)."
    )


def _state(patient) -> dict:
    current = reminder_status(patient)
    return {
        "enabled": current.enabled,
        "minutes_before": current.minutes_before,
        "reachable": current.reachable,
        "unreachable": current.unreachable,
        "channels": current.channels,
        "devices": len(current.devices),
        "reached_at": current.reached_at,
        "failing_since": current.failing_since,
    }


class PatientRemindersView(MethodCheckedFirstMixin, APIView):
    """A patient's dose-reminder setting (the patient, their team's nurses, admins)."""

    @extend_schema(responses=ReminderStateSerializer, operation_id="patients_reminders_retrieve")
    def get(self, request, patient_id):
        patient = patient_for(request.user, patient_id, request, "reminder settings")
        return Response(ReminderStateSerializer(_state(patient)).data)

    @extend_schema(
        request=ReminderSettingsSerializer,
        responses=ReminderStateSerializer,
        operation_id="patients_reminders_update",
    )
    def put(self, request, patient_id):
        patient = patient_for(request.user, patient_id, request, "reminder settings")
        serializer = ReminderSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reminder_settings_update(
            patient=patient,
            enabled=serializer.validated_data["enabled"],
            minutes_before=serializer.validated_data["minutes_before"],
        )
        return Response(ReminderStateSerializer(_state(patient)).data)


class PushKeyView(MethodCheckedFirstMixin, APIView):
    """The server's VAPID public key: PushManager.subscribe's applicationServerKey."""

    @extend_schema(
        responses={
            200: inline_serializer("PushKey", {"public_key": serializers.CharField()}),
            503: OpenApiResponse(description="Push is not configured on this server."),
        }
    )
    def get(self, request):
        keys = vapid_keys()
        if keys is None:
            return Response(
                {"detail": "Notifications are not available on this server."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response({"public_key": keys.public_key})


class PushSubscriptionKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionSerializer(StrictFieldsMixin, serializers.Serializer):
    """The browser's PushSubscription JSON (PushSubscription.toJSON())."""

    endpoint = serializers.CharField(max_length=1000)
    keys = PushSubscriptionKeysSerializer()
    expirationTime = serializers.IntegerField(  # noqa: N815 - the browser's own name
        required=False, allow_null=True, help_text="Sent by browsers; not used."
    )


class PushSubscriptionsView(MethodCheckedFirstMixin, APIView):
    """Subscribe this browser to the signed-in patient's reminders. The body is checked
    first (a 400 names each field), then the role (only a patient has reminders: 403)."""

    @extend_schema(
        request=PushSubscriptionSerializer,
        responses={
            201: inline_serializer("PushSubscriptionCreated", {"id": serializers.IntegerField()}),
            200: OpenApiResponse(description="The same endpoint again: updated; `{id}`."),
            503: OpenApiResponse(description="Push is not configured on this server."),
        },
    )
    def post(self, request):
        if vapid_keys() is None:
            return Response(
                {"detail": "Notifications are not available on this server."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        serializer = PushSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not IsPatient().has_permission(request, self):
            raise PermissionDenied("Only a patient can subscribe their device to reminders.")
        data = serializer.validated_data
        own = getattr(request.user, "patient", None)
        patient = get_or_404(patients_visible_to(request.user), own.pk if own else 0, "patient")
        subscription, created = push_subscription_save(
            patient=patient,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        audit.touch(request, patient, f"push subscription {subscription.pk}")
        return Response(
            {"id": subscription.pk},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PushSubscriptionDetailView(MethodCheckedFirstMixin, APIView):
    """Unsubscribe one of the signed-in patient's devices (another's: 404)."""

    permission_classes = [permissions.IsAuthenticated, IsPatient]

    @extend_schema(responses={204: None})
    def delete(self, request, subscription_id):
        own = getattr(request.user, "patient", None)
        patient = get_or_404(patients_visible_to(request.user), own.pk if own else 0, "patient")
        if not 0 < subscription_id < 2**63 or not push_subscription_delete(
            patient=patient, subscription_id=subscription_id
        ):
            return Response({"detail": "No such subscription."}, status=status.HTTP_404_NOT_FOUND)
        audit.touch(request, patient, f"push subscription {subscription_id}")
        return Response(status=status.HTTP_204_NO_CONTENT)
