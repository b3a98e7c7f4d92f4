from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from patients.roles import Role, role_of


@login_required
def home(request):
    """Send each person to their own start page."""
    role = role_of(request.user)
    targets = {
        Role.PATIENT: "medications:today",
        Role.NURSE: "notifications:queue",
        Role.ADMIN: "notifications:queue",
    }
    try:
        return redirect(reverse(targets[role]))
    except (KeyError, NoReverseMatch):
        return redirect("admin:index" if request.user.is_staff else "account")


@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
