"""Set and end a patient's expected symptom level from the nurse's patient page (forms
that post and redirect; a form with errors is shown again on its own page)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from medications.models import ExpectedSymptom
from medications.symptoms import baselines as baseline_services
from medications.symptoms import triage
from patients.selectors import patient_for

from .baselines import ExpectedSymptomForm, expected_symptoms_section
from .views import staff_only
from .words import rules_for_labels


def _patient_page(patient) -> str:
    return reverse("notifications:patient", args=[patient.pk]) + "#expected-title"


@require_POST
@staff_only
def expected_symptom_set(request, patient_id):
    patient = patient_for(request.user, patient_id, request, "expected symptoms")
    now = timezone.now()
    form = ExpectedSymptomForm(request.POST, patient=patient, now=now)
    if form.is_valid():
        try:
            baseline = baseline_services.expected_symptom_set(
                patient=patient, data=form.cleaned_data, user=request.user, now=now
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            label = triage.item_label(rules_for_labels(), baseline.code)
            messages.success(
                request,
                f"{label} up to grade {baseline.max_grade} is expected until "
                f"{baseline.until:%-d %B %Y}: amber reports of it alone raise no alert.",
            )
            return redirect(_patient_page(patient))
    context = {
        "patient": patient,
        "nav": "patients",
        "error_forms": [form],
        **expected_symptoms_section(patient, now, form),
    }
    return render(request, "notifications/expected_symptom_form.html", context, status=400)


@require_POST
@staff_only
def expected_symptom_end(request, patient_id, baseline_id):
    patient = patient_for(request.user, patient_id, request, f"expected symptom {baseline_id}")
    baseline = ExpectedSymptom.objects.filter(pk=baseline_id, patient=patient).first()
    if baseline is None:
        raise Http404("No such expected symptom.")
    baseline_services.expected_symptom_end(baseline=baseline, user=request.user)
    label = triage.item_label(rules_for_labels(), baseline.code)
    messages.success(request, f"{label} is no longer marked as expected.")
    return redirect(_patient_page(patient))
