"""Pause, resume and the weekday of a patient's check-ins, from the nurse's patient page
(clinical/checkins.md: "a patient can be paused (e.g. in hospital) with a reason"; "the care
team or nurse can change it per patient"). Forms that post and redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from medications.symptoms import checkins
from patients.selectors import patient_for

from .views import staff_only

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _back(patient) -> str:
    return reverse("notifications:patient", args=[patient.pk]) + "#check-ins-title"


@require_POST
@staff_only
def check_ins_change(request, patient_id, action):
    patient = patient_for(request.user, patient_id, request, f"check-ins {action}")
    try:
        if action == "pause":
            checkins.check_ins_pause(
                patient=patient, reason=request.POST.get("reason", ""), user=request.user
            )
            messages.success(request, "Check-ins paused.")
        elif action == "resume":
            checkins.check_ins_resume(patient=patient)
            messages.success(request, "Check-ins resumed: the next weekly one is scheduled.")
        elif action == "weekday":
            raw = request.POST.get("weekday", "")
            weekday = None if raw == "" else int(raw) if raw.isdigit() else -1
            checkins.check_ins_set_weekday(patient=patient, weekday=weekday)
            day = "the day treatment started" if weekday is None else WEEKDAYS[weekday]
            messages.success(request, f"Weekly check-ins are now on {day}.")
        else:
            from django.http import Http404

            raise Http404("No such action.")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(_back(patient))
