"""Invite links: a new nurse sets her own password through a one-use link (Django's password
reset token: it stops working once a password is set or after PASSWORD_RESET_TIMEOUT)."""

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode


def invite_path(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("invite", args=[uid, token])
