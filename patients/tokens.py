"""API token lifecycle (issue 17, finding 5; API.md "Added in the second round").

* A token expires `API_TOKEN_TTL_DAYS` (30) days after its last use: each use slides it on
  (the token's `created` is moved to now, at most once an hour, by a conditional UPDATE, so a
  busy client costs one write an hour, not one per request).
* `DELETE /api/v1/auth/token/` ends the caller's token (patients/api.py).
* A password change ends every token of that user (a `pre_save` receiver: every path that
  changes a password, the account page, the admin, `changepassword`, goes through it; Django
  itself ends the user's other sessions then).
* An admin's "Sign out everywhere" ends every token and every session of the chosen users
  (`user_sign_out_everywhere`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models.signals import pre_save
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authtoken.models import Token

from .authentication import TokenAuthentication

logger = logging.getLogger(__name__)
SLIDE_EVERY = timedelta(hours=1)
EXPIRED_MESSAGE = "This token has expired. Sign in again to get a new one."


def token_ttl() -> timedelta:
    return timedelta(days=float(getattr(settings, "API_TOKEN_TTL_DAYS", 30)))


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (reading the user's role groups with the token:
    patients/authentication.py), with expiry after `API_TOKEN_TTL_DAYS` without use."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        now = timezone.now()
        if token.created < now - token_ttl():
            Token.objects.filter(pk=token.pk, created=token.created).delete()
            raise exceptions.AuthenticationFailed(EXPIRED_MESSAGE)
        if token.created < now - SLIDE_EVERY:
            Token.objects.filter(pk=token.pk, created=token.created).update(created=now)
            token.created = now
        return user, token


def token_for(user) -> Token:
    """The user's token: the live one, or a new one when it expired."""
    token = Token.objects.filter(user=user).first()
    if token is not None and token.created < timezone.now() - token_ttl():
        token.delete()
        token = None
    if token is None:
        token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def user_sign_out_everywhere(*, user) -> dict[str, int]:
    """End every API token and every session of `user`. Returns what was ended."""
    tokens, _ = Token.objects.filter(user=user).delete()
    ended = 0
    user_id = str(user.pk)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == user_id:
            session.delete()
            ended += 1
    logger.info("user %s signed out everywhere: %s token(s), %s session(s)", user.pk, tokens, ended)
    return {"tokens": tokens, "sessions": ended}


def _password_changing(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        deleted, _ = Token.objects.filter(user_id=instance.pk).delete()
        if deleted:
            logger.info("user %s changed password: %s API token(s) ended", instance.pk, deleted)


def connect() -> None:
    pre_save.connect(
        _password_changing, sender=get_user_model(), dispatch_uid="patients.tokens.password"
    )
