"""Who is who: the three roles are Django groups created by a migration.

A user's group names are kept per process for PROCESS_CACHE_SECONDS (core/process_cache.py):
every API request asks for the role, and the groups query was one of the statements a dose
log paid for and a constant endpoint does not (docs/benchmarks.md, benchmark 2). Adding or
removing a user's group, saving or deleting the user or a group drops the copy in this
process at once; other processes see the change within PROCESS_CACHE_SECONDS.
"""

from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models.signals import m2m_changed, post_delete, post_save

from core.process_cache import ProcessCache

from .models import Role

_GROUP_NAMES: ProcessCache[frozenset[str]] = ProcessCache("role group names")


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
        cached = _GROUP_NAMES.get(
            user.pk, lambda: frozenset(user.groups.values_list("name", flat=True))
        )
        user._role_group_names = cached
    return cached


def set_group_names(user: User, names) -> None:
    """The role groups of `user`, read with the user (patients/authentication.py): role_of
    then asks nothing more. Only the three role groups matter to role_of."""
    user._role_group_names = frozenset(names)


def _user_changed(sender, instance, **kwargs) -> None:
    _GROUP_NAMES.forget(instance.pk)


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    if not reverse:  # user.groups.add(...): one user
        _GROUP_NAMES.forget(instance.pk)
    elif pk_set:  # group.user_set.add(...): these users
        for pk in pk_set:
            _GROUP_NAMES.forget(pk)
    else:  # group.user_set.clear(): whoever was in it
        _GROUP_NAMES.clear()


def _group_changed(sender, **kwargs) -> None:
    _GROUP_NAMES.clear()


post_save.connect(_user_changed, sender=User, dispatch_uid="patients.roles.user_saved")
post_delete.connect(_user_changed, sender=User, dispatch_uid="patients.roles.user_deleted")
m2m_changed.connect(
    _groups_changed, sender=User.groups.through, dispatch_uid="patients.roles.groups_changed"
)
post_save.connect(_group_changed, sender=Group, dispatch_uid="patients.roles.group_saved")
post_delete.connect(_group_changed, sender=Group, dispatch_uid="patients.roles.group_deleted")


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
