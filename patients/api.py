from django.contrib.auth import authenticate
from django.db.models import Exists, OuterRef
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .models import CareTeam, PushSubscription
from .permissions import IsStaffMember
from .roles import is_admin, team_ids_for
from .selectors import patients_visible_to
from .serializers import (
    PatientCreateSerializer,
    PatientSerializer,
    PatientUpdateSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from .services import patient_create, patient_update
from .tokens import ExpiringTokenAuthentication, token_for


class TokenView(APIView):
    """POST: exchange a username and password for an API token. DELETE: end the token this
    request is signed with (patients/tokens.py)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def get_authenticators(self):
        if getattr(self.request, "method", "") == "DELETE":
            return [ExpiringTokenAuthentication()]
        return []

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    def get_throttles(self):
        if self.request.method == "DELETE":
            return []
        return super().get_throttles()

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        Token.objects.filter(pk=request.auth.pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The Django request, not DRF's wrapper: django-axes marks a locked-out attempt on it,
        # and its middleware then answers 429 (tracker/security.py) instead of this view.
        user = authenticate(request._request, **serializer.validated_data)
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to sign in with those details."]})
        return Response({"token": token_for(user).key})


class PatientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PatientSerializer

    def get_queryset(self):
        return (
            patients_visible_to(self.request.user)
            .annotate(
                has_push_subscription=Exists(
                    PushSubscription.objects.filter(patient=OuterRef("pk"))
                )
            )
            .order_by("id")
        )

    def get_permissions(self):
        if self.action in ("create", "list", "partial_update"):
            return [permissions.IsAuthenticated(), IsStaffMember()]
        return [permissions.IsAuthenticated()]

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer})
    def create(self, request, *args, **kwargs):
        serializer = PatientCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = data.pop("care_team", None)
        user = request.user
        if is_admin(user):
            if team is None:
                team = CareTeam.objects.order_by("id").first()
                if team is None:
                    raise ValidationError({"care_team": ["Create a care team first."]})
        else:
            my_teams = team_ids_for(user)
            if team is None:
                if len(my_teams) != 1:
                    raise ValidationError(
                        {"care_team": ["Choose which of your care teams this patient joins."]}
                    )
                team = CareTeam.objects.get(pk=my_teams[0])
            elif team.pk not in my_teams:
                raise ValidationError({"care_team": ["You can only enrol patients in your teams."]})
        later = {
            name: data.pop(name) for name in ("mobile_phone", "has_bp_monitor") if name in data
        }
        patient = patient_create(care_team=team, **data)
        if later:
            patient = patient_update(patient=patient, data=later)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PatientUpdateSerializer, responses={200: PatientSerializer})
    def partial_update(self, request, *args, **kwargs):
        """PATCH: change contact details, the home blood pressure monitor, weight,
        Child-Pugh class, performance status or time zone (audited)."""
        patient = self.get_object()
        body = PatientUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        patient = patient_update(patient=patient, data=dict(body.validated_data))
        return Response(PatientSerializer(self.get_object()).data)
