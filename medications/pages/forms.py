"""Forms for the patient pages (/me/). They check the shape of what was sent and word their
messages for patients; the services decide everything clinical (dose logging rules in
services.dose_log, report ranges and triage in symptom_services/triage.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms

from core.forms import AccessibleForm

from ..models import SkipReason
from ..symptoms import triage


def new_idempotency_key() -> str:
    """One per rendered form: a form sent twice (a double tap, a retry on a bad
    connection) records one log (adherence.md: logging is idempotent)."""
    return uuid.uuid4().hex


class DoseTakenForm(forms.Form):
    """ "Taken": now (the one-tap button) or, "when did you take it?", a day and a time
    (adherence.md "When it was taken"; the service checks the time lies between 2 hours
    before the dose was due and now)."""

    idempotency_key = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)
    taken_day = forms.DateField(
        required=False,
        label="Day",
        error_messages={"invalid": "Choose the day you took it."},
    )
    taken_time = forms.TimeField(
        required=False,
        label="Time",
        input_formats=["%H:%M", "%H:%M:%S", "%H.%M"],
        error_messages={"invalid": "Enter the time like 08:30."},
    )

    def taken_at(self, *, zone: ZoneInfo, today: date) -> datetime | None:
        """The moment given, in the patient's zone; None for "now"."""
        moment = self.cleaned_data.get("taken_time")
        if moment is None:
            return None
        day = self.cleaned_data.get("taken_day") or today
        return datetime.combine(day, moment, tzinfo=zone)


class DoseNotTakenForm(AccessibleForm):
    reason = forms.ChoiceField(
        label="Why did you not take it?",
        choices=SkipReason.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose why you did not take it.",
            "invalid_choice": "Choose one of the reasons in the list.",
        },
    )
    note = forms.CharField(
        label="Anything else you want to tell the team (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "Keep this under 1000 characters."},
    )
    idempotency_key = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # adherence.md: "other (free text)" - the team needs to know what happened.
        if data.get("reason") == SkipReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "You chose 'Another reason': tell us what happened here.")
        return data


# Form field names of the report's figures; each symptom's field is its code with a prefix,
# so a rule set can never add a symptom whose name clashes with them.
SYMPTOM_PREFIX = "symptom_"
FIGURES = ("temperature_c", "systolic_bp", "diastolic_bp")


class SymptomReportForm(AccessibleForm):
    """Built from triage.symptom_choices(active rules): one radio group per symptom, grade
    0 ("None", "Not at all", "No") chosen to start with."""

    temperature_c = forms.DecimalField(
        label="Temperature (°C)",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
        help_text="If you have measured it, for example 37.2.",
        error_messages={"invalid": "Enter your temperature as a number, for example 37.2."},
    )
    systolic_bp = forms.IntegerField(
        label="Top number (systolic)",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="For example 135.",
        error_messages={"invalid": "Enter the top number as a whole number, for example 135."},
    )
    diastolic_bp = forms.IntegerField(
        label="Bottom number (diastolic)",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="For example 85.",
        error_messages={"invalid": "Enter the bottom number as a whole number, for example 85."},
    )
    # triage.md: notes up to 2,000 characters; the form shows the count and stops there
    # (maxlength, and patient.js counts down), so a long note can never sink a red report.
    notes = forms.CharField(
        label="Anything else you want to tell the team (optional)",
        required=False,
        max_length=2000,
        help_text="Up to 2,000 characters.",
        widget=forms.Textarea(attrs={"rows": 4, "data-countdown": ""}),
        error_messages={"max_length": "Keep this to 2,000 characters or fewer."},
    )

    def __init__(self, *args, choices: Sequence[Mapping[str, Any]], **kwargs):
        super().__init__(*args, **kwargs)
        self.symptom_choices = list(choices)
        for choice in self.symptom_choices:
            label = choice["label"]
            field = forms.TypedChoiceField(
                label=label,
                choices=[(grade, text) for grade, text in choice["grades"]],
                coerce=int,
                widget=forms.RadioSelect,
                initial=0,
                error_messages={
                    "required": f"Choose an answer for '{label}'.",
                    "invalid_choice": f"Choose one of the answers for '{label}'.",
                },
            )
            field.symptom = choice  # the template shows its kind and description
            self.fields[SYMPTOM_PREFIX + choice["code"]] = field

    def _symptom_fields(self, kind: str) -> list[forms.BoundField]:
        return [
            self[SYMPTOM_PREFIX + choice["code"]]
            for choice in self.symptom_choices
            if choice["kind"] == kind
        ]

    @property
    def graded_fields(self) -> list[forms.BoundField]:
        return self._symptom_fields(triage.GRADED)

    @property
    def red_flag_fields(self) -> list[forms.BoundField]:
        return self._symptom_fields(triage.RED_FLAG)

    def report_data(self) -> dict[str, Any]:
        """The report in the API's shape, for symptom_report_create. Every symptom is sent,
        grade 0 included: "not present" is an answer too, and the trends need it."""
        data = self.cleaned_data
        report: dict[str, Any] = {
            "symptoms": [
                {"code": choice["code"], "grade": data[SYMPTOM_PREFIX + choice["code"]]}
                for choice in self.symptom_choices
            ]
        }
        for figure in FIGURES:
            if data.get(figure) is not None:
                report[figure] = data[figure]
        if (data.get("notes") or "").strip():
            report["notes"] = data["notes"].strip()
        return report

    def figures_data(self) -> dict[str, Any]:
        """The figures that are well-formed numbers, for checking their ranges even when
        another answer is missing, so every problem is shown at once."""
        data = getattr(self, "cleaned_data", {})
        return {
            figure: data[figure]
            for figure in FIGURES
            if figure not in self.errors and data.get(figure) is not None
        }
