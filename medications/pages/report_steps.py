"""The symptom report in short steps (issue 13): warning signs first on one screen ("Do you
have any of these now?"), then what is bothering the patient from a short list, then only
those graded, measurements on their own step. One symptom, or a temperature alone, takes
three screens at 390x844; a warning sign can be sent from the second. Works without
JavaScript: each step posts the earlier answers along in hidden fields, and the last step
goes through the same SymptomReportForm and service as the whole-form page (which stays at
/me/symptoms/new/ for those who prefer it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ..symptoms import selectors as symptom_selectors
from ..symptoms import services as symptom_services
from ..symptoms import triage
from .forms import FIGURES, SYMPTOM_PREFIX, SymptomReportForm
from .views import patient_required

SIGNS, PICK, GRADE, MEASURE, FINAL = "signs", "pick", "grade", "measure", "final"
STEPS = (SIGNS, PICK, GRADE, MEASURE, FINAL)
# The measurements a patient can pick in the list, each with the form fields it opens.
MEASUREMENTS = {
    "temperature": ("My temperature (I have measured it)", ("temperature_c",)),
    "blood_pressure": ("My blood pressure (I have measured it)", ("systolic_bp", "diastolic_bp")),
}


@dataclass
class Answers:
    """What the patient has said so far (carried from step to step)."""

    flags: list[str] = field(default_factory=list)
    picked: list[str] = field(default_factory=list)  # graded codes and measurement keys
    grades: dict[str, str] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    notes: str = ""

    @classmethod
    def from_post(cls, post, choices: list[dict[str, Any]]) -> Answers:
        flag_codes = [c["code"] for c in choices if c["kind"] == triage.RED_FLAG]
        graded_codes = [c["code"] for c in choices if c["kind"] == triage.GRADED]
        flags = [code for code in flag_codes if code in post.getlist("flag")]
        picked = [code for code in [*graded_codes, *MEASUREMENTS] if code in post.getlist("pick")]
        grades = {
            code: post.get(SYMPTOM_PREFIX + code, "")
            for code in graded_codes
            if code in picked and post.get(SYMPTOM_PREFIX + code)
        }
        figures = {name: post.get(name, "").strip() for name in FIGURES if post.get(name)}
        return cls(flags, picked, grades, figures, post.get("notes", ""))

    @property
    def graded_picked(self) -> list[str]:
        return [code for code in self.picked if code not in MEASUREMENTS]

    @property
    def measurements_picked(self) -> list[str]:
        return [key for key in MEASUREMENTS if key in self.picked]

    def form_data(self, choices: list[dict[str, Any]]) -> dict[str, str]:
        """The whole form's fields: ticked signs "Yes", picked symptoms at their grade, the
        rest "none" (not picking a symptom says it is not bothering them)."""
        data = {"notes": self.notes}
        for choice in choices:
            code = choice["code"]
            if choice["kind"] == triage.RED_FLAG:
                data[SYMPTOM_PREFIX + code] = "1" if code in self.flags else "0"
            elif code in self.picked:
                data[SYMPTOM_PREFIX + code] = self.grades.get(code, "")
            else:
                data[SYMPTOM_PREFIX + code] = "0"
        for key in self.measurements_picked:
            for name in MEASUREMENTS[key][1]:
                data[name] = self.figures.get(name, "")
        return data


def _next_step(step: str, answers: Answers) -> str:
    if step == SIGNS:
        return PICK
    if step == PICK:
        if answers.graded_picked:
            return GRADE
        return MEASURE if answers.measurements_picked else FINAL
    if step == GRADE:
        return MEASURE if answers.measurements_picked else FINAL
    return FINAL


def _previous_step(step: str, answers: Answers) -> str:
    if step in (PICK, SIGNS):
        return SIGNS
    if step == GRADE:
        return PICK
    if step == MEASURE:
        return GRADE if answers.graded_picked else PICK
    return PICK


def _is_last(step: str, answers: Answers) -> bool:
    """Send is on this step (the grading step is the last when nothing was measured)."""
    return step in (MEASURE, FINAL) or (step == GRADE and not answers.measurements_picked)


@patient_required
@require_http_methods(["GET", "POST"])
def symptom_steps(request):
    rules = symptom_selectors.active_rules()
    choices = triage.symptom_choices(rules)
    if request.method == "GET":
        return _render(request, SIGNS, Answers(), choices)
    answers = Answers.from_post(request.POST, choices)
    step = request.POST.get("step", SIGNS)
    action = request.POST.get("action", "next")
    if action == "back":
        return _render(request, _previous_step(step, answers), answers, choices)
    if action == "resume" and request.POST.get("resume_step") in STEPS:
        # Back from signing in again: the answers kept on the phone, at the step left.
        return _render(request, request.POST["resume_step"], answers, choices)
    if step == PICK and action == "send":  # a warning sign: send now, no more questions
        return _send(request, answers, choices, step=PICK)
    if step == GRADE:
        missing = [code for code in answers.graded_picked if code not in answers.grades]
        if missing:
            form = SymptomReportForm(answers.form_data(choices), choices=choices)
            form.is_valid()
            form.link_errors()
            return _render(request, GRADE, answers, choices, form=form)
    if _is_last(step, answers) and action in ("next", "send"):
        return _send(request, answers, choices, step=step)
    return _render(request, _next_step(step, answers), answers, choices)


def _send(request, answers: Answers, choices, *, step: str):
    form = SymptomReportForm(answers.form_data(choices), choices=choices)
    if form.is_valid():
        try:
            report = symptom_services.symptom_report_create(
                patient=request.patient, data=form.report_data(), entered_by=request.user
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect("medications:symptom_result", report_id=report.pk)
    form.link_errors()
    # Show the step that holds the problem: a figure's range, else a grade.
    problem_step = MEASURE if any(name in form.errors for name in FIGURES) else step
    if problem_step == step and any(
        (SYMPTOM_PREFIX + code) in form.errors for code in answers.graded_picked
    ):
        problem_step = GRADE
    return _render(request, problem_step, answers, choices, form=form)


def _render(request, step: str, answers: Answers, choices, form=None):
    if form is None:
        form = SymptomReportForm(initial=answers.form_data(choices), choices=choices)
    by_code = {choice["code"]: choice for choice in choices}
    flags = [c for c in choices if c["kind"] == triage.RED_FLAG]
    graded = [c for c in choices if c["kind"] == triage.GRADED]
    context = {
        "step": step,
        "answers": answers,
        "form": form,
        "flags": flags,
        "graded": graded,
        "measurements": [(key, label) for key, (label, _) in MEASUREMENTS.items()],
        "grade_fields": [form[SYMPTOM_PREFIX + code] for code in answers.graded_picked],
        "flag_labels": [by_code[code]["label"] for code in answers.flags],
        "is_last": _is_last(step, answers),
        "nav": "symptoms",
    }
    return render(request, "medications/symptom_steps.html", context)
