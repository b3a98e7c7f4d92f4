from django.conf import settings

from . import health


def site(request):
    context = {"SITE_NAME": "Liver cancer treatment tracker", "DEBUG": settings.DEBUG}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        patient = getattr(user, "patient", None)
        if patient is not None:
            context["advice_line_phone"] = patient.effective_advice_line_phone
            context["current_patient"] = patient
        elif request.path.startswith("/nurse/"):
            # Worker or beat down: alerts now arrive only when someone runs the sweep.
            context["background_down"] = health.background_problems()
    return context
