"""The triage rule set as a table an admin can edit (docs/admin.md, "Triage rules").

One row per item and grade (the words the patient reads and the level that grade has on its
own), each symptom's self-care advice, each measurement threshold, and the combination rules
as plain fields. The form starts from a version (the live one unless another is chosen) and
builds a complete new rule set from it: everything the table does not show (level meanings,
advice lines, accepted ranges) is carried over unchanged. `changes` says in words what a new
rule set changes against the live one, for the preview before saving.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from . import services as symptom_services
from . import triage

LEVEL_WORDS = {None: "nothing to report", "green": "green", "amber": "amber", "red": "red"}
GRADE_LEVEL_CHOICES = [("green", "Green"), ("amber", "Amber"), ("red", "Red")]
RED_FLAG_LEVEL_CHOICES = [("amber", "Amber"), ("red", "Red")]
RANK = {None: -1, "green": 0, "amber": 1, "red": 2}
OPERATORS = {"at_or_above": "at or above", "below": "below"}


def _level_name(code: str, grade: int) -> str:
    return f"level__{code}__{grade}"


def _words_name(code: str, grade: int) -> str:
    return f"words__{code}__{grade}"


def _threshold_name(key: str, level: str, index: int) -> str:
    return f"threshold__{key}__{level}__{index}"


def _operator(condition: dict) -> str:
    return "at_or_above" if "at_or_above" in condition else "below"


def _figure_label(rules: dict, figure: str) -> str:
    return rules["validation"][figure]["short_label"]


class TriageRulesForm(forms.Form):
    """Every editable value of a rule set, named after where it sits in the rules."""

    two_ambers_count = forms.IntegerField(
        label="Amber items in one report that make it red", min_value=2, max_value=10
    )
    repeat_amber_hours = forms.IntegerField(
        label="Repeat amber: hours back to look for the same item at amber or red",
        min_value=1,
        max_value=24 * 14,
    )
    immunotherapy_days = forms.IntegerField(
        label="Immunotherapy: days since the last atezolizumab that still count",
        min_value=1,
        max_value=3 * 365,
    )
    immunotherapy_codes = forms.MultipleChoiceField(
        label="Immunotherapy: symptoms whose amber becomes red",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    bp_headache_grade = forms.IntegerField(
        label="Blood pressure with headache: lowest headache grade that makes it red",
        min_value=1,
        max_value=3,
    )
    change_note = forms.CharField(
        label="What changed and why",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Kept with the new version (for example the governance decision it follows).",
        required=False,
    )

    def __init__(self, data=None, *, base: dict[str, Any]):
        super().__init__(data)
        self.base = base
        self.rows: list[dict[str, Any]] = []
        self.self_care: list[tuple[str, str]] = []
        self.thresholds: list[dict[str, Any]] = []
        self._grade_fields(base)
        self._threshold_fields(base)
        self._combination_fields(base)
        for name, field in self.fields.items():
            if "__" in name:  # inside a table cell: no <label> of its own
                field.widget.attrs["aria-label"] = field.label

    # --- building the fields -----------------------------------------------------------------

    def _grade_fields(self, rules: dict) -> None:
        for code, symptom in rules["graded_symptoms"].items():
            for grade, words in enumerate(symptom["grades"]):
                name = _words_name(code, grade)
                self.fields[name] = forms.CharField(
                    label=f"{symptom['label']}, grade {grade}: what the patient reads",
                    initial=words,
                    max_length=300,
                    widget=forms.TextInput(attrs={"size": 60}),
                )
                level_field = None
                if grade > 0:
                    level_field = _level_name(code, grade)
                    self.fields[level_field] = forms.ChoiceField(
                        label=f"{symptom['label']}, grade {grade}: level",
                        choices=GRADE_LEVEL_CHOICES,
                        initial=triage.grade_level(rules, code, grade),
                    )
                self.rows.append(
                    {
                        "item": symptom["label"],
                        "first": grade == 0,
                        "span": len(symptom["grades"]),
                        "grade": grade,
                        "words": name,
                        "level": level_field,
                    }
                )
            care = f"self_care__{code}"
            self.fields[care] = forms.CharField(
                label=f"{symptom['label']}: self-care advice",
                initial=symptom["self_care"],
                max_length=1000,
                widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
            )
            self.self_care.append((symptom["label"], care))
        answers = rules["red_flag_answers"]
        for code, flag in rules["red_flags"].items():
            for grade in range(1, len(answers)):
                name = _level_name(code, grade)
                self.fields[name] = forms.ChoiceField(
                    label=f"{flag['label']}, “{answers[grade]}”: level",
                    choices=RED_FLAG_LEVEL_CHOICES,
                    initial=triage.grade_level(rules, code, grade),
                )
                self.rows.append(
                    {
                        "item": f"{flag['label']} (red flag)",
                        "first": True,
                        "span": 1,
                        "grade": answers[grade],
                        "words": None,
                        "level": name,
                    }
                )

    def _threshold_fields(self, rules: dict) -> None:
        for key, measurement in rules["measurements"].items():
            for level, conditions in measurement["levels"].items():
                for index, condition in enumerate(conditions):
                    figure = condition["figure"]
                    operator = _operator(condition)
                    accepted = rules["validation"][figure]
                    decimal = accepted["type"] == "decimal"
                    field_class = forms.DecimalField if decimal else forms.IntegerField
                    extra = {"decimal_places": 1, "max_digits": 4} if decimal else {}
                    name = _threshold_name(key, level, index)
                    words = f"{_figure_label(rules, figure)} {OPERATORS[operator]}"
                    self.fields[name] = field_class(
                        label=f"{measurement['label']}, {level}: {words}",
                        initial=condition[operator],
                        min_value=Decimal(str(accepted["min"])),
                        max_value=Decimal(str(accepted["max"])),
                        **extra,
                    )
                    self.thresholds.append(
                        {
                            "item": measurement["label"],
                            "level": level,
                            "words": words,
                            "unit": accepted["unit"],
                            "field": name,
                        }
                    )

    def _combination_fields(self, rules: dict) -> None:
        combination = rules["combination_rules"]
        self.fields["two_ambers_count"].initial = combination["two_ambers"]["count"]
        self.fields["repeat_amber_hours"].initial = combination["repeat_amber"]["window_hours"]
        self.fields["immunotherapy_days"].initial = combination["immunotherapy"]["look_back_days"]
        self.fields["immunotherapy_codes"].choices = [
            (code, symptom["label"]) for code, symptom in rules["graded_symptoms"].items()
        ]
        self.fields["immunotherapy_codes"].initial = combination["immunotherapy"]["codes"]
        self.fields["bp_headache_grade"].initial = combination["bp_with_headache"]["min_grade"]

    def bound(self, name: str | None):
        return self[name] if name else None

    # --- reading them back ---------------------------------------------------------------------

    def rules(self) -> dict[str, Any]:
        """The complete new rule set (valid forms only)."""
        data = self.cleaned_data
        rules = copy.deepcopy(self.base)
        kinds = rules["grade_levels"]
        for code, symptom in rules["graded_symptoms"].items():
            symptom["grades"] = [
                data[_words_name(code, grade)].strip() for grade in range(len(symptom["grades"]))
            ]
            symptom["self_care"] = data[f"self_care__{code}"].strip()
            self._set_levels(symptom, code, kinds[triage.GRADED], len(symptom["grades"]))
        for code, flag in rules["red_flags"].items():
            self._set_levels(flag, code, kinds["red_flag"], len(rules["red_flag_answers"]))
        for key, measurement in rules["measurements"].items():
            for level, conditions in measurement["levels"].items():
                for index, condition in enumerate(conditions):
                    value = data[_threshold_name(key, level, index)]
                    # Decimals stay strings so they compare exactly (rules.py).
                    condition[_operator(condition)] = (
                        f"{value:.1f}" if isinstance(value, Decimal) else int(value)
                    )
        combination = rules["combination_rules"]
        combination["two_ambers"]["count"] = data["two_ambers_count"]
        combination["repeat_amber"]["window_hours"] = data["repeat_amber_hours"]
        combination["immunotherapy"]["look_back_days"] = data["immunotherapy_days"]
        combination["immunotherapy"]["codes"] = list(data["immunotherapy_codes"])
        combination["bp_with_headache"]["min_grade"] = data["bp_headache_grade"]
        return rules

    def _set_levels(self, item: dict, code: str, default: dict, grades: int) -> None:
        levels = {"0": None}
        for grade in range(1, grades):
            levels[str(grade)] = self.cleaned_data[_level_name(code, grade)]
        # Only a symptom graded unlike the others carries its own map (triage.grade_level).
        item.pop("grade_levels", None)
        if levels != {key: default.get(key) for key in levels}:
            item["grade_levels"] = levels

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        problems = []
        for code, symptom in self.base["graded_symptoms"].items():
            levels = [data[_level_name(code, g)] for g in range(1, len(symptom["grades"]))]
            for grade in range(1, len(levels)):
                if RANK[levels[grade]] < RANK[levels[grade - 1]]:
                    problems.append(
                        f"{symptom['label']}: grade {grade + 1} cannot be a lower level than "
                        f"grade {grade} (a worse symptom is never triaged lower)."
                    )
        if problems:
            raise ValidationError(problems)
        candidate = copy.deepcopy(self.rules())
        candidate["version"] = int(self.base.get("version") or 0) + 1
        unusable = symptom_services.triage_ruleset_problems(candidate)
        if unusable:
            raise ValidationError(["This rule set cannot be used:", *unusable])
        return data


COMBINATION_FIELDS = [
    "two_ambers_count",
    "repeat_amber_hours",
    "immunotherapy_days",
    "immunotherapy_codes",
    "bp_headache_grade",
]


def table_context(form: TriageRulesForm) -> dict[str, Any]:
    """The form's fields laid out as the page's tables (bound fields, in rule-set order)."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{form[name].auto_id}-error"
    return {
        "rows": [
            {**row, "words": form.bound(row["words"]), "level": form.bound(row["level"])}
            for row in form.rows
        ],
        "self_care": [(label, form[name]) for label, name in form.self_care],
        "thresholds": [{**row, "field": form[row["field"]]} for row in form.thresholds],
        "combination": [form[name] for name in COMBINATION_FIELDS],
    }


