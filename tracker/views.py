from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from patients.roles import Role, role_of

from . import health


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


# --- The installable web app (docs/patient-app.md) -------------------------------------------

SERVICE_WORKER = settings.BASE_DIR / "tracker" / "static" / "pwa" / "sw.js"
THEME_COLOUR = "#003d78"


@require_GET
def manifest(request):
    """The web app manifest (served here, not as a static file, so its icon URLs are the
    hashed names production serves)."""
    icons = [
        {"src": static("pwa/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("pwa/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("pwa/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    data = {
        "id": "/me/",
        "name": "Liver cancer treatment tracker",
        "short_name": "My medicines",
        "description": "Record your doses and how you feel; get reminders when a dose is due.",
        "start_url": "/me/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "lang": "en-GB",
        "icons": icons,
    }
    response = JsonResponse(data, json_dumps_params={"indent": 1})
    response["Content-Type"] = "application/manifest+json"
    return response


@require_GET
def service_worker(request):
    """The service worker, from the site's root so that its scope covers /me/ and the
    Account page. Browsers check it for updates at least daily; no-cache makes them ask."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline(request):
    """What the service worker shows when a page cannot load: the advice-line number and 999.
    It carries no patient data (no name, no treatment): it is kept on the device."""
    patient = getattr(request.user, "patient", None) if request.user.is_authenticated else None
    phone = patient.effective_advice_line_phone if patient else settings.DEFAULT_ADVICE_LINE_PHONE
    response = render(request, "offline.html", {"advice_line_phone": phone})
    return response


@require_GET
def readyz(request):
    """Readiness (tracker/health.py): 200, or 503 naming what is wrong. No patient data."""
    ready, body = health.readiness()
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response
