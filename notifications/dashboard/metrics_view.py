"""/nurse/metrics/: how the advice line is doing, for the teams a user may see (a nurse her
teams, an admin every team), with a CSV download of the same figures."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.forms import AccessibleForm
from patients.selectors import care_teams_visible_to

from . import metrics
from .metrics_tables import metrics_csv, metrics_tables
from .views import staff_only


class MetricsFilterForm(AccessibleForm):
    help_text_id_suffix = "-hint"

    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    first_day = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data, *, teams, today):
        super().__init__(data)
        self.today = today
        self.fields["team"].choices = [("", "All my teams")] + [(t.pk, t.name) for t in teams]
        self.fields["team"].error_messages["invalid_choice"] = "Choose one of your teams."
        for name in ("first_day", "last_day"):
            self.fields[name].error_messages["invalid"] = "Enter a date, like 2026-11-27."

    def clean_last_day(self):
        last = self.cleaned_data.get("last_day") or self.today
        if last > self.today:
            raise forms.ValidationError("The end date cannot be in the future.")
        return last

    def clean(self):
        cleaned = super().clean()
        last = cleaned.get("last_day")
        if last is None:
            return cleaned
        first = cleaned.get("first_day")
        if first is None:
            if "first_day" in self.errors:
                return cleaned
            first = last - timedelta(days=metrics.DEFAULT_DAYS - 1)
            cleaned["first_day"] = first
        if first > last:
            self.add_error("first_day", "The start date must be on or before the end date.")
        elif (last - first).days + 1 > metrics.MAX_DAYS:
            self.add_error("first_day", f"Choose at most {metrics.MAX_DAYS} days.")
        return cleaned


def _period_words(period: metrics.Period) -> str:
    return (
        f"{period.first_day.day} {period.first_day:%b %Y} to "
        f"{period.last_day.day} {period.last_day:%b %Y} ({period.days} days)"
    )


def _filtered(request):
    now = timezone.now()
    teams = list(care_teams_visible_to(request.user))
    today = now.astimezone(metrics.ZONE).date()
    form = MetricsFilterForm(request.GET, teams=teams, today=today)
    if not form.is_valid():
        form.link_errors()
        return form, teams, None, None, now
    cleaned = form.cleaned_data
    period = metrics.Period(cleaned["first_day"], cleaned["last_day"])
    return form, teams, cleaned["team"], period, now


@require_GET
@staff_only
def metrics_page(request):
    form, teams, team_id, period, now = _filtered(request)
    context = {
        "form": form,
        "nav": "metrics",
        "show_team": len(teams) > 1,
        "error_forms": [form] if form.errors else [],
    }
    if period is None:
        return render(request, "notifications/metrics.html", context, status=400)
    figures = metrics.advice_line_metrics(
        request.user, team_id=team_id, team_ids=[t.pk for t in teams], period=period, now=now
    )
    query = {
        "team": team_id or "",
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
    }
    context.update(
        {
            "metrics": figures,
            "tables": metrics_tables(figures),
            "period_words": _period_words(period),
            "team_words": _team_words(teams, team_id),
            "csv_query": urlencode({k: v for k, v in query.items() if v}),
        }
    )
    return render(request, "notifications/metrics.html", context)


def _team_words(teams, team_id) -> str:
    if team_id:
        return next(t.name for t in teams if t.pk == team_id)
    return "All teams" if len(teams) != 1 else teams[0].name


def _csv_safe(words: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula.
    return "'" + words if words[:1] in ("=", "+", "-", "@") else words


@require_GET
@staff_only
def metrics_download(request):
    form, teams, team_id, period, now = _filtered(request)
    if period is None:
        problems = "; ".join(
            f"{form[name].label if name in form.fields else 'Filter'}: {' '.join(errors)}"
            for name, errors in form.errors.items()
        )
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    figures = metrics.advice_line_metrics(
        request.user, team_id=team_id, team_ids=[t.pk for t in teams], period=period, now=now
    )
    body = metrics_csv(
        metrics_tables(figures),
        period_words=_period_words(period),
        team_words=_csv_safe(_team_words(teams, team_id)),
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    filename = f"advice-line-metrics-{period.first_day}-to-{period.last_day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