def same_rules(a: dict, b: dict) -> bool:
    """Equal apart from the version number."""
    return {k: v for k, v in a.items() if k != "version"} == {
        k: v for k, v in b.items() if k != "version"
    }


# --- what changes ---------------------------------------------------------------------------


def changes(live: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What `new` changes against the live rule set, in words, in table order."""
    said: list[str] = []
    for code, symptom in new["graded_symptoms"].items():
        old = live["graded_symptoms"].get(code)
        if old is None:
            said.append(f"{symptom['label']}: a new symptom.")
            continue
        for grade, words in enumerate(symptom["grades"]):
            before = old["grades"][grade] if grade < len(old["grades"]) else None
            if before != words:
                said.append(f"{symptom['label']}, grade {grade}: “{before}” → “{words}”.")
            _level_change(said, live, new, code, grade, f"{symptom['label']}, grade {grade}")
        if old.get("self_care") != symptom.get("self_care"):
            said.append(f"{symptom['label']}: self-care advice changed.")
    answers = new["red_flag_answers"]
    for code, flag in new["red_flags"].items():
        for grade in range(1, len(answers)):
            _level_change(said, live, new, code, grade, f"{flag['label']}, “{answers[grade]}”")
    for key, measurement in new["measurements"].items():
        for level, conditions in measurement["levels"].items():
            old_conditions = live["measurements"].get(key, {}).get("levels", {}).get(level, [])
            for index, condition in enumerate(conditions):
                operator = _operator(condition)
                before = (
                    old_conditions[index].get(operator) if index < len(old_conditions) else None
                )
                if str(before) != str(condition[operator]):
                    figure = _figure_label(new, condition["figure"])
                    said.append(
                        f"{measurement['label']}: {level} when {figure} {OPERATORS[operator]} "
                        f"{before} → {condition[operator]}."
                    )
    said += _combination_changes(live["combination_rules"], new["combination_rules"], new)
    others = sorted(
        key
        for key in set(live) | set(new)
        if key not in ("version", "graded_symptoms", "red_flags", "measurements")
        and key != "combination_rules"
        and live.get(key) != new.get(key)
    )
    if others:
        said.append(f"Other settings differ from the live version: {', '.join(others)}.")
    return said


def _level_change(said: list[str], live: dict, new: dict, code: str, grade: int, what: str):
    try:
        before = triage.grade_level(live, code, grade)
    except KeyError:
        before = None
    after = triage.grade_level(new, code, grade)
    if before != after:
        said.append(f"{what}: {LEVEL_WORDS[before]} → {LEVEL_WORDS[after]}.")


def _combination_changes(old: dict, new: dict, rules: dict) -> list[str]:
    said = []
    pairs = [
        ("Amber items that make a report red", ("two_ambers", "count"), ""),
        ("Repeat amber look-back", ("repeat_amber", "window_hours"), " hours"),
        ("Immunotherapy look-back", ("immunotherapy", "look_back_days"), " days"),
        ("Blood pressure with headache from headache grade", ("bp_with_headache", "min_grade"), ""),
    ]
    for words, (rule, key), unit in pairs:
        if old[rule][key] != new[rule][key]:
            said.append(f"{words}: {old[rule][key]}{unit} → {new[rule][key]}{unit}.")
    added = [c for c in new["immunotherapy"]["codes"] if c not in old["immunotherapy"]["codes"]]
    removed = [c for c in old["immunotherapy"]["codes"] if c not in new["immunotherapy"]["codes"]]
    for codes, verb in ((added, "added to"), (removed, "taken off")):
        if codes:
            names = ", ".join(triage.item_label(rules, code) for code in codes)
            said.append(f"{names} {verb} the immunotherapy rule.")
    return said
