"""Expected symptoms (baselines) on the nurse's patient and alert pages (checkins.md,
"Alert burden"): what is active, the form to set one, and the words for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import forms

from medications.models import ExpectedSymptom
from medications.symptoms import baselines as baseline_services
from medications.symptoms import triage
from patients.models import Patient

from .forms import DashboardForm
from .words import rules_for_labels


class ExpectedSymptomForm(DashboardForm):
    code = forms.ChoiceField(label="Symptom", error_messages={"required": "Choose the symptom."})
    max_grade = forms.TypedChoiceField(
        label="Expected up to",
        coerce=int,
        choices=[(1, "Grade 1"), (2, "Grade 2")],
        initial=2,
        error_messages={"required": "Choose the grade."},
    )
    until = forms.DateField(
        label="Until (the last day it applies)",
        help_text=f"At most {ExpectedSymptom.MAX_DAYS} days ahead.",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        error_messages={"required": "Give the last day.", "invalid": "Give a date."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=baseline_services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='e.g. "grade 2 hand-foot on regorafenib, managed with creams"',
        error_messages={"required": "Give the reason."},
    )

    def __init__(self, *args, patient: Patient, now: datetime, rules=None, **kwargs):
        super().__init__(*args, **kwargs)
        rules = rules or rules_for_labels()
        self.fields["code"].choices = [
            ("", "Choose a symptom"),
            *[(code, spec["label"]) for code, spec in rules["graded_symptoms"].items()],
        ]
        today = baseline_services.local_date(patient, now)
        self.fields["until"].initial = today + timedelta(days=14)
        self.fields["until"].widget.attrs.update(
            {"min": today.isoformat(), "max": (today + timedelta(days=30)).isoformat()}
        )


@dataclass(frozen=True)
class BaselineLine:
    baseline: ExpectedSymptom
    label: str


def expected_symptom_lines(patient: Patient, now: datetime, rules=None) -> list[BaselineLine]:
    """The patient's active baselines in words (one query, given the rules)."""
    rules = rules or rules_for_labels()
    rows = baseline_services.expected_symptoms_active(
        patient, on=baseline_services.local_date(patient, now)
    ).select_related("created_by")
    return [BaselineLine(row, triage.item_label(rules, row.code)) for row in rows]


def expected_symptoms_section(patient: Patient, now: datetime, form=None, rules=None) -> dict:
    rules = rules or rules_for_labels()
    return {
        "expected_symptoms": expected_symptom_lines(patient, now, rules),
        "expected_symptom_form": form or ExpectedSymptomForm(patient=patient, now=now, rules=rules),
    }
