"""Forms of the patient's own Account page."""

from django import forms

from .models import REMINDER_MINUTES_BEFORE_MAX

MINUTES_CHOICES = [
    (0, "At the time the dose is due"),
    (15, "15 minutes before"),
    (30, "30 minutes before"),
    (45, "45 minutes before"),
    (60, "1 hour before"),
]


class ReminderSettingsForm(forms.Form):
    enabled = forms.BooleanField(
        required=False, label="Remind me when a dose of my medicine is due"
    )
    minutes_before = forms.TypedChoiceField(
        choices=MINUTES_CHOICES,
        coerce=int,
        label="When",
        error_messages={"invalid_choice": "Choose one of the times in the list."},
    )

    def clean_minutes_before(self) -> int:
        value = self.cleaned_data["minutes_before"]
        if not 0 <= value <= REMINDER_MINUTES_BEFORE_MAX:
            raise forms.ValidationError("Choose one of the times in the list.")
        return value
