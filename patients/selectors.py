"""Reads about people, always scoped to what the asking user may see."""

from django.db.models import QuerySet
from django.http import Http404

from . import audit
from .models import CareTeam, Patient, Role
from .roles import role_of, team_ids_for


def visible_to(
    user, qs: QuerySet, *, patient_path: str | None = "patient", team_path: str = ""
) -> QuerySet:
    """The rows of `qs` a user may see: the one role-scoping rule of the service.

    Admin: all. Nurse: rows of their care teams, found through `team_path` (the row's own
    care team id, e.g. an alert's "care_team_id") or else through the row's patient's team.
    Patient: only rows of their own record. `patient_path` leads from a row to its Patient
    ("" when the rows are patients; None when patients may see none of these rows, e.g.
    alerts). Anyone else: nothing."""
    role = role_of(user)
    if role == Role.ADMIN:
        return qs
    if role == Role.NURSE:
        if not team_path:
            team_path = f"{patient_path}__care_team_id" if patient_path else "care_team_id"
        return qs.filter(**{f"{team_path}__in": team_ids_for(user)})
    if role == Role.PATIENT and patient_path is not None:
        return qs.filter(**{f"{patient_path}__user" if patient_path else "user": user})
    return qs.none()


def get_or_404(qs: QuerySet, pk, what: str):
    """One row by id from an already scoped queryset, or a 404 (never a 403: a 403 would
    confirm the record exists). Ids that cannot exist (not a positive 64-bit integer) are
    a 404 too, before any query."""
    try:
        pk = int(pk)
        if not 0 < pk < 2**63:  # beyond a database integer: cannot exist
            raise ValueError(pk)
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No such {what}.") from exc


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients a user may see: admin all, nurse their care teams', patient only themself."""
    return visible_to(user, Patient.objects.select_related("care_team", "user"), patient_path="")


def patient_for(user, patient_id, request=None, what: str = "") -> Patient:
    """The patient if visible, else 404 (never 403: a 403 would confirm the record exists).

    The read is recorded in the audit trail of the current request (patients/audit.py);
    `what` may say what was read, in non-identifying words ("adherence", "dose 12")."""
    patient = get_or_404(patients_visible_to(user), patient_id, "patient")
    audit.touch(request, patient, what)
    return patient


def care_teams_visible_to(user) -> QuerySet[CareTeam]:
    return visible_to(user, CareTeam.objects.all(), patient_path=None, team_path="id")
