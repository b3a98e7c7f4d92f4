import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from . import audit
from .forms import ReminderSettingsForm
from .reminders import push_subscription_delete, reminder_settings_update, reminder_status
from .roles import role_of
from .services import patient_update


def _account_links(user) -> list[dict[str, str]]:
    """Links other apps offer on the Account page (settings.ACCOUNT_PAGE_LINKS: the project
    shell names them, so this lower app never imports the apps above it)."""
    role = role_of(user)
    links = []
    for roles, label, url_name, hint in getattr(settings, "ACCOUNT_PAGE_LINKS", []):
        if role not in roles:
            continue
        try:
            links.append({"label": label, "url": reverse(url_name), "hint": hint})
        except NoReverseMatch:
            continue
    return links


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    """The signed-in person's account. A patient also sets their medicine reminders here,
    turns notifications on or off for this device, and sees how reminders reach them."""
    patient = getattr(request.user, "patient", None)
    context = {"account_links": _account_links(request.user)}
    if patient is None and request.method == "POST":
        return HttpResponseNotAllowed(["GET"])
    if patient is not None:
        if request.method == "POST":
            return _account_post(request, patient)
        context.update(
            _reminder_context(
                patient,
                ReminderSettingsForm(
                    initial={
                        "enabled": patient.reminders_enabled,
                        "minutes_before": patient.reminder_minutes_before,
                    }
                ),
            )
        )
        audit.touch(request, patient, "reminder settings")
    return render(request, "patients/account.html", context)


def _reminder_context(patient, form) -> dict:
    status = reminder_status(patient)
    devices = [
        {
            "subscription": device,
            # The page never shows the endpoint (a capability URL); the script finds this
            # browser's row by the endpoint's hash.
            "endpoint_hash": hashlib.sha256(device.endpoint.encode()).hexdigest(),
        }
        for device in status.devices
    ]
    return {
        "patient": patient,
        "reminders": status,
        "reminder_form": form,
        "devices": devices,
        "mobile_phone": patient.mobile_phone,
        "email": patient.user.email,
    }


def _account_post(request, patient):
    action = request.POST.get("action")
    if action == "bp_monitor":
        # checkins.md, "Blood pressure": a yes/no the patient can set.
        answer = request.POST.get("has_bp_monitor")
        if answer not in ("yes", "no"):
            messages.error(request, "Choose yes or no.")
            return redirect("account")
        patient_update(patient=patient, data={"has_bp_monitor": answer == "yes"})
        messages.success(
            request,
            "Saved: your check-ins will ask for a blood pressure reading when it is due."
            if answer == "yes"
            else "Saved: your check-ins will not ask for a blood pressure reading.",
        )
        return redirect("account")
    if action == "remove_device":
        try:
            device_id = int(request.POST.get("device", ""))
        except ValueError:
            device_id = 0
        if 0 < device_id < 2**63 and push_subscription_delete(
            patient=patient, subscription_id=device_id
        ):
            messages.success(request, "That device will no longer get reminders.")
        else:
            messages.error(request, "That device was not found; it may have been removed already.")
        return redirect("account")
    form = ReminderSettingsForm(request.POST)
    if not form.is_valid():
        context = {
            "account_links": _account_links(request.user),
            **_reminder_context(patient, form),
        }
        return render(request, "patients/account.html", context, status=400)
    reminder_settings_update(
        patient=patient,
        enabled=form.cleaned_data["enabled"],
        minutes_before=form.cleaned_data["minutes_before"],
    )
    if form.cleaned_data["enabled"]:
        messages.success(request, "Saved: reminders are on.")
    else:
        messages.success(request, "Saved: reminders are off. You can turn them on again here.")
    return redirect("account")
