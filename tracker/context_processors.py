from django.conf import settings


def site(request):
    context = {"SITE_NAME": "Liver cancer treatment tracker", "DEBUG": settings.DEBUG}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        patient = getattr(user, "patient", None)
        if patient is not None:
            context["advice_line_phone"] = patient.effective_advice_line_phone
            context["current_patient"] = patient
    return context
