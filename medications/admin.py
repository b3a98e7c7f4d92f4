"""Admin for the drug catalogue, prescriptions (with their events, holds, expected doses and
logs), expected doses, dose logs and infusion courses.

The catalogue is data a Trust edits here (late windows, ladders, advice). Prescriptions are
written through the services, as in the API, so the prescribing checks, the history of
clinical decisions and the expected doses stay consistent: the add form runs the same
service, and the change form shows the regimen read-only (holds, dose changes and stops go
through the API or the nurse pages, which record who and why). Infusion courses are planned
the same way (the add form runs `infusion_course_create`) and stopped with an action.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import ladders, schedule, services
from .models import (
    DoseLog,
    Drug,
    ExpectedDose,
    InfusionAppointment,
    InfusionCourse,
    Prescription,
    PrescriptionEvent,
    PrescriptionHold,
)


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "brand",
        "route",
        "standard_dose_text",
        "late_window_rule",
        "late_window_hours",
        "is_active",
    ]
    list_filter = ["route", "late_window_rule", "is_active"]
    search_fields = ["code", "name", "brand", "atc_code", "snomed_code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "brand", "route", "form", "is_active"]}),
        (
            "Dose and schedule",
            {
                "fields": [
                    "strengths_mg",
                    "standard_dose_mg",
                    "standard_dose_text",
                    "doses_per_day",
                    "schedule_text",
                    "food_rule",
                    "line_of_therapy",
                    "default_cycle_days_on",
                    "default_cycle_days_off",
                    "interval_days",
                    "dose_ladder",
                ]
            },
        ),
        (
            "Missed doses",
            {"fields": ["late_window_rule", "late_window_hours", "missed_dose_advice"]},
        ),
        ("Codes", {"fields": ["atc_code", "snomed_code"]}),
        ("Safety", {"fields": ["common_side_effects", "urgent_warning_signs"]}),
    ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class CheckedDrugForm(form):
            def clean(self):
                data = super().clean()
                if data.get("route") == "oral":
                    try:
                        schedule.LateWindow(
                            data.get("late_window_rule"), data.get("late_window_hours")
                        )
                    except ValueError as exc:
                        self.add_error("late_window_hours", str(exc))
                return data

        return CheckedDrugForm


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PrescriptionEventInline(ReadOnlyInline):
    model = PrescriptionEvent
    fields = ["kind", "effective_at", "until", "reason", "override_reason", "data", "recorded_by"]
    readonly_fields = fields


class PrescriptionHoldInline(ReadOnlyInline):
    model = PrescriptionHold
    fields = ["starts_at", "ends_at", "reason", "recorded_at", "recorded_by"]
    readonly_fields = fields


class RecentExpectedDoseInline(ReadOnlyInline):
    """A week either side of today only: a long course has hundreds of doses (all of them
    are in the expected-dose list, filtered by prescription)."""

    model = ExpectedDose
    verbose_name_plural = "expected doses (a week either side of today)"
    fields = ["due_at", "late_until", "dose_mg", "state", "taken_at", "skip_reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .filter(due_at__gte=now - timedelta(days=7), due_at__lt=now + timedelta(days=7))
        )


class _DryRun(Exception):
    """Raised inside a savepoint to undo a trial run of the service."""


class ServiceAddForm(forms.ModelForm):
    """An admin add form whose validation is the real service, run in a savepoint and undone
    (the same prescribing checks as the API); `save_model` then runs it for real.
    Subclasses give `run_service`, `service_arguments`, the override prompt and how service
    field names map to form fields."""

    override_prompt = "Give a reason to prescribe anyway."
    field_names: dict[str, str] = {}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            with transaction.atomic():
                self.run_service(**self.service_arguments())
                raise _DryRun
        except _DryRun:
            pass
        except services.PrescribingChecksNotMet as exc:
            for check in exc.unmet:
                self.add_error(None, check["message"])  # words only: codes are for the API
            if any(c["overridable"] for c in exc.unmet):
                self.add_error("override_reason", self.override_prompt)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                target = self.field_names.get(field, field)
                for problem in problems:
                    self.add_error(target if target in self.fields else None, problem)
        return data


TIMES_OF_DAY_HELP = (
    "24-hour HH:MM, separated by commas, e.g. 08:00, 20:00. Leave empty for the drug's usual "
    "times at this dose: once daily 09:00, twice daily 08:00 and 20:00."
)
WORDS_FOR_TIMES = {1: "once a day", 2: "twice a day", 3: "three times a day"}


def how_often(doses_per_day: int) -> str:
    return WORDS_FOR_TIMES.get(doses_per_day, f"{doses_per_day} times a day")


def usual_doses_per_day(drug: Drug, dose_mg: Decimal | None, weight_kg) -> int:
    """How often the drug is taken at this dose: its dose ladder's step for the dose when
    that is unambiguous (sorafenib 400 mg: twice daily at the top step), else the drug's
    schedule."""
    if dose_mg is not None:
        counts = {
            step.doses_per_day
            for step in ladders.ladder_for(drug.dose_ladder, weight_kg)
            if step.dose_mg == Decimal(dose_mg)
        }
        if len(counts) == 1:
            return counts.pop()
    return drug.doses_per_day or 1


def _times_words(count: int) -> str:
    return f"{count} time{'' if count == 1 else 's'} of day"


class PrescriptionAddForm(ServiceAddForm):
    field_names = {"times": "times_text"}
    times_text = forms.CharField(label="Times of day", help_text=TIMES_OF_DAY_HELP, required=False)

    class Meta:
        model = Prescription
        fields = [
            "patient",
            "drug",
            "dose_mg",
            "start_date",
            "end_date",
            "cycle_days_on",
            "cycle_days_off",
            "override_reason",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        drugs = Drug.objects.filter(route="oral", is_active=True)
        self.fields["drug"].queryset = drugs
        self.fields["dose_mg"].required = False
        self.fields["dose_mg"].help_text = "Leave empty for the standard (or weight-based) dose."
        # The page fills the times in as a drug is chosen (admin/prescription_times.js).
        self.fields["times_text"].widget.attrs["data-usual-times"] = json.dumps(
            {str(d.pk): ", ".join(schedule.usual_times(d.doses_per_day)) for d in drugs}
        )

    def clean(self):
        data = forms.ModelForm.clean(self)
        drug, patient = data.get("drug"), data.get("patient")
        if drug is not None and patient is not None and not self.errors:
            dose = data.get("dose_mg")
            if dose is None:
                dose = services.proposed_dose_mg(drug=drug, patient=patient)
            text = (data.get("times_text") or "").strip()
            if not text:
                usual = usual_doses_per_day(drug, dose, patient.weight_kg)
                data["times_text"] = text = ", ".join(schedule.usual_times(usual))
            self._check_times_against_ladder(drug, patient, dose, text, data)
        return super().clean()

    def _check_times_against_ladder(self, drug, patient, dose, text, data) -> None:
        """A dose on the drug's ladder taken a different number of times a day is refused
        next to Times of day, in words (unless a reason to prescribe anyway is given)."""
        if dose is None or (data.get("override_reason") or "").strip():
            return
        times = [t.strip() for t in text.split(",") if t.strip()]
        steps = [
            step
            for step in ladders.ladder_for(drug.dose_ladder, patient.weight_kg)
            if step.dose_mg == Decimal(dose)
        ]
        if not steps or any(step.doses_per_day == len(times) for step in steps):
            return
        allowed = sorted({step.doses_per_day for step in steps})
        example = ", ".join(schedule.usual_times(allowed[0]))
        self.add_error(
            "times_text",
            f"{drug.name.capitalize()} {Decimal(dose):g} mg is taken "
            f"{' or '.join(how_often(n) for n in allowed)} on its dose ladder, but "
            f"{_times_words(len(times))} {'was' if len(times) == 1 else 'were'} given. Give "
            f"{_times_words(allowed[0])} (for example {example}), or give a reason to "
            "prescribe anyway.",
        )

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "patient": data["patient"],
            "drug": data["drug"],
            "dose_mg": data.get("dose_mg"),
            "times": [t.strip() for t in data["times_text"].split(",") if t.strip()],
            "start_date": data["start_date"],
            "end_date": data.get("end_date"),
            "cycle_days_on": data.get("cycle_days_on"),
            "cycle_days_off": data.get("cycle_days_off"),
            "override_reason": data.get("override_reason") or "",
        }

    def run_service(self, **arguments):
        return services.prescription_create(**arguments)


# Times of day straight after the dose (they go together on the ladder), before the reason.
PRESCRIPTION_ADD_FIELDS = [
    "patient",
    "drug",
    "dose_mg",
    "times_text",
    "start_date",
    "end_date",
    "cycle_days_on",
    "cycle_days_off",
    "override_reason",
]


@admin.register(Prescription)
class PrescriptionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "patient",
        "drug",
        "dose_mg",
        "times",
        "status",
        "start_date",
        "end_date",
        "recorded_at",
    ]
    list_filter = ["drug", "status", "patient__care_team"]
    search_fields = ["patient__family_name", "patient__nhs_number", "patient__user__username"]
    list_select_related = ["patient", "drug"]
    autocomplete_fields = ["patient"]
    date_hierarchy = "recorded_at"
    readonly_fields = [
        "patient",
        "drug",
        "dose_mg",
        "times",
        "start_date",
        "end_date",
        "cycle_days_on",
        "cycle_days_off",
        "status",
        "recorded_at",
        "recorded_by",
        "warnings",
        "override_reason",
        "stopped_at",
        "generated_until",
        "updated_at",
    ]
    inlines = [PrescriptionEventInline, PrescriptionHoldInline, RecentExpectedDoseInline]
    actions = ["bring_doses_up_to_date"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PrescriptionAddForm
            kwargs["fields"] = PRESCRIPTION_ADD_FIELDS
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": PRESCRIPTION_ADD_FIELDS})]
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing editable here: decisions go through the services
        created = services.prescription_create(**form.service_arguments(), recorded_by=request.user)
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})

    @admin.action(description="Bring expected doses up to date (from now)")
    def bring_doses_up_to_date(self, request, queryset):
        now = timezone.now()
        for prescription in queryset.select_related("drug", "patient"):
            services.expected_doses_sync(prescription=prescription, since=now, now=now)
        self.message_user(request, f"{queryset.count()} prescription(s) updated.", messages.INFO)


class DoseLogInline(ReadOnlyInline):
    model = DoseLog
    fields = ["action", "at", "reason", "note", "recorded_at", "recorded_by", "superseded_at"]
    readonly_fields = fields


@admin.register(ExpectedDose)
class ExpectedDoseAdmin(admin.ModelAdmin):
    list_display = ["id", "patient", "drug", "due_at", "late_until", "dose_mg", "state"]
    list_filter = ["state", "prescription__drug", "patient__care_team"]
    search_fields = ["patient__family_name", "patient__nhs_number"]
    list_select_related = ["patient", "prescription__drug"]
    date_hierarchy = "due_at"
    raw_id_fields = ["prescription", "patient"]
    readonly_fields = [
        "prescription",
        "patient",
        "due_at",
        "late_until",
        "dose_mg",
        "state",
        "state_changed_at",
        "taken_at",
        "skip_reason",
        "reminder_sent_at",
        "reminder_repeats",
        "next_reminder_at",
    ]
    inlines = [DoseLogInline]
    show_full_result_count = False

    @admin.display(description="drug", ordering="prescription__drug__name")
    def drug(self, obj: ExpectedDose) -> str:
        return obj.prescription.drug.name

    def has_add_permission(self, request) -> bool:
        return False  # expected doses come from prescriptions


@admin.register(DoseLog)
class DoseLogAdmin(admin.ModelAdmin):
    """History of what patients said about their doses: read-only."""

    list_display = ["id", "expected_dose", "action", "at", "reason", "recorded_by", "superseded_at"]
    list_filter = ["action", "reason", "expected_dose__prescription__drug"]
    list_select_related = ["expected_dose", "recorded_by"]
    date_hierarchy = "recorded_at"
    raw_id_fields = ["expected_dose"]
    search_fields = ["expected_dose__patient__family_name", "expected_dose__patient__nhs_number"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InfusionAppointmentInline(admin.TabularInline):
    model = InfusionAppointment
    extra = 0
    can_delete = False
    fields = [
        "cycle_number",
        "scheduled_at",
        "originally_scheduled_at",
        "state",
        "given_at",
        "doses",
        "location",
        "reschedule_reason",
    ]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class InfusionCourseAddForm(ServiceAddForm):
    override_prompt = "Give a reason to plan the course anyway."
    field_names = {"drugs": "drug_codes"}
    drug_codes = forms.MultipleChoiceField(
        label="Drugs",
        choices=[("atezolizumab", "Atezolizumab"), ("bevacizumab", "Bevacizumab")],
        initial=["atezolizumab", "bevacizumab"],
        widget=forms.CheckboxSelectMultiple,
        help_text="Both, unless bevacizumab is left out for bleeding risk.",
    )

    class Meta:
        model = InfusionCourse
        fields = ["patient", "first_infusion_at", "interval_days", "location", "override_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_infusion_at"].help_text = "UK time of the first infusion."
        self.fields["location"].initial = "Day treatment unit"

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "patient": data["patient"],
            "drugs": list(data["drug_codes"]),
            "first_infusion_at": data["first_infusion_at"],
            "interval_days": data["interval_days"],
            "location": data.get("location") or "",
            "override_reason": data.get("override_reason") or "",
        }

    def run_service(self, **arguments):
        return services.infusion_course_create(**arguments)


INFUSION_ADD_FIELDS = [
    "patient",
    "drug_codes",
    "first_infusion_at",
    "interval_days",
    "location",
    "override_reason",
]


@admin.register(InfusionCourse)
class InfusionCourseAdmin(admin.ModelAdmin):
    list_display = ["id", "patient", "drugs", "interval_days", "first_infusion_at", "status"]
    list_filter = ["status", "patient__care_team"]
    search_fields = ["patient__family_name", "patient__nhs_number"]
    list_select_related = ["patient"]
    autocomplete_fields = ["patient"]
    readonly_fields = [
        "patient",
        "drugs",
        "interval_days",
        "first_infusion_at",
        "status",
        "stopped_at",
        "warnings",
        "override_reason",
        "recorded_at",
        "recorded_by",
    ]
    inlines = [InfusionAppointmentInline]
    actions = ["stop_courses"]

    # Adding runs the same service as the API (prescribing checks, override reason, the
    # appointments); a course is never edited in place: stop it and plan a new one.
    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = InfusionCourseAddForm
            kwargs["fields"] = INFUSION_ADD_FIELDS
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": INFUSION_ADD_FIELDS})]
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing editable here
        created = services.infusion_course_create(
            **form.service_arguments(), recorded_by=request.user
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})

    @admin.action(description="Stop the selected courses (cancel planned appointments)")
    def stop_courses(self, request, queryset):
        stopped = 0
        for course in queryset.filter(status="active"):
            services.infusion_course_stop(
                course=course, reason="Stopped by an administrator", recorded_by=request.user
            )
            stopped += 1
        self.message_user(request, f"{stopped} course(s) stopped.", messages.INFO)


@admin.register(InfusionAppointment)
class InfusionAppointmentAdmin(admin.ModelAdmin):
    list_display = ["id", "patient", "cycle_number", "scheduled_at", "state", "given_at"]
    list_filter = ["state", "patient__care_team"]
    search_fields = ["patient__family_name", "patient__nhs_number"]
    list_select_related = ["patient"]
    date_hierarchy = "scheduled_at"
    raw_id_fields = ["course", "patient"]
    readonly_fields = [
        "course",
        "patient",
        "cycle_number",
        "scheduled_at",
        "originally_scheduled_at",
        "state",
        "given_at",
        "doses",
        "state_changed_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


# Symptom reports and the versioned triage rule set (issue #4) register themselves there.
from .symptoms import admin as symptom_admin  # noqa: E402, F401
