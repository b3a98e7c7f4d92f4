"""The alert page and the alert actions of the nurse dashboard (acknowledge, resolve: in
place in a queue row with htmx, or POST then redirect). Resolving with an outcome that acts
holds or reduces treatment in the same transaction (notifications.services.outcomes)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from medications.symptoms import selectors as symptom_selectors

from .. import selectors
from .. import services as alert_services
from . import alert_context, alert_queue, baselines, charts, words
from .resolve import resolve_form as _resolve_form
from .views import _mark_active, _next_url, staff_only


def _alert_page(request, alert, *, resolve_form=None, status=200):
    rules = words.rules_for_labels()
    now = timezone.now()
    due_text, overdue = words.deadline_words(alert, now)
    deliveries = list(alert.deliveries.all())
    channel_names = {d.channel_id: d.channel.name for d in deliveries}
    patient = alert.patient
    since = now - timedelta(days=alert_context.VITALS_DAYS)
    history = symptom_selectors.symptom_history(patient, since)
    axis = charts.TimeAxis(since=since, until=now, zone=patient.zone)
    return render(
        request,
        "notifications/alert_detail.html",
        {
            "alert": alert,
            "phones": alert_context.phones_of(patient),
            "treatments": alert_context.treatments_now(patient, now),
            "doses": alert_context.recent_doses(patient, now),
            "report": alert_context.report_view(alert.symptom_report, rules),
            "vitals": [
                r
                for r in reversed(history.reports)
                if r.temperature_c is not None
                or (r.systolic_bp is not None and r.diastolic_bp is not None)
            ],
            "temperature_chart": charts.temperature_chart(
                chart_id="alert-temperature", readings=history.temperature, axis=axis
            ),
            "bp_chart": charts.blood_pressure_chart(
                chart_id="alert-bp", readings=history.blood_pressure, axis=axis
            ),
            "previous_alerts": alert_context.previous_alerts(alert, now),
            "late_lines": words.late_log_lines(alert),
            "check_ins": alert_context.check_ins_to_come(patient, rules),
            "expected_symptoms": baselines.expected_symptom_lines(patient, now, rules),
            "zone": patient.zone,
            "show_zone": patient.timezone != settings.TIME_ZONE,
            "reasons": words.alert_reasons(alert, rules),
            "events": [
                (event, words.event_words(event, channel_names)) for event in alert.events.all()
            ],
            "deliveries": deliveries,
            "due_text": due_text,
            "overdue": overdue,
            "form": resolve_form or _resolve_form(alert),
            "now": now,
            "age": words.duration_words(now - alert.created_at),
            "nav": "queue",
            "queue_url": reverse("notifications:queue"),
            "form_list": [resolve_form] if resolve_form is not None else [],
        },
        status=status,
    )


@require_GET
@staff_only
def alert_detail(request, alert_id):
    _mark_active(request)
    alert = selectors.alert_for(request.user, alert_id)
    return _alert_page(request, alert)


def _row_response(request, alert, *, form=None, done_message=""):
    """The alert's queue row, re-read after the change (htmx swaps it in place)."""
    alert = selectors.alert_for(request.user, alert.pk)
    rules = words.rules_for_labels()
    row = alert_queue.queue_rows([alert], rules, timezone.now())[0]
    row.form = form or _resolve_form(alert)
    return render(
        request,
        "notifications/_queue_row_swap.html",
        {
            "row": row,
            "done_message": done_message,
            "next_url": _next_url(request, reverse("notifications:queue")),
            "show_team": alert_queue.sees_several_teams(request.user),
        },
    )


@require_POST
@staff_only
def alert_acknowledge(request, alert_id):
    _mark_active(request)
    alert = selectors.alert_for(request.user, alert_id)
    error = ""
    try:
        alert_services.alert_acknowledge(alert=alert, user=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        return _row_response(
            request,
            alert,
            done_message=error or f"Alert for {alert.patient.full_name} acknowledged by you.",
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Alert for {alert.patient.full_name} acknowledged.")
    return HttpResponseRedirect(_next_url(request, reverse("notifications:alert", args=[alert.pk])))


@require_POST
@staff_only
def alert_resolve(request, alert_id):
    _mark_active(request)
    alert = selectors.alert_for(request.user, alert_id)
    form = _resolve_form(alert, request.POST)
    with timezone.override(alert.patient.zone):  # "When to attend" is the patient's time
        valid = form.is_valid()
    if valid:
        try:
            alert_services.alert_resolve(alert=alert, user=request.user, **form.service_arguments())
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.errors:
        if request.htmx:
            return _row_response(request, alert, form=form)
        return _alert_page(
            request, selectors.alert_for(request.user, alert.pk), resolve_form=form, status=400
        )
    message = f"Alert for {alert.patient.full_name} resolved: {form.outcome_label()}."
    if request.htmx:
        return _row_response(request, alert, done_message=message)
    messages.success(request, message)
    return HttpResponseRedirect(_next_url(request, reverse("notifications:queue")))
