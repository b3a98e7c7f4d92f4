"""Who is who: the three roles are Django groups created by a migration."""

from django.contrib.auth.models import AnonymousUser, User

from .models import Role


def role_of(user: User | AnonymousUser) -> Role | None:
    if not user or not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    names = _group_names(user)
    if Role.ADMIN in names:
        return Role.ADMIN
    if Role.NURSE in names:
        return Role.NURSE
    if Role.PATIENT in names or hasattr(user, "patient"):
        return Role.PATIENT
    return None


def _group_names(user: User) -> set[str]:
    cached = getattr(user, "_role_group_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_group_names = cached
    return cached


def is_admin(user) -> bool:
    return role_of(user) == Role.ADMIN


def is_nurse(user) -> bool:
    return role_of(user) == Role.NURSE


def is_staff_member(user) -> bool:
    """Nurse or admin: the people who look after patients."""
    return role_of(user) in (Role.NURSE, Role.ADMIN)


def is_patient(user) -> bool:
    return role_of(user) == Role.PATIENT


def team_ids_for(user: User) -> list[int]:
    cached = getattr(user, "_care_team_ids", None)
    if cached is None:
        cached = list(user.care_teams.values_list("id", flat=True))
        user._care_team_ids = cached
    return cached
