"""Reads about people, always scoped to what the asking user may see."""

from django.db.models import QuerySet
from django.http import Http404

from . import audit
from .models import CareTeam, Patient, Role
from .roles import role_of, team_ids_for


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients a user may see: admin all, nurse their care teams', patient only themself."""
    role = role_of(user)
    qs = Patient.objects.select_related("care_team", "user")
    if role == Role.ADMIN:
        return qs
    if role == Role.NURSE:
        return qs.for_team_ids(team_ids_for(user))
    if role == Role.PATIENT:
        return qs.filter(user=user)
    return qs.none()


def patient_for(user, patient_id, request=None, what: str = "") -> Patient:
    """The patient if visible, else 404 (never 403: a 403 would confirm the record exists).

    The read is recorded in the audit trail of the current request (patients/audit.py);
    `what` may say what was read, in non-identifying words ("adherence", "dose 12")."""
    try:
        pk = int(patient_id)
        if not 0 < pk < 2**63:  # beyond a database integer: cannot exist
            raise ValueError(pk)
        patient = patients_visible_to(user).get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such patient.") from exc
    audit.touch(request, patient, what)
    return patient


def care_teams_visible_to(user) -> QuerySet[CareTeam]:
    role = role_of(user)
    if role == Role.ADMIN:
        return CareTeam.objects.all()
    if role == Role.NURSE:
        return CareTeam.objects.filter(id__in=team_ids_for(user))
    return CareTeam.objects.none()
