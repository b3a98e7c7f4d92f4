from __future__ import annotations

from datetime import date, timedelta

from django import forms

from .summary import MAX_DAYS


class SummaryPeriodForm(forms.Form):
    """The clinic summary's period; empty means the default (summary.default_period)."""

    first = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    last = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first is None and last is None:
            return data
        last = last or self.today
        first = first or last - timedelta(days=27)
        if last > self.today:
            self.add_error("last", "The period cannot end after today.")
        elif first > last:
            self.add_error("first", "'From' must be on or before 'To'.")
        elif (last - first).days + 1 > MAX_DAYS:
            self.add_error("first", f"Choose at most {MAX_DAYS} days.")
        data["first"], data["last"] = first, last
        return data
