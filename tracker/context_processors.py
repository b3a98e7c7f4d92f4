from django.conf import settings
from django.utils.crypto import salted_hmac

from . import health


def site(request):
    context = {
        "SITE_NAME": "Liver cancer treatment tracker",
        "DEBUG": settings.DEBUG,
        "SESSION_WARNING_SECONDS": settings.SESSION_WARNING_SECONDS,
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        patient = getattr(user, "patient", None)
        if patient is not None:
            context["advice_line_phone"] = patient.effective_advice_line_phone
            context["current_patient"] = patient
            # Whose draft a report kept on the device is (drafts.js): never the user id itself.
            context["draft_owner"] = salted_hmac("report-draft", str(user.pk)).hexdigest()[:20]
        elif request.path.startswith("/nurse/"):
            # Worker or beat down: alerts now arrive only when someone runs the sweep.
            context["background_down"] = health.background_problems()
    return context
