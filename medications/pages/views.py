"""The patient's own pages (/me/): today's doses, symptom reports, treatment and history.

Thin views: reads come from selectors (via patient_pages, which only shapes them for the
templates), writes go through the same services as the API (services.dose_log,
symptom_services.symptom_report_create). Every form posts with CSRF and redirects after
success (post/redirect/get), so the pages work without JavaScript; with htmx a dose card
is swapped in place instead.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from patients.models import Role
from patients.roles import role_of
from patients.selectors import patients_visible_to

from .. import selectors, services
from ..models import DoseAction, SkipReason
from ..symptoms import selectors as symptom_selectors
from ..symptoms import services as symptom_services
from ..symptoms import triage
from . import changes as changes_page
from . import check_in as check_in_page
from . import history as history_page
from . import report as report_page
from . import symptom_chart
from . import today as today_page
from . import treatment as treatment_page
from .forms import (
    DoseNotTakenForm,
    DoseTakenForm,
    SymptomReportForm,
    new_idempotency_key,
)


def patient_required(view):
    """Patients only, and only their own record. Staff are sent to their own start page
    (a GET) or get a 404 (anything else); nothing here is theirs to use."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        role = role_of(request.user)
        if role in (Role.NURSE, Role.ADMIN):
            if request.method == "GET":
                return redirect("home")
            raise Http404("Patient pages are for patients.")
        patient = patients_visible_to(request.user).first() if role == Role.PATIENT else None
        if patient is None:
            raise Http404("No patient record for this account.")
        request.patient = patient
        # Dates and times on these pages are the patient's own local time.
        with timezone.override(patient.zone):
            return view(request, *args, **kwargs)

    return wrapper


def _is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


# --- today ---------------------------------------------------------------------------------------


@patient_required
@require_GET
def today(request):
    now = timezone.now()
    patient = request.patient
    cards = today_page.today_cards(request.user, patient, now)
    tablets = treatment_page.treatment_items(request.user, patient, now)
    context = {
        "cards": cards,
        "today": now.astimezone(patient.zone).date(),
        "has_tablets": bool(tablets),
        "to_log": any(card.can_log and card.state in ("due", "upcoming") for card in cards),
        "next_dose": today_page.next_dose(request.user, patient, now),
        "infusion": today_page.next_infusion(request.user, patient, now),
        # checkins.md: an open check-in comes first on Today.
        "check_in": check_in_page.check_in_card(patient, now, symptom_selectors.active_rules()),
        "off_items": [item for item in tablets if item.cycle is not None and not item.cycle.on],
        "recent_reports": report_page.recent_reports(request.user, patient, now),
        "nav": "today",
    }
    return render(request, "medications/today.html", context)


def _card_response(request, card, *, status_message="", error="", form=None, status=200):
    """The dose card alone (htmx swaps it in place), with an announcement for screen
    readers in the page's live region (an out-of-band swap)."""
    return render(
        request,
        "medications/_dose_card_response.html",
        {
            "card": card,
            "status_message": status_message,
            "error": error,
            "form": form,
            "focus": True,
        },
        status=status,
    )


def _back_to_today(dose_id: int) -> str:
    return f"{reverse('medications:today')}#dose-{dose_id}"


def _first_message(error: ValidationError) -> str:
    return " ".join(error.messages) or "That could not be saved. Please try again."


def _logged_message(card: today_page.DoseCard) -> str:
    what = f"{card.drug.name.capitalize()} {card.amount} due {card.due_text}"
    if card.state == "taken_late":
        return (
            f"{what}: recorded as taken late, after the safe time to take it. "
            f"{card.drug.missed_dose_advice}"
        )
    if card.state == "taken":
        return f"{what}: recorded as taken at {card.taken_text}."
    message = f"{what}: recorded as not taken. Reason: {card.reason_label}."
    if card.dose.skip_reason == SkipReason.FORGOT:
        message += " " + card.forgot_rule
    if card.ran_out:
        message += (
            " We have told your team that you have run out of tablets; they will contact "
            "you about a new supply."
        )
    if card.vomited:
        message += " Do not take another dose: take the next one at the usual time."
    return message


def _back_to(request, dose_id: int) -> str:
    # A dose logged from History goes back there; anything else to its card on Today.
    if request.POST.get("back") == "history":
        return f"{reverse('medications:history')}#dose-{dose_id}"
    return _back_to_today(dose_id)


@patient_required
@require_POST
def dose_taken(request, dose_id: int):
    form = DoseTakenForm(request.POST)
    now = timezone.now()
    if not form.is_valid():  # the card is read scoped: another patient's dose is a 404
        return _log_failed(request, dose_id, ValidationError(list(form.errors.values())[0]))
    zone = request.patient.zone
    try:
        services.dose_log(  # found among the patient's own doses and locked: else a 404
            dose=dose_id,
            visible=selectors.dose_rows_for(request.user),
            action=DoseAction.TAKEN,
            at=form.taken_at(zone=zone, today=now.astimezone(zone).date()),
            recorded_by=request.user,
            idempotency_key=form.cleaned_data.get("idempotency_key") or None,
            now=now,
        )
    except ValidationError as exc:
        return _log_failed(request, dose_id, exc)
    card = today_page.dose_card(request.user, dose_id, request.patient, now)
    message = _logged_message(card)
    if _is_htmx(request):
        return _card_response(request, card, status_message=message)
    messages.success(request, message)
    return redirect(_back_to(request, dose_id))


def _log_failed(request, dose_id: int, error: ValidationError):
    card = today_page.dose_card(request.user, dose_id, request.patient, timezone.now())
    if _is_htmx(request):
        return _card_response(request, card, error=_first_message(error))
    messages.error(request, _first_message(error))
    return redirect(_back_to(request, dose_id))


