"""Sign-in lock-out answers (django-axes, AXES_LOCKOUT_CALLABLE in settings).

After AXES_FAILURE_LIMIT failed attempts for one username from one address, sign-in is
refused for AXES_COOLOFF_TIME. The answer says so plainly: a JSON 429 on the API (the token
endpoint), a page on the site. It never says whether the username exists.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render


def _cool_off_minutes() -> int:
    return max(1, round(float(settings.AXES_COOLOFF_TIME) * 60))


def lockout_message() -> str:
    return (
        "Too many failed sign-in attempts. Sign-in is locked for "
        f"{_cool_off_minutes()} minutes; try again later, or ask an administrator to unlock "
        "the account."
    )


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": lockout_message()}, status=429)
        response["Retry-After"] = str(_cool_off_minutes() * 60)
        return response
    return render(
        request,
        "registration/locked_out.html",
        {"message": lockout_message(), "minutes": _cool_off_minutes()},
        status=429,
    )
