"""API token authentication that reads the user's role in the same query as the token.

DRF's TokenAuthentication loads the token with its user; every API view then asks for the
user's role (patients.roles.role_of), which was one more query per request (the groups
join). Patients log one or two doses a day, so a per-process copy of their role would
rarely be there when they come back: instead the token query says, with three EXISTS, which
role groups the user is in (docs/benchmarks.md, benchmark 2). Always current: nothing kept.
"""

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .models import Role
from .roles import set_group_names

_ROLES = (Role.ADMIN, Role.NURSE, Role.PATIENT)


def _in_group(name: str) -> Exists:
    return Exists(User.groups.through.objects.filter(user_id=OuterRef("user_id"), group__name=name))


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        try:
            token = (
                Token.objects.select_related("user")
                .annotate(**{f"_in_{role}": _in_group(role) for role in _ROLES})
                .get(key=key)
            )
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        set_group_names(token.user, {r for r in _ROLES if getattr(token, f"_in_{r}")})
        return (token.user, token)
