"""Admin for symptom reports and the triage rule set (imported by medications/admin.py).

The rule set is versioned data (clinical/triage.md: a Trust reviews and changes it without a
code change, and every result records the version that produced it). Versions are never
edited: saving a changed rule set stores a NEW version, makes it the active one and leaves
the old one as it was; "Make active" goes back to an earlier version. Reports are clinical
records: read-only once stored; one entered here is graded at once by the same service as
the API.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.utils import timezone

from ..models import SymptomReport, TriageRuleSet
from . import services as symptom_services
from .selectors import active_rules

# --- rule set -----------------------------------------------------------------------------------


def _pretty(rules: Any) -> str:
    return json.dumps(rules, indent=2, ensure_ascii=False)


def _without_version(rules: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rules.items() if key != "version"}


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


class TriageRuleSetForm(forms.ModelForm):
    rules_json = forms.CharField(
        label="Rules (JSON)",
        widget=forms.Textarea(
            attrs={"rows": 40, "cols": 110, "spellcheck": "false", "class": "vLargeTextField"}
        ),
        help_text=(
            "Saving stores these rules as a NEW version and makes it the active one; the "
            "version shown stays exactly as it is, and reports keep the version that graded "
            "them. The version number inside is set for you. After changing the product "
            "defaults in code, regenerate docs/triage.md."
        ),
    )
    change_note = forms.CharField(
        label="What changed and why",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 110}),
        help_text="Kept with the new version (for example the governance decision it follows).",
    )

    class Meta:
        model = TriageRuleSet
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rules = self.instance.rules if self.instance.pk else active_rules()
        self.fields["rules_json"].initial = _pretty(rules)

    def clean_rules_json(self) -> dict[str, Any]:
        text = self.cleaned_data["rules_json"]
        try:
            rules = json.loads(text, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ValidationError(f"This is not valid JSON: {exc}") from exc
        if not isinstance(rules, dict):
            raise ValidationError("The rule set must be a JSON object ({ ... }).")
        if self.instance.pk and _without_version(rules) == _without_version(self.instance.rules):
            raise ValidationError(
                f"Nothing has changed: this is version {self.instance.version}. Edit the "
                "rules to make a new version, or use the action 'Make active' on the list."
            )
        candidate = copy.deepcopy(rules)
        candidate["version"] = (TriageRuleSet.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        problems = symptom_services.triage_ruleset_problems(candidate)
        if problems:
            raise ValidationError(["This rule set cannot be used:", *problems])
        return rules


@admin.register(TriageRuleSet)
class TriageRuleSetAdmin(admin.ModelAdmin):
    form = TriageRuleSetForm
    list_display = ["version", "is_active", "created_at", "created_by", "notes", "reports"]
    list_filter = ["is_active"]
    ordering = ["-version"]
    readonly_fields = ["version", "is_active", "created_at", "created_by", "notes"]
    actions = ["make_active"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["rules_json", "change_note"]})]
        return [
            (None, {"fields": ["version", "is_active", "created_at", "created_by", "notes"]}),
            ("Make a new version from this one", {"fields": ["rules_json", "change_note"]}),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(report_count=Count("reports"))

    @admin.display(description="Reports graded", ordering="report_count")
    def reports(self, ruleset: TriageRuleSet) -> int:
        return ruleset.report_count

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # results point at their version for good

    def save_model(self, request, obj, form, change):
        previous = obj.version if change else None
        created = symptom_services.triage_ruleset_publish(
            rules=form.cleaned_data["rules_json"],
            notes=form.cleaned_data["change_note"],
            created_by=request.user,
        )
        # The admin goes on (history entry, redirect) with the new version.
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        kept = f" Version {previous} is kept unchanged." if previous else ""
        self.message_user(
            request,
            f"Saved as version {created.version}, now active: new reports are graded with it."
            + kept,
            messages.SUCCESS,
        )

    @admin.action(description="Make active (new reports are graded with it)")
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one version.", messages.ERROR)
            return
        try:
            ruleset = symptom_services.triage_ruleset_activate(ruleset=queryset.get())
        except ValidationError as exc:
            problems = "; ".join(exc.messages)
            self.message_user(request, f"This version cannot be used: {problems}", messages.ERROR)
            return
        self.message_user(request, f"Version {ruleset.version} is now active.", messages.SUCCESS)


# --- symptom reports ----------------------------------------------------------------------------


class GradedFilter(admin.SimpleListFilter):
    title = "graded"
    parameter_name = "graded"

    def lookups(self, request, model_admin):
        return [("yes", "Graded"), ("no", "Not graded yet")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(triaged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(triaged_at__isnull=True)
        return queryset


REPORT_BODY_FIELDS = ["symptoms", "temperature_c", "systolic_bp", "diastolic_bp", "notes"]
TRIAGE_FIELDS = [
    "triage_level",
    "triage_reasons",
    "triage_advice",
    "triage_item_levels",
    "call_advice_line",
    "ruleset",
    "ruleset_version",
    "triaged_at",
    "alert_raised_at",
]


class SymptomReportAddForm(forms.ModelForm):
    class Meta:
        model = SymptomReport
        fields = ["patient", "reported_at", *REPORT_BODY_FIELDS]
        help_texts = {
            "symptoms": 'A list like [{"code": "diarrhoea", "grade": 2}]; codes and grades as '
            "in docs/triage.md.",
            "reported_at": "When the patient had these symptoms (now, or earlier for a report "
            "taken by phone).",
        }

    def report_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        body = {field: data.get(field) for field in REPORT_BODY_FIELDS}
        return {key: value for key, value in body.items() if value not in (None, "")}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        reported_at = data.get("reported_at")
        if reported_at and reported_at > timezone.now() + symptom_services.CLOCK_SKEW:
            self.add_error("reported_at", "A report cannot be made in the future.")
        errors = symptom_services.symptom_report_errors(self.report_data(), active_rules())
        for field, problems in errors.items():
            for problem in problems:
                self.add_error(field if field in self.fields else None, problem)
        return data


@admin.register(SymptomReport)
class SymptomReportAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "patient",
        "reported_at",
        "triage_level",
        "ruleset_version",
        "entered_by_staff",
        "alert_raised",
        "graded",
    ]
    list_filter = ["triage_level", "patient__care_team", "entered_by_staff", GradedFilter]
    # Exact NHS number (spaces allowed): a search never lists partial matches of others.
    search_fields = ["=patient__nhs_number"]
    search_help_text = "Patient's NHS number (10 digits, spaces allowed)."
    list_select_related = ["patient"]
    date_hierarchy = "reported_at"
    autocomplete_fields = ["patient"]
    actions = ["grade_now"]

    @admin.display(boolean=True, description="Alert raised")
    def alert_raised(self, report: SymptomReport) -> bool | None:
        if report.triage_level not in ("red", "amber"):
            return None
        return report.alert_raised_at is not None

    @admin.display(boolean=True, description="Graded")
    def graded(self, report: SymptomReport) -> bool:
        return report.triaged_at is not None

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, search_term.replace(" ", ""))

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = SymptomReportAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": SymptomReportAddForm.Meta.fields})]
        return [
            (None, {"fields": ["patient", "reported_at", "entered_by", "entered_by_staff"]}),
            ("Report", {"fields": REPORT_BODY_FIELDS}),
            ("Triage result", {"fields": TRIAGE_FIELDS}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["patient", "reported_at", "entered_by", "entered_by_staff"] + [
            *REPORT_BODY_FIELDS,
            *TRIAGE_FIELDS,
        ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a clinical record

    def save_model(self, request, obj, form, change):
        if change:
            return  # read-only once stored
        created = symptom_services.symptom_report_create(
            patient=form.cleaned_data["patient"],
            data=form.report_data(),
            entered_by=request.user,
            reported_at=form.cleaned_data.get("reported_at"),
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
        self.message_user(
            request,
            f"Graded {created.triage_level} (rules version {created.ruleset_version}).",
            messages.SUCCESS,
        )

    @admin.action(description="Grade now (reports not graded yet)")
    def grade_now(self, request, queryset):
        outcomes: dict[str, int] = {}
        for report_id in queryset.filter(triaged_at__isnull=True).values_list("pk", flat=True):
            outcome = symptom_services.symptom_report_triage(report_id=report_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        words = {
            "graded": "graded now",
            "invalid": "cannot be graded (invalid data; see the log)",
            "already_graded": "already graded",
            "missing": "no longer there",
        }
        summary = "; ".join(f"{n} {words[outcome]}" for outcome, n in outcomes.items())
        self.message_user(request, summary or "Nothing to grade.", messages.INFO)
