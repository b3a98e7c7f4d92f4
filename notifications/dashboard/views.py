"""The advice-line nurse dashboard (mounted at /nurse/).

Thin views: reads come from notifications.dashboard (scoped, fixed query counts), writes go
through the services (alert transitions in notifications.services; holds, dose changes,
stops and infusions in medications.services). Every form works without JavaScript (POST,
then redirect); with htmx the queue acknowledges and resolves in place and refreshes
itself. Only nurses and admins may open these pages; anyone else gets a 404, and a nurse
gets a 404 for anything outside their care teams.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from medications import selectors as medication_selectors
from medications import services as medication_services
from medications.models import AppointmentState, InfusionAppointment, Prescription
from medications.symptoms import selectors as symptom_selectors
from medications.symptoms import triage
from patients import roles
from patients.reminders import reminder_status, unreachable_patients
from patients.selectors import care_teams_visible_to, patient_for

from . import (
    alert_context,
    alert_queue,
    baselines,
    charts,
    check_in_figures,
    patient_page,
    timeline,
    words,
)
from . import patient_list as patient_list_rows
from .forms import (
    ChangeDoseForm,
    HoldForm,
    InfusionGivenForm,
    InfusionRescheduleForm,
    QueueFilterForm,
    ResumeForm,
    StopForm,
    local_input_value,
)
from .resolve import attach_resolve_forms

# The session key of the last thing a nurse did (not the queue refreshing itself).
LAST_ACTIVE = "nurse_last_active"


def poll_seconds() -> int:
    """How often the queue refreshes itself (seconds)."""
    return settings.NURSE_QUEUE_POLL_SECONDS


# --- access ---------------------------------------------------------------------------------


def staff_only(view):
    """Signed-in nurses and admins only; everyone else a 404 (a 403 would say the page
    exists). The queue's own refreshes do not count as activity, so a dashboard left open
    still signs out after the staff idle time (settings.SESSION_COOKIE_AGE)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.htmx:
                response = HttpResponse(status=200)
                response["HX-Redirect"] = (
                    f"{reverse('login')}?next={reverse('notifications:queue')}"
                )
                return response
            return redirect_to_login(request.get_full_path())
        if not roles.is_staff_member(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _mark_active(request) -> None:
    request.session[LAST_ACTIVE] = int(time.time())


def _idle_too_long(request) -> bool:
    last = request.session.get(LAST_ACTIVE)
    return bool(last) and time.time() - last > settings.SESSION_COOKIE_AGE


def _signed_out_for_idleness(request) -> HttpResponse:
    logout(request)
    response = HttpResponse(status=200)
    response["HX-Redirect"] = f"{reverse('login')}?next={reverse('notifications:queue')}"
    return response


def _whole(value) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _person(user) -> str:
    if user is None:
        return "the system"
    return user.get_full_name() or user.username


# --- the queue ------------------------------------------------------------------------------


def _queue_context(request, *, now):
    teams = list(care_teams_visible_to(request.user))
    form = QueueFilterForm(request.GET or None, teams=teams)
    filters = alert_queue.QueueFilters(**form.filter_values())
    alerts = alert_queue.alert_queue(request.user, filters)
    # Page the ids, then load that page's rows with their joins: one query joining every
    # open alert to its patient, prescription, drug, ... before the sort and LIMIT grew with
    # the queue and the patient list (docs/benchmarks.md, benchmark 3).
    # One row per patient (their most urgent alert) while the queue shows what needs someone;
    # the patient's other alerts are listed in that row, with a count.
    grouped = alert_queue.grouped_by_patient(alerts, filters)
    ids = grouped.values_list("pk", flat=True)
    page = Paginator(ids, alert_queue.QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    page_alerts = list(alerts.filter(pk__in=list(page.object_list)))
    rules = words.rules_for_labels()
    rows = alert_queue.queue_rows(page_alerts, rules, now)
    if grouped is not alerts:
        alert_queue.attach_other_alerts(rows, alerts)
    applied = {k: v for k, v in request.GET.items() if k in form.fields and v}
    page_query = urlencode({**applied, "page": page.number})
    return {
        "nav": "queue",
        "counts": alert_queue.queue_counts(alerts, now),
        "next_url": f"{reverse('notifications:queue')}?{page_query}",
        "form": form,
        "filters": filters,
        "page_obj": page,
        "rows": rows,
        "now": now,
        "show_team": form.show_team,
        "filter_query": urlencode(applied),
        "page_query": page_query,
        "filtered": bool(applied),
        "poll_seconds": poll_seconds(),
    }


@require_GET
@staff_only
def queue(request):
    _mark_active(request)
    now = timezone.now()
    context = _queue_context(request, now=now)
    context["failing_channels"] = alert_queue.failing_channels(request.user)
    context["red_seen"] = alert_queue.latest_red_alert_id(request.user)
    attach_resolve_forms(context["rows"])
    return render(request, "notifications/queue.html", context)


@require_GET
@staff_only
def queue_rows(request):
    """The queue's table body (htmx, every few seconds), with the count and pages."""
    if _idle_too_long(request):
        return _signed_out_for_idleness(request)
    context = _queue_context(request, now=timezone.now())
    attach_resolve_forms(context["rows"])
    return render(request, "notifications/_queue_rows.html", context)


@require_GET
@staff_only
def queue_pulse(request):
    """What the open queue announces (htmx, every few seconds): red alerts raised since the
    page last looked, and delivery channels that keep failing. Never paused, even while a
    nurse is typing in a row (the table body refresh is)."""
    if _idle_too_long(request):
        return _signed_out_for_idleness(request)
    if "red_base" in request.GET:
        base = _whole(request.GET.get("red_base"))
    else:
        base = alert_queue.latest_red_alert_id(request.user)
    seen = max(_whole(request.GET.get("red_seen")), base)
    since_opened = alert_queue.new_red_alerts(request.user, base)
    rules = words.rules_for_labels() if since_opened else {}
    announce = [alert for alert in since_opened if alert.pk > seen]
    context = {
        "banner": [
            (alert, words.alert_reasons(alert, rules))
            for alert in since_opened[: alert_queue.BANNER_NAMES]
        ],
        "more_red": max(len(since_opened) - alert_queue.BANNER_NAMES, 0),
        "announce": [(alert, words.alert_reasons(alert, rules)) for alert in announce],
        "red_seen": max([seen] + [alert.pk for alert in since_opened]),
        "failing_channels": alert_queue.failing_channels(request.user),
    }
    return render(request, "notifications/_queue_pulse.html", context)


# --- patients -------------------------------------------------------------------------------


@require_GET
@staff_only
def patient_list(request):
    _mark_active(request)
    search = (request.GET.get("q") or "").strip()[:100]
    patients = patient_page.patients_for_list(request.user, search)
    reminders_filter = "unreachable" if request.GET.get("reminders") == "unreachable" else ""
    if reminders_filter:
        patients = unreachable_patients(patients)
    sort = request.GET.get("sort") if request.GET.get("sort") in patient_list_rows.SORTS else "name"
    direction = request.GET.get("dir") or patient_list_rows.SORTS[sort][1]
    now = timezone.now()
    page, rows = patient_list_rows.patient_rows(
        patients, sort=sort, direction=direction, page_number=request.GET.get("page"), now=now
    )
    unreachable_ids = {row.patient.pk for row in rows if row.patient.reminders_unreachable(now)}
    filters = {k: v for k, v in (("q", search), ("reminders", reminders_filter)) if v}
    columns = [
        {
            "key": key,
            "label": label,
            "current": key == sort,
            "direction": direction if key == sort else "",
            "url": "?"
            + urlencode(
                {
                    **filters,
                    "sort": key,
                    "dir": ("desc" if direction == "asc" else "asc") if key == sort else first,
                }
            ),
        }
        for key, (label, first) in patient_list_rows.SORTS.items()
    ]
    return render(
        request,
        "notifications/patient_list.html",
        {
            "page_obj": page,
            "rows": rows,
            "q": search,
            "query": urlencode({**filters, "sort": sort, "dir": direction}),
            "reminders_filter": reminders_filter,
            "unreachable_ids": unreachable_ids,
            "columns": {c["key"]: c for c in columns},
            "nav": "patients",
        },
    )


def _timeline(request, patient, now, limit):
    return timeline.patient_timeline(
        patient,
        now=now,
        limit=limit,
        rules=words.rules_for_labels(),
        alert_url=lambda pk: reverse("notifications:alert", args=[pk]),
    )


def _timeline_limit(request) -> int:
    try:
        shown = int(request.GET.get("shown") or timeline.TIMELINE_PAGE_SIZE)
    except ValueError:
        shown = timeline.TIMELINE_PAGE_SIZE
    # At most 10 pages at once: "show more" adds a page; the query stays bounded.
    return min(max(shown, timeline.TIMELINE_PAGE_SIZE), timeline.TIMELINE_PAGE_SIZE * 10)


def _level_of(rules):
    def level_of(code: str, grade: int) -> str | None:
        try:
            return triage.grade_level(rules, code, grade)
        except (KeyError, TypeError):
            return None

    return level_of


def _symptom_section(patient, now, rules):
    since = now - timedelta(days=timeline.TIMELINE_DAYS)
    history = symptom_selectors.symptom_history(patient, since)
    axis = charts.TimeAxis(since=since, until=now, zone=patient.zone)
    red_flags = set((rules.get("red_flags") or {}).keys())
    return {
        "history": history,
        "grades_chart": charts.symptom_grades_chart(
            chart_id="chart-grades",
            series=history.symptoms,
            labels=history.labels,
            level_of=_level_of(rules),
            red_flags=red_flags,
            axis=axis,
        ),
        "temperature_chart": charts.temperature_chart(
            chart_id="chart-temperature", readings=history.temperature, axis=axis
        ),
        "bp_chart": charts.blood_pressure_chart(
            chart_id="chart-bp", readings=history.blood_pressure, axis=axis
        ),
        "report_rows": [
            {
                "report": report,
                "symptoms": [
                    (history.labels.get(item.get("code"), item.get("code")), item.get("grade"))
                    for item in (report.symptoms if isinstance(report.symptoms, list) else [])
                    if isinstance(item, dict) and item.get("grade")
                ],
            }
            for report in reversed(history.reports)
        ],
    }


def _prescription_forms(panel, now, zone):
    prefix = f"rx{panel.prescription.pk}"
    return {
        "hold": HoldForm(prefix=f"{prefix}-hold"),
        "resume": ResumeForm(prefix=f"{prefix}-resume"),
        "change_dose": ChangeDoseForm(
            prefix=f"{prefix}-dose", steps=panel.steps, current=panel.current_step
        ),
        "stop": StopForm(prefix=f"{prefix}-stop"),
    }


def _appointment_forms(panel, now, zone):
    prefix = f"inf{panel.appointment.pk}"
    return {
        "given": InfusionGivenForm(
            prefix=f"{prefix}-given",
            initial={"given_at": local_input_value(min(panel.appointment.scheduled_at, now), zone)},
        ),
        "reschedule": InfusionRescheduleForm(prefix=f"{prefix}-move"),
    }


def _patient_links(patient) -> list[dict[str, str]]:
    """Pages apps above this one offer for a patient (settings.NURSE_PATIENT_PAGE_LINKS:
    named by the project shell, so nothing here imports upward)."""
    links = []
    for label, url_name in getattr(settings, "NURSE_PATIENT_PAGE_LINKS", []):
        try:
            links.append({"label": label, "url": reverse(url_name, args=[patient.pk])})
        except NoReverseMatch:
            continue
    return links


def _patient_page(request, patient, *, bound=None, status=200):
    """The whole patient page. `bound` = (what, id, action, form) of a form sent with
    errors: it is shown in place of the blank one, open, with its messages."""
    now = timezone.now()
    zone = patient.zone
    rules = words.rules_for_labels()
    prescriptions, courses = patient_page.all_treatments(patient)
    drug_names = {p.drug.code: p.drug.name for p in prescriptions}
    for course in courses:
        for code in course.drugs or []:
            drug_names.setdefault(code, code.capitalize())
    panels = patient_page.current_prescriptions(patient, now)
    for panel in panels:
        panel.forms = _prescription_forms(panel, now, zone)
    appointments = patient_page.infusion_appointments_to_act_on(patient, now)
    for panel in appointments:
        panel.forms = _appointment_forms(panel, now, zone)
    error_forms = []
    if bound is not None:
        what, pk, action, form = bound
        items = panels if what == "prescription" else appointments
        for panel in items:
            obj = panel.prescription if what == "prescription" else panel.appointment
            if obj.pk == pk:
                panel.forms[action] = form
        error_forms.append(form)
    open_alerts, more_alerts = patient_page.unresolved_alerts_for_patient(patient)
    alert_rows = alert_queue.queue_rows(open_alerts, rules, now)
    attach_resolve_forms(alert_rows)
    adherence = {
        days: medication_selectors.adherence_for_patient(patient, days=days, now=now)
        for days in (7, 28)
    }
    context = {
        "patient": patient,
        "now": now,
        "today": now.astimezone(zone).date(),
        "age": patient.age_on(now.astimezone(zone).date()),
        "line": patient_page.treatment_line(patient, prescriptions, courses, drug_names),
        "treatments": alert_context.treatments_now(patient, now),
        "phones": alert_context.phones_of(patient),
        "panels": panels,
        "appointments": appointments,
        "alert_rows": alert_rows,
        "more_alerts": more_alerts,
        "adherence_7": adherence[7],
        "adherence_28": adherence[28],
        "has_oral": patient_page.oral_drugs_on_record(prescriptions),
        "courses": courses,
        "calendar": patient_page.dose_calendar(patient, now),
        "timeline": _timeline(request, patient, now, _timeline_limit(request)),
        "timeline_step": timeline.TIMELINE_PAGE_SIZE,
        "error_forms": error_forms,
        "show_zone": patient.timezone != settings.TIME_ZONE,
        "patient_links": _patient_links(patient),
        "reminders": reminder_status(patient, now),
        "nav": "patients",
        **_symptom_section(patient, now, rules),
        **baselines.expected_symptoms_section(patient, now, rules=rules),
        "check_in_figures": check_in_figures.check_in_figures(patient, now),
    }
    return render(request, "notifications/patient_detail.html", context, status=status)


@require_GET
@staff_only
def patient_detail(request, patient_id):
    _mark_active(request)
    patient = patient_for(request.user, patient_id, request, "nurse dashboard")
    return _patient_page(request, patient)


@require_GET
@staff_only
def patient_timeline(request, patient_id):
    """More of the timeline (htmx "Show more"; without JavaScript the link reloads the page
    with more entries)."""
    patient = patient_for(request.user, patient_id, request, "timeline")
    entries = _timeline(request, patient, timezone.now(), _timeline_limit(request))
    return render(
        request,
        "notifications/_timeline.html",
        {"patient": patient, "timeline": entries, "timeline_step": timeline.TIMELINE_PAGE_SIZE},
    )


PRESCRIPTION_ACTIONS = {
    "hold": (HoldForm, "hold"),
    "resume": (ResumeForm, "resume"),
    "change-dose": (ChangeDoseForm, "change_dose"),
    "stop": (StopForm, "stop"),
}


def _prescription_done(action: str, prescription: Prescription) -> str:
    name = prescription.drug.name
    dose = words.as_decimal_text(prescription.dose_mg)
    return {
        "hold": f"{name} put on hold.",
        "resume": f"{name} resumed.",
        "change-dose": f"{name} dose changed to {dose} mg.",
        "stop": f"{name} stopped.",
    }[action]


@require_POST
@staff_only
def prescription_action(request, patient_id, prescription_id, action):
    _mark_active(request)
    if action not in PRESCRIPTION_ACTIONS:
        raise Http404("No such action.")
    patient = patient_for(request.user, patient_id, request, f"prescription {prescription_id}")
    prescription = get_object_or_404(
        Prescription.objects.select_related("drug").current(), pk=prescription_id, patient=patient
    )
    form_class, key = PRESCRIPTION_ACTIONS[action]
    prefix = f"rx{prescription.pk}-" + {"change_dose": "dose"}.get(key, key)
    kwargs = {}
    if form_class is ChangeDoseForm:
        panel = next(
            p
            for p in patient_page.current_prescriptions(patient, timezone.now())
            if p.prescription.pk == prescription.pk
        )
        kwargs = {"steps": panel.steps, "current": panel.current_step}
    form = form_class(request.POST, prefix=prefix, **kwargs)
    with timezone.override(patient.zone):
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        try:
            if action == "hold":
                prescription = medication_services.prescription_hold(
                    prescription=prescription,
                    reason=data["reason"],
                    starts_at=data.get("starts_at"),
                    ends_at=data.get("ends_at"),
                    recorded_by=request.user,
                )
            elif action == "resume":
                prescription = medication_services.prescription_resume(
                    prescription=prescription, reason=data["reason"], recorded_by=request.user
                )
            elif action == "change-dose":
                prescription = medication_services.prescription_change_dose(
                    prescription=prescription, recorded_by=request.user, **form.service_arguments()
                )
            else:
                prescription = medication_services.prescription_stop(
                    prescription=prescription,
                    reason=data["reason"],
                    stopped_at=data.get("stopped_at"),
                    recorded_by=request.user,
                )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _prescription_done(action, prescription))
            url = reverse("notifications:patient", args=[patient.pk]) + "#treatment"
            return HttpResponseRedirect(url)
    return _patient_page(
        request, patient, bound=("prescription", prescription.pk, key, form), status=400
    )


@require_POST
@staff_only
def infusion_action(request, patient_id, appointment_id, action):
    _mark_active(request)
    if action not in ("given", "reschedule"):
        raise Http404("No such action.")
    patient = patient_for(request.user, patient_id, request, f"infusion {appointment_id}")
    appointment = get_object_or_404(
        InfusionAppointment.objects.select_related("course").filter(
            state__in=[AppointmentState.SCHEDULED, AppointmentState.MISSED]
        ),
        pk=appointment_id,
        patient=patient,
    )
    if action == "given":
        form = InfusionGivenForm(request.POST, prefix=f"inf{appointment.pk}-given")
    else:
        form = InfusionRescheduleForm(request.POST, prefix=f"inf{appointment.pk}-move")
    with timezone.override(patient.zone):
        valid = form.is_valid()
    if valid:
        try:
            if action == "given":
                medication_services.infusion_mark_given(
                    appointment=appointment,
                    given_at=form.cleaned_data["given_at"],
                    recorded_by=request.user,
                )
                message = f"Infusion cycle {appointment.cycle_number} marked given."
            else:
                medication_services.infusion_reschedule(
                    appointment=appointment,
                    scheduled_at=form.cleaned_data["scheduled_at"],
                    reason=form.cleaned_data["reason"],
                    recorded_by=request.user,
                )
                message = f"Infusion cycle {appointment.cycle_number} moved."
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, message)
            url = reverse("notifications:patient", args=[patient.pk]) + "#infusions"
            return HttpResponseRedirect(url)
    return _patient_page(
        request,
        patient,
        bound=("appointment", appointment.pk, "given" if action == "given" else "reschedule", form),
        status=400,
    )