@patient_required
@require_http_methods(["GET", "POST"])
def dose_not_taken(request, dose_id: int):
    now = timezone.now()
    card = today_page.dose_card(request.user, dose_id, request.patient, now)  # 404 if not theirs
    if request.method == "POST":
        form = DoseNotTakenForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.dose_log(
                    dose=card.dose,
                    action=DoseAction.SKIPPED,
                    reason=data["reason"],
                    note=data.get("note") or "",
                    recorded_by=request.user,
                    idempotency_key=data.get("idempotency_key") or None,
                    now=now,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return _skip_saved(request, card.dose.pk, data["reason"], now)
    else:
        form = DoseNotTakenForm(initial={"idempotency_key": new_idempotency_key()})
    form.link_errors()
    back = "history" if request.GET.get("back", request.POST.get("back")) == "history" else ""
    context = {"card": card, "form": form, "nav": "history" if back else "today", "back": back}
    if _is_htmx(request):
        return _card_response(request, card, form=form)
    return render(request, "medications/dose_not_taken.html", context)


def _skip_saved(request, dose_id: int, reason: str, now):
    card = today_page.dose_card(request.user, dose_id, request.patient, now)
    message = _logged_message(card)
    if reason in (SkipReason.SIDE_EFFECTS, SkipReason.UNWELL):
        # adherence.md: "side effects" or "felt unwell" asks for a symptom report.
        messages.success(
            request, message + " Please tell us how you are feeling, so the team can help."
        )
        target = reverse("medications:symptom_new")
        if _is_htmx(request):
            return HttpResponseClientRedirect(target)
        return redirect(target)
    if _is_htmx(request):
        return _card_response(request, card, status_message=message)
    messages.success(request, message)
    return redirect(_back_to(request, dose_id))


@patient_required
@require_GET
def dose_card(request, dose_id: int):
    """One card (htmx "Cancel" puts it back); without htmx, the Today page at that card."""
    card = today_page.dose_card(request.user, dose_id, request.patient, timezone.now())
    if _is_htmx(request):
        return _card_response(request, card)
    return redirect(_back_to_today(card.dose.pk))


# --- symptoms ------------------------------------------------------------------------------------


@patient_required
@require_http_methods(["GET", "POST"])
def symptom_new(request):
    rules = symptom_selectors.active_rules()
    # A follow-up check-in asks first about the items that were amber (checkins.md).
    check_in = check_in_page.check_in_card(request.patient, timezone.now(), rules)
    choices = check_in_page.focus_first(triage.symptom_choices(rules), check_in)
    if request.method == "POST":
        form = SymptomReportForm(request.POST, choices=choices)
        if form.is_valid():
            try:
                report = symptom_services.symptom_report_create(
                    patient=request.patient, data=form.report_data(), entered_by=request.user
                )
            except ValidationError as exc:
                form.add_service_errors(exc)  # nothing stored: the service refused it all
            else:
                return redirect("medications:symptom_result", report_id=report.pk)
        else:
            # Also check the figures' ranges now, so every problem shows at once.
            errors = symptom_services.symptom_report_errors(
                {"symptoms": [], **form.figures_data()}, rules
            )
            if errors:
                form.add_service_errors(ValidationError(errors))
    else:
        form = SymptomReportForm(choices=choices)
    form.link_errors()
    return render(
        request,
        "medications/symptom_form.html",
        {"form": form, "nav": "symptoms", "check_in": check_in},
    )


@patient_required
@require_GET
def symptom_result(request, report_id: int):
    report = symptom_selectors.symptom_report_for(request.user, report_id)  # own only
    rules = report.ruleset.rules if report.ruleset_id else symptom_selectors.active_rules()
    zone = request.patient.zone
    context = {
        "report": report,
        "result": report_page.report_result(report, rules),
        "status": report_page.report_status(report, zone, timezone.now().astimezone(zone).date()),
        "emergency": report_page.is_emergency(report),
        "nav": "symptoms",
    }
    return render(request, "medications/symptom_result.html", context)


# --- treatment and history -----------------------------------------------------------------------


@patient_required
@require_GET
def treatment(request):
    now = timezone.now()
    patient = request.patient
    context = {
        "items": treatment_page.treatment_items(request.user, patient, now),
        "courses": treatment_page.infusion_course_items(request.user, patient, now),
        "fever_text": report_page.red_measurement_text(
            symptom_selectors.active_rules(), "temperature"
        ),
        "nav": "treatment",
    }
    return render(request, "medications/treatment.html", context)


@patient_required
@require_GET
def history(request):
    now = timezone.now()
    patient = request.patient
    week = selectors.adherence_for_patient(patient, days=7, now=now)
    month = selectors.adherence_for_patient(patient, days=28, now=now)
    since = now - report_page.SYMPTOM_HISTORY
    symptom_history = symptom_selectors.symptom_history(patient, since)
    rules = symptom_selectors.active_rules()
    has_oral = any(p.prescription.drug.route == "oral" for p in month.prescriptions)
    context = {
        "calendar": history_page.dose_calendar(request.user, patient, now, tablets=has_oral),
        "legend": history_page.LEGEND if has_oral else [],
        "adherence": [("Last 7 days", week), ("Last 28 days", month)],
        "has_oral": has_oral,
        "changes": changes_page.treatment_changes(request.user, patient, now),
        "courses": month.courses,
        "recent": history_page.recent_doses(request.user, patient, now),
        "chart": symptom_chart.symptom_chart(
            symptom_history, zone=patient.zone, now=now, rules=rules
        ),
        "reports": report_page.with_status(
            symptom_chart.report_rows(symptom_history, zone=patient.zone, rules=rules),
            zone=patient.zone,
            now=now,
        ),
        "nav": "history",
    }
    return render(request, "medications/history.html", context)
