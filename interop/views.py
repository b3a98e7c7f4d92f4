"""Pages of interop: the clinic summary under the nurse dashboard (/nurse/patients/<id>/
summary/, nurses and admins only, scoped and audited like the patient page) with its PDF,
and the patient's own downloads (/me/export/...) linked from their Account page."""

from __future__ import annotations

import functools
import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from notifications.dashboard.views import staff_only
from patients.roles import is_patient
from patients.selectors import patient_for

from .fhir.views import everything
from .forms import SummaryPeriodForm
from .patient_export import as_json, patient_export
from .summary import clinic_summary, default_period

logger = logging.getLogger(__name__)
STYLESHEET = "interop/summary.css"


@functools.cache
def weasyprint():
    """The WeasyPrint module, or None where it (or Pango under it) cannot be loaded: the
    summary page then offers the browser's Print instead of a PDF download."""
    try:
        import weasyprint as module
    except (ImportError, OSError) as exc:
        logger.warning("WeasyPrint unavailable (%s): clinic summary PDFs are off", exc)
        return None
    return module


def _summary(request, patient_id):
    patient = patient_for(request.user, patient_id, request, "clinic summary")
    now = timezone.now()
    today = now.astimezone(patient.zone).date()
    form = SummaryPeriodForm(request.GET or None, today=today)
    first, last, why = default_period(patient, now)
    status = 200
    if form.is_bound and form.is_valid() and form.cleaned_data.get("first"):
        first, last, why = form.cleaned_data["first"], form.cleaned_data["last"], "chosen period"
    elif form.is_bound and not form.is_valid():
        status = 400
    summary = clinic_summary(patient, first_day=first, last_day=last, why=why, now=now)
    return summary, form, status


@require_GET
@staff_only
def clinic_summary_page(request, patient_id):
    summary, form, status = _summary(request, patient_id)
    query = request.GET.urlencode()
    return render(
        request,
        "interop/summary.html",
        {
            "summary": summary,
            "form": form,
            "nav": "patients",
            "pdf_available": weasyprint() is not None,
            "query": query,
        },
        status=status,
    )


@require_GET
@staff_only
def clinic_summary_pdf(request, patient_id):
    summary, form, status = _summary(request, patient_id)
    module = weasyprint()
    if module is None or status != 200:
        return render(
            request,
            "interop/summary_no_pdf.html",
            {"summary": summary, "form": form, "nav": "patients", "bad_period": status != 200},
            status=400 if status != 200 else 503,
        )
    html = render_to_string("interop/summary_document.html", {"summary": summary})
    stylesheet = module.CSS(filename=finders.find(STYLESHEET))
    pdf = module.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        stylesheets=[stylesheet]
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"clinic-summary-{summary.patient.pk}-{summary.first_day}-{summary.last_day}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _own_patient(request):
    if not is_patient(request.user) or getattr(request.user, "patient", None) is None:
        raise Http404("No such page.")
    return patient_for(request.user, request.user.patient.pk, request, "own export")


def _base(request) -> str:
    return request.build_absolute_uri("/fhir/r4").rstrip("/")


@require_GET
@login_required
def my_export(request):
    patient = _own_patient(request)
    document = patient_export(patient, for_staff=False, base_url=_base(request))
    response = HttpResponse(as_json(document), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-treatment-record.json"'
    return response


@require_GET
@login_required
def my_export_fhir(request):
    patient = _own_patient(request)
    bundle = everything(patient, base=_base(request))
    body = json.dumps(bundle.model_dump(mode="json"), indent=1, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/fhir+json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-treatment-record.fhir.json"'
    return response
