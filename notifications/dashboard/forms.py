"""Forms of the nurse dashboard. They check the shape of what was sent; the services decide
everything clinical (alert transitions in notifications.services, holds, dose changes, stops
and infusions in medications.services) and their per-field messages are put next to the
fields they are about (`add_service_errors`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django import forms

from core.forms import AccessibleForm
from medications import ladders

from ..models import AlertOutcome, AlertStatus
from ..services.outcomes import lower_steps
from .alert_queue import STATUS_ACTIVE, STATUS_ALL, kind_choices, level_choices

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)


def local_datetime_field(label: str, *, required: bool, help_text: str = "") -> forms.DateTimeField:
    # Parsed in the current time zone: the views activate the patient's zone around
    # validation, so "09:00" means 09:00 where the patient is (drugs.md: local times).
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=DateTimeLocalInput(),
        help_text=help_text,
    )


class DashboardForm(AccessibleForm):
    """The dashboard's templates give help text the id "<field id>-hint" and link it from
    the start, and errors are linked as soon as validation fails."""

    help_text_id_suffix = "-hint"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = self.help_text_id(name)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if not valid:
            self.link_errors()
        return valid


# --- the queue ------------------------------------------------------------------------------

STATUS_CHOICES = [
    (STATUS_ACTIVE, "Open and acknowledged"),
    (AlertStatus.OPEN.value, "Open"),
    (AlertStatus.ACKNOWLEDGED.value, "Acknowledged"),
    (AlertStatus.RESOLVED.value, "Resolved"),
    (STATUS_ALL, "All"),
]


class QueueFilterForm(forms.Form):
    team = forms.TypedChoiceField(label="Team", required=False, coerce=int, empty_value=None)
    level = forms.ChoiceField(label="Level", required=False)
    kind = forms.ChoiceField(label="Kind", required=False)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    reminders = forms.ChoiceField(
        label="Reminders",
        required=False,
        choices=[("", "Any"), ("unreachable", "Unreachable (48 h)")],
    )
    q = forms.CharField(
        label="Patient name or NHS number",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )

    def __init__(self, data=None, *, teams: Sequence = ()):
        super().__init__(data)
        self.fields["team"].choices = [("", "All my teams")] + [(t.pk, t.name) for t in teams]
        self.fields["level"].choices = [("", "All levels")] + level_choices()
        self.fields["kind"].choices = [("", "All kinds")] + kind_choices()
        self.show_team = len(teams) > 1

    def filter_values(self) -> dict:
        """The filters to apply: what was valid of what was sent, defaults for the rest."""
        values = {
            "team_id": None,
            "level": "",
            "kind": "",
            "status": STATUS_ACTIVE,
            "search": "",
            "reminders": "",
        }
        if not self.is_bound:
            return values
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        values["team_id"] = cleaned.get("team") or None
        values["level"] = cleaned.get("level") or ""
        values["kind"] = cleaned.get("kind") or ""
        values["status"] = cleaned.get("status") or STATUS_ACTIVE
        values["search"] = cleaned.get("q") or ""
        values["reminders"] = cleaned.get("reminders") or ""
        return values


class ResolveForm(DashboardForm):
    """Outcome and note; for the outcomes that act (triage.md, last section) which
    prescription(s) to hold, the new dose from the drug's ladder, when to attend; and an
    optional message the patient reads with the outcome. `prescriptions`: the patient's
    current ones (with drug and patient), which the hold and dose choices offer."""

    # Radio buttons: every outcome readable in full, even in a narrow queue row.
    outcome = forms.ChoiceField(
        label="Outcome",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the outcome."},
    )
    # triage.md: "The nurse closes an alert with an outcome ... and a note" (the service
    # refuses an empty note); for "Other" the note is the outcome, so it says so.
    note = forms.CharField(
        label="Note",
        max_length=4000,
        error_messages={"required": "Write a short note saying what was done."},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done and agreed. For “Other”, say what the outcome was. "
        "It is the reason kept with a hold or dose change.",
    )
    prescriptions = forms.TypedMultipleChoiceField(
        label="Prescriptions to hold",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For “Treatment held”: each one ticked is held from now until resumed.",
    )
    new_dose = forms.ChoiceField(
        label="New dose",
        required=False,
        widget=forms.RadioSelect,
        help_text="For “Dose reduced”: a lower step of the drug's dose ladder, from now.",
    )
    attend_at = local_datetime_field(
        "When to attend (patient's local time)",
        required=False,
        help_text="For “Asked to attend”.",
    )
    message_to_patient = forms.CharField(
        label="Message to the patient",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to the patient with the outcome of their report. The note stays internal.",
    )

    end_follow_up = forms.BooleanField(
        label="End the daily follow-up check-ins",
        required=False,
        help_text="The patient is no longer asked about the amber items each day.",
    )

    service_fields = {"resolution_note": "note", "dose_mg": "new_dose"}

    def __init__(self, *args, prescriptions: Sequence = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = list(AlertOutcome.choices)
        self.fields["prescriptions"].choices = [
            (p.pk, f"{_name(p)} {p.dose_mg.normalize():f} mg" + _status_words(p))
            for p in prescriptions
        ]
        self.steps = {}
        dose_choices = []
        for prescription in prescriptions:
            for step in lower_steps(prescription):
                key = f"{prescription.pk}:{step.id}"
                self.steps[key] = (prescription.pk, step)
                dose_choices.append((key, f"{_name(prescription)}: {step.label}"))
        self.fields["new_dose"].choices = dose_choices
        if not prescriptions:
            del self.fields["prescriptions"]
            del self.fields["new_dose"]

    def outcome_label(self) -> str:
        return AlertOutcome(self.cleaned_data["outcome"]).label

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") == AlertOutcome.OTHER and "note" in self.errors:
            self.errors["note"] = self.error_class(["For “Other”, write what the outcome was."])
        return cleaned

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        outcome = data["outcome"]
        arguments = {
            "outcome": outcome,
            "note": data["note"],
            "message_to_patient": data.get("message_to_patient") or "",
            "end_follow_up": bool(data.get("end_follow_up")),
        }
        if outcome == AlertOutcome.TREATMENT_HELD:
            arguments["prescription_ids"] = data.get("prescriptions") or []
        elif outcome == AlertOutcome.DOSE_REDUCED:
            chosen = self.steps.get(data.get("new_dose") or "")
            if chosen is not None:
                arguments["prescription_ids"] = [chosen[0]]
                arguments["dose_mg"] = chosen[1].dose_mg
                arguments["ladder_step"] = chosen[1].id
        elif outcome == AlertOutcome.SAME_DAY_ASSESSMENT:
            arguments["attend_at"] = data.get("attend_at")
        return arguments


def _name(prescription) -> str:
    name = prescription.drug.name
    return name[:1].upper() + name[1:]


def _status_words(prescription) -> str:
    status = prescription.status
    return "" if status == "active" else f" ({prescription.get_status_display().lower()})"


# --- prescriptions and infusions ------------------------------------------------------------

REASON = {
    "widget": forms.Textarea(attrs={"rows": 2}),
    "max_length": 2000,
    "error_messages": {"required": "Give the reason."},
}


class HoldForm(DashboardForm):
    reason = forms.CharField(label="Reason for the hold", **REASON)
    starts_at = local_datetime_field(
        "From (patient's local time)", required=False, help_text="Leave empty to hold from now."
    )
    ends_at = local_datetime_field(
        "Until (patient's local time)",
        required=False,
        help_text="Leave empty to hold until the team resumes it.",
    )
    service_fields = {"from": "starts_at", "until": "ends_at"}


class ResumeForm(DashboardForm):
    reason = forms.CharField(label="Reason for resuming", **REASON)


class StopForm(DashboardForm):
    reason = forms.CharField(label="Reason for stopping", **REASON)
    stopped_at = local_datetime_field(
        "Stopped at (patient's local time)", required=False, help_text="Leave empty for now."
    )
    service_fields = {"at": "stopped_at"}


OFF_LADDER = "other"


class ChangeDoseForm(DashboardForm):
    step = forms.ChoiceField(label="New dose", widget=forms.RadioSelect)
    dose_mg = forms.DecimalField(
        label="Other dose (mg)",
        required=False,
        min_value=0,
        max_digits=7,
        decimal_places=2,
        help_text="Only for a dose that is not on the drug's ladder.",
    )
    override_reason = forms.CharField(
        label="Why a dose off the ladder",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Needed for a dose that is not one of the steps above.",
    )
    reason = forms.CharField(label="Reason for the change", **REASON)
    effective_from = local_datetime_field(
        "From (patient's local time)", required=False, help_text="Leave empty for now."
    )
    service_fields = {"from": "effective_from", "ladder_step": "step"}

    def __init__(
        self,
        *args,
        steps: Sequence[ladders.Step] = (),
        current: ladders.Step | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.steps = {step.id: step for step in steps}
        choices = [
            (
                step.id,
                f"{step.label} (current)" if current and step.id == current.id else step.label,
            )
            for step in steps
        ]
        choices.append((OFF_LADDER, "Another dose, off the ladder (give the reason)"))
        self.fields["step"].choices = choices
        self.current = current

    def clean(self):
        cleaned = super().clean()
        step = cleaned.get("step")
        if step == OFF_LADDER:
            if cleaned.get("dose_mg") in (None, ""):
                self.add_error("dose_mg", "Give the dose in mg.")
            elif cleaned["dose_mg"] <= 0:
                self.add_error("dose_mg", "The dose must be more than 0 mg.")
            if not (cleaned.get("override_reason") or "").strip():
                self.add_error(
                    "override_reason", "Say why this patient needs a dose off the ladder."
                )
        elif step and self.current is not None and step == self.current.id:
            self.add_error("step", "That is the current dose: choose another step.")
        return cleaned

    def service_arguments(self) -> dict:
        step = self.cleaned_data["step"]
        arguments = {
            "reason": self.cleaned_data["reason"],
            "effective_at": self.cleaned_data.get("effective_from"),
        }
        if step == OFF_LADDER:
            arguments["dose_mg"] = self.cleaned_data["dose_mg"]
            arguments["override_reason"] = self.cleaned_data["override_reason"]
        else:
            chosen = self.steps[step]
            arguments["dose_mg"] = chosen.dose_mg
            arguments["ladder_step"] = chosen.id
        return arguments


class InfusionGivenForm(DashboardForm):
    given_at = local_datetime_field("Given at (patient's local time)", required=True)


class InfusionRescheduleForm(DashboardForm):
    scheduled_at = local_datetime_field("New time (patient's local time)", required=True)
    reason = forms.CharField(label="Reason for moving it", **REASON)


def local_input_value(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime(DATETIME_LOCAL)
