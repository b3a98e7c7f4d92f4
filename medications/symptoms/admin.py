"""Admin for symptom reports and the triage rule set (imported by medications/admin.py).

The rule set is versioned data (clinical/triage.md: a Trust reviews and changes it without a
code change, and every result records the version that produced it). Versions are never
edited: saving a changed rule set stores a NEW version, makes it the active one and leaves
the old one as it was; "Make active" goes back to an earlier version. Reports are clinical
records: read-only once stored; one entered here is graded at once by the same service as
the API.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from ..models import SymptomReport, TriageRuleSet
from . import rules_editor
from . import services as symptom_services
from .selectors import active_rules, active_ruleset

# --- rule set -----------------------------------------------------------------------------------


def _pretty(rules: Any) -> str:
    return json.dumps(rules, indent=2, ensure_ascii=False)


@admin.register(TriageRuleSet)
class TriageRuleSetAdmin(admin.ModelAdmin):
    """Versions are shown read-only; "Edit the rules" (the add button, or "Make a new version
    from this one" on a version) opens the rules as a table (rules_editor.py), previews what
    changes against the live version, and saves a NEW version, made active."""

    list_display = ["version", "is_active", "created_at", "created_by", "notes", "reports"]
    list_filter = ["is_active"]
    ordering = ["-version"]
    readonly_fields = [
        "version",
        "is_active",
        "created_at",
        "created_by",
        "notes",
        "new_version_link",
        "rules_as_json",
    ]
    fieldsets = [
        (None, {"fields": ["version", "is_active", "created_at", "created_by", "notes"]}),
        ("Change the rules", {"fields": ["new_version_link"]}),
        ("The rules as stored (read only)", {"fields": ["rules_as_json"], "classes": ["collapse"]}),
    ]
    actions = ["make_active"]

    def get_urls(self):
        edit = path(
            "edit/",
            self.admin_site.admin_view(self.edit_rules_view),
            name="medications_triageruleset_edit",
        )
        return [edit, *super().get_urls()]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(report_count=Count("reports"))

    @admin.display(description="Reports graded", ordering="report_count")
    def reports(self, ruleset: TriageRuleSet) -> int:
        return ruleset.report_count

    @admin.display(description="New version")
    def new_version_link(self, ruleset: TriageRuleSet) -> str:
        url = reverse("admin:medications_triageruleset_edit") + f"?from={ruleset.pk}"
        return format_html(
            '<a class="button" href="{}">Make a new version from this one</a> Versions are '
            "never edited: saving makes a new version and makes it the active one.",
            url,
        )

    @admin.display(description="Rules (JSON)")
    def rules_as_json(self, ruleset: TriageRuleSet) -> str:
        return format_html("<pre>{}</pre>", _pretty(ruleset.rules))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # results point at their version for good

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a version is never edited; the edit view makes a new one

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:medications_triageruleset_edit"))

    def edit_rules_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        live = active_ruleset()
        base_set = live
        if request.GET.get("from"):
            base_set = TriageRuleSet.objects.filter(pk=_whole(request.GET["from"])).first() or live
        form = rules_editor.TriageRulesForm(
            request.POST if request.method == "POST" else None, base=base_set.rules
        )
        preview = None
        if request.method == "POST" and form.is_valid():
            rules = form.rules()
            if rules_editor.same_rules(rules, live.rules):
                form.add_error(
                    None,
                    f"Nothing changes against the live version {live.version}: change a value "
                    "in the table, or use 'Make active' on the list to go back to a version.",
                )
            elif "_save" in request.POST and not form.cleaned_data["change_note"].strip():
                form.add_error("change_note", "Say what changed and why: it is kept with it.")
            elif "_save" in request.POST:
                return self._publish(request, rules, form.cleaned_data["change_note"], live)
            else:
                preview = rules_editor.changes(live.rules, rules)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Edit the triage rules",
            "form": form,
            "live": live,
            "base": base_set,
            "preview": preview,
            "errors": form.non_field_errors(),
            **rules_editor.table_context(form),
        }
        status = 400 if request.method == "POST" and form.errors else 200
        return TemplateResponse(
            request, "admin/medications/triageruleset/edit_rules.html", context, status=status
        )

    def _publish(self, request, rules, note, live):
        try:
            created = symptom_services.triage_ruleset_publish(
                rules=rules, notes=note.strip(), created_by=request.user
            )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        changed = rules_editor.changes(live.rules, created.rules)
        self.log_addition(request, created, [{"added": {}}])
        self.message_user(
            request,
            f"Saved as version {created.version}, now active: new reports are graded with it. "
            f"Version {live.version} is kept unchanged. {len(changed)} change"
            f"{'' if len(changed) == 1 else 's'}: " + " ".join(changed),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:medications_triageruleset_changelist"))

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


def _whole(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


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
