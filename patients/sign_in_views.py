"""Sign-in pages (issue 13): "Keep me signed in on this phone", the advice line and 999 on
the sign-in page, password reset by e-mail, the nurse's one-time sign-in link, and the
session keep-alive the expiry warning uses."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from . import audit
from .roles import is_patient, is_staff_member
from .selectors import patient_for
from .sign_in import (
    remembered_session_seconds,
    service_advice_line_phone,
    sign_in_link_issue,
    sign_in_link_use,
    sign_in_link_valid,
)


class SignInForm(AuthenticationForm):
    remember = forms.BooleanField(
        required=False,
        label="Keep me signed in on this phone",
        help_text=(
            "For patients on their own phone: you stay signed in for "
            f"{settings.PATIENT_SESSION_DAYS} days after you last use it. Staff are always "
            "signed out after a short time."
        ),
    )


class _SignedOutPage:
    """Signed-out pages show the service's advice line and 999."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["service_phone"] = service_advice_line_phone()
        return context


class SignInView(_SignedOutPage, auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.cleaned_data.get("remember") and is_patient(form.get_user()):
            # A sliding session: SESSION_SAVE_EVERY_REQUEST moves the end on at every visit.
            self.request.session.set_expiry(remembered_session_seconds())
            self.request.session["remembered"] = True
        return response


class PasswordResetView(_SignedOutPage, auth_views.PasswordResetView):
    template_name = "registration/reset_request.html"
    email_template_name = "registration/reset_email.txt"
    subject_template_name = "registration/reset_subject.txt"

    def form_valid(self, form):
        # The link is built from SITE_URL, never from the request's Host header (which a
        # caller chooses: a reset e-mail must not point at someone else's site).
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


class PasswordResetDoneView(_SignedOutPage, auth_views.PasswordResetDoneView):
    template_name = "registration/reset_sent.html"


class PasswordResetConfirmView(_SignedOutPage, auth_views.PasswordResetConfirmView):
    template_name = "registration/reset_new_password.html"


class PasswordResetCompleteView(_SignedOutPage, auth_views.PasswordResetCompleteView):
    template_name = "registration/reset_done.html"


@require_GET
def session_state(request):
    """Seconds left in this session (the expiry warning asks; asking also extends it, as
    every request does with SESSION_SAVE_EVERY_REQUEST)."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False}, status=401)
    return JsonResponse({"signed_in": True, "seconds_left": request.session.get_expiry_age()})


# --- the nurse's one-time sign-in link ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def patient_sign_in_link(request, patient_id: int):
    """Staff: issue a link for one of their patients (another team's patient: 404)."""
    if not is_staff_member(request.user):
        raise Http404("Only staff issue sign-in links.")
    patient = patient_for(request.user, patient_id)
    context = {"patient": patient, "hours": 24}
    if request.method == "POST":
        _, token = sign_in_link_issue(patient=patient, issued_by=request.user)
        audit.touch(request, patient, "sign-in link issued")
        path = reverse("sign_in_link", args=[token])
        context["link"] = f"{settings.SITE_URL.rstrip('/')}{path}"
    return render(request, "patients/sign_in_link_issue.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_link(request, token: str):
    """GET only shows a button (link previews and scanners must not spend the link); the
    POST signs the patient in and offers to set a new password."""
    context = {"service_phone": service_advice_line_phone()}
    if request.method == "GET":
        context["valid"] = sign_in_link_valid(token) is not None
        return render(request, "patients/sign_in_link_open.html", context)
    link = sign_in_link_use(token=token)
    if link is None:
        context["valid"] = False
        return render(request, "patients/sign_in_link_open.html", context, status=410)
    login(request, link.user, backend="django.contrib.auth.backends.ModelBackend")
    patient = getattr(link.user, "patient", None)
    if patient is not None:
        audit.touch(request, patient, "sign-in link used")
    return redirect("sign_in_link_password")


@login_required
@require_http_methods(["GET", "POST"])
def sign_in_link_password(request):
    form = SetPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "Your new password is saved.")
        return redirect("home")
    return render(request, "patients/sign_in_link_password.html", {"form": form})
