"""Red/amber/green triage of a patient's symptom report.

Implements /work/shared/clinical/triage.md. Pure: standard library only, no Django, no
database and no clock, so it can be tested without fixtures and run anywhere. Every
threshold, window, code and advice text comes from a rule set (see
``medications.symptoms.rules.DEFAULT_RULES``); the code holds only the shape of the rules.

Safety principle (triage.md): never under-triage. Where rules disagree the higher level
wins, and no rule ever lowers a level.

Regenerate the published rules after changing the rule set:
``python -m medications.symptoms.rules_docs > docs/triage.md``"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

LEVELS = ("green", "amber", "red")  # ordered, lowest first
GREEN, AMBER, RED = LEVELS
Rules = Mapping[str, Any]
# Kinds of symptom in a rule set.
GRADED = "graded"
RED_FLAG = "red_flag"
# Names of the rules that give an item or a report its level; each Reason carries one.
# Measurements use their own key ("temperature", "blood_pressure") as the rule name.
RULE_GRADE = "grade"
RULE_RED_FLAG = "red_flag"
RULE_TWO_AMBERS = "two_ambers"
RULE_REPEAT_AMBER = "repeat_amber"
RULE_IMMUNOTHERAPY = "immunotherapy"
RULE_BP_WITH_HEADACHE = "bp_with_headache"
# Code of a reason that belongs to the whole report rather than one item (rule 2).
REPORT = "report"
# The figures a report can carry; measurement rules may only refer to these.
FIGURES = ("temperature_c", "systolic_bp", "diastolic_bp")
_MISSING = object()


@dataclass(frozen=True)
class SymptomItem:
    code: str
    grade: int


@dataclass(frozen=True)
class ReportInput:
    symptoms: tuple[SymptomItem, ...]
    reported_at: datetime  # timezone-aware
    temperature_c: Decimal | float | None = None
    systolic_bp: int | None = None
    diastolic_bp: int | None = None


@dataclass(frozen=True)
class PriorReport:
    """One of this patient's earlier reports, as stored with its triage result."""

    reported_at: datetime
    # Item key (symptom code, "blood_pressure" or "temperature") -> the level it had.
    item_levels: Mapping[str, str]


@dataclass(frozen=True)
class PatientContext:
    on_atezolizumab: bool = False  # an active atezolizumab course
    last_atezolizumab_at: datetime | None = None
    recent_reports: tuple[PriorReport, ...] = ()


@dataclass(frozen=True)
class Reason:
    code: str  # symptom code, measurement key, or REPORT
    level: str
    rule: str


@dataclass(frozen=True)
class TriageResult:
    level: str
    reasons: tuple[Reason, ...]
    advice: tuple[str, ...]  # patient-facing lines; the caller adds the phone number
    call_advice_line: bool
    ruleset_version: int
    # Final per-item levels; store them so the repeat-amber rule can read them later.
    item_levels: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "reasons": [
                {"code": reason.code, "level": reason.level, "rule": reason.rule}
                for reason in self.reasons
            ],
            "advice": list(self.advice),
            "call_advice_line": self.call_advice_line,
            "ruleset_version": self.ruleset_version,
            "item_levels": dict(self.item_levels),
        }


def level_rank(level: str) -> int:
    return LEVELS.index(level)


def highest_level(levels: Iterable[str | None]) -> str | None:
    present = [level for level in levels if level is not None]
    return max(present, key=level_rank) if present else None


def symptom_kind(rules: Rules, code: str) -> str | None:
    """GRADED, RED_FLAG, or None for a code the rule set does not know."""
    if code in rules["graded_symptoms"]:
        return GRADED
    if code in rules["red_flags"]:
        return RED_FLAG
    return None


def allowed_grades(rules: Rules, code: str) -> range:
    """Grades a patient may choose for a known symptom: 0 up to its highest grade."""
    if symptom_kind(rules, code) == GRADED:
        return range(len(rules["graded_symptoms"][code]["grades"]))
    return range(len(rules["red_flag_answers"]))


def grade_level(rules: Rules, code: str, grade: int) -> str | None:
    """The level one symptom at one grade has on its own (triage.md tables)."""
    kind = symptom_kind(rules, code)
    if kind is None:
        raise KeyError(f"Unknown symptom code {code!r}")
    symptom = rules["graded_symptoms"][code] if kind == GRADED else rules["red_flags"][code]
    # A symptom may carry its own map, for a Trust that grades one symptom differently.
    levels = symptom.get("grade_levels") or rules["grade_levels"][kind]
    return levels[str(grade)]


def item_label(rules: Rules, key: str) -> str:
    """Plain-English name of a reason's code, for screens and alerts."""
    for section in ("graded_symptoms", "red_flags", "measurements"):
        if key in rules[section]:
            return rules[section][key]["label"]
    if key == REPORT:
        return "The report as a whole"
    return key


def symptom_choices(rules: Rules) -> list[dict[str, Any]]:
    """Every symptom a patient can report, in rule-set order, for forms and apps."""
    choices: list[dict[str, Any]] = []
    for code, symptom in rules["graded_symptoms"].items():
        grades = list(enumerate(symptom["grades"]))
        choices.append(
            {
                "code": code,
                "label": symptom["label"],
                "kind": GRADED,
                "grades": grades,
                "max_grade": len(grades) - 1,
                "self_care": symptom["self_care"],
            }
        )
    for code, flag in rules["red_flags"].items():
        answers = list(enumerate(rules["red_flag_answers"]))
        choices.append(
            {
                "code": code,
                "label": flag["label"],
                "kind": RED_FLAG,
                "grades": answers,
                "max_grade": len(answers) - 1,
                "description": flag["meaning"],
            }
        )
    return choices


def validate_report(data: Mapping[str, Any], rules: Rules) -> dict[str, list[str]]:
    """Field -> messages for a report body like the API's; {} when it is valid.

    Symptom problems all go under "symptoms", each message naming the symptom (or its
    position when it has no usable code). Nothing is graded or stored unless this is {}.
    """
    if not isinstance(data, Mapping):
        return {"non_field_errors": ["The report must be an object."]}
    errors: dict[str, list[str]] = {}
    symptoms = data.get("symptoms", _MISSING)
    if symptoms is _MISSING and any(data.get(figure) is not None for figure in FIGURES):
        symptoms = []  # triage.md: a measurement alone (a temperature) is a report
    symptom_messages = _symptoms_errors(symptoms, rules)
    if symptom_messages:
        errors["symptoms"] = symptom_messages
    for field, messages in _figures_errors(data, rules).items():
        errors.setdefault(field, []).extend(messages)
    notes = data.get("notes")
    if notes is not None and not isinstance(notes, str):
        errors["notes"] = ["Notes must be text."]
    return errors


def _symptoms_errors(symptoms: Any, rules: Rules) -> list[str]:
    if symptoms is _MISSING:
        return [
            "Symptoms are required (send an empty list if there are none), unless a "
            "measurement is given."
        ]
    if not isinstance(symptoms, list | tuple):
        return ["Symptoms must be a list."]
    messages: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate(symptoms, start=1):
        code = item.get("code") if isinstance(item, Mapping) else None
        if isinstance(code, str) and code in seen and symptom_kind(rules, code):
            messages.append(f'Each symptom may appear only once; "{code}" is repeated.')
            continue
        messages.extend(_symptom_item_errors(position, item, rules))
        if isinstance(code, str):
            seen.add(code)
    return list(dict.fromkeys(messages))  # one copy of each message, in order


def _symptom_item_errors(position: int, item: Any, rules: Rules) -> list[str]:
    if not isinstance(item, Mapping):
        return [f'Symptom {position} must be an object with a "code" and a "grade".']
    code = item.get("code")
    if not isinstance(code, str) or not code:
        return [f"Symptom {position} needs a symptom code."]
    if symptom_kind(rules, code) is None:
        return [f'Unknown symptom code "{code}".']
    grade = item.get("grade", _MISSING)
    if grade is _MISSING or grade is None:
        return [f'Grade for "{code}" is missing.']
    # bool is a subclass of int in Python, but true/false is not a grade.
    if isinstance(grade, bool) or not isinstance(grade, int):
        return [f'Grade for "{code}" must be a whole number.']
    grades = allowed_grades(rules, code)
    if grade not in grades:
        return [f'Grade for "{code}" must be between {grades[0]} and {grades[-1]}.']
    return []


def _figures_errors(data: Mapping[str, Any], rules: Rules) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for figure, spec in rules["validation"].items():
        message = _figure_error(data.get(figure), spec)
        if message:
            errors[figure] = [message]
    for measurement in rules["measurements"].values():
        given = [figure for figure in measurement["figures"] if data.get(figure) is not None]
        if 0 < len(given) < len(measurement["figures"]):
            message = f"Give both {measurement['label'].lower()} figures or neither."
            for figure in measurement["figures"]:
                if figure not in given:
                    errors.setdefault(figure, []).append(message)
    for higher, lower in rules["higher_than"]:
        if errors.get(higher) or errors.get(lower):
            continue
        if data.get(higher) is None or data.get(lower) is None:
            continue
        if _as_decimal(data[higher]) <= _as_decimal(data[lower]):
            labels = rules["validation"]
            message = f"{labels[higher]['label']} must be higher than {labels[lower]['label']}."
            errors.setdefault(higher, []).append(_sentence(message))
    return errors


def _figure_error(value: Any, spec: Mapping[str, Any]) -> str | None:
    if value is None:
        return None  # every figure is optional
    whole = spec["type"] == "integer"
    number = _as_number(value, whole=whole)
    if number is None:
        kind = "a whole number" if whole else "a number"
        return _sentence(f"{spec['label']} must be {kind}.")
    if not _as_decimal(spec["min"]) <= number <= _as_decimal(spec["max"]):
        bounds = f"between {spec['min']} and {spec['max']} {spec['unit']}"
        return _sentence(f"{spec['label']} must be {bounds}.")
    return None


def _as_number(value: Any, *, whole: bool) -> Decimal | None:
    """The value as an exact Decimal, or None if it is not an acceptable number."""
    if isinstance(value, bool):
        return None
    if whole:
        return Decimal(value) if isinstance(value, int) else None
    if not isinstance(value, int | float | Decimal):
        return None
    number = _as_decimal(value)
    return number if number.is_finite() else None


def _as_decimal(value: Any) -> Decimal:
    # Via str so that a float 37.4 compares as 37.4, not 37.399999...
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def report_input_from_data(data: Mapping[str, Any], reported_at: datetime) -> ReportInput:
    """Build a ReportInput from a body that validate_report accepted."""
    return ReportInput(
        symptoms=tuple(
            SymptomItem(code=item["code"], grade=item["grade"])
            for item in data.get("symptoms") or ()
        ),
        reported_at=reported_at,
        temperature_c=data.get("temperature_c"),
        systolic_bp=data.get("systolic_bp"),
        diastolic_bp=data.get("diastolic_bp"),
    )


def grade_items(report: ReportInput, rules: Rules) -> dict[str, str]:
    """Each item's own level before the combination rules, in report order.

    Symptoms at grade 0 and measurements that meet no condition are not items: there is
    nothing to report about them.
    """
    levels: dict[str, str] = {}
    for item in report.symptoms:
        level = grade_level(rules, item.code, item.grade)
        if level is not None:
            levels[item.code] = level
    for key, measurement in rules["measurements"].items():
        level = _measurement_level(measurement, report)
        if level is not None:
            levels[key] = level
    return levels


def _measurement_level(measurement: Mapping[str, Any], report: ReportInput) -> str | None:
    values = {figure: getattr(report, figure) for figure in measurement["figures"]}
    if any(value is None for value in values.values()):
        return None
    met = [
        level
        for level, conditions in measurement["levels"].items()
        if any(_condition_met(condition, values) for condition in conditions)
    ]
    # Highest level met wins: 165/95 meets both amber and red and is red.
    return highest_level(met)


def _condition_met(condition: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    value = _as_decimal(values[condition["figure"]])
    if "at_or_above" in condition:
        return value >= _as_decimal(condition["at_or_above"])
    return value < _as_decimal(condition["below"])


def grade_report(report: ReportInput, context: PatientContext, rules: Rules) -> TriageResult:
    """Triage one report that validate_report accepted (triage.md, all rules)."""
    own_levels = grade_items(report, rules)
    raised_by = _items_raised_to_red(report, context, own_levels, rules)
    item_levels = {key: RED if key in raised_by else level for key, level in own_levels.items()}
    reasons = [
        reason
        for key, level in own_levels.items()
        for reason in _item_reasons(key, level, raised_by.get(key, []), rules)
    ]
    # Rule 2 counts ambers after rules 3-5 have raised what they raise.
    amber_count = sum(1 for level in item_levels.values() if level == AMBER)
    if amber_count >= rules["combination_rules"]["two_ambers"]["count"]:
        reasons.append(Reason(REPORT, RED, RULE_TWO_AMBERS))
    # Rules 1 and 6: the highest level of anything found; nothing found is green.
    level = highest_level(reason.level for reason in reasons) or GREEN
    return TriageResult(
        level=level,
        reasons=tuple(sorted(reasons, key=lambda reason: -level_rank(reason.level))),
        advice=_advice(level, report, rules),
        call_advice_line=bool(rules["levels"][level]["call_advice_line"]),
        ruleset_version=int(rules["version"]),
        item_levels=item_levels,
    )


def _items_raised_to_red(
    report: ReportInput, context: PatientContext, own_levels: Mapping[str, str], rules: Rules
) -> dict[str, list[str]]:
    """Item key -> the combination rules (3, 4, 5) that make it red.

    Every rule is checked against the items' own levels, so a nurse sees every rule that
    applies (an amber diarrhoea can be both a repeat amber and an immunotherapy amber).
    """
    raised_by: dict[str, list[str]] = {}
    for rule, keys in (
        (RULE_REPEAT_AMBER, _repeat_ambers(report, context, own_levels, rules)),
        (RULE_IMMUNOTHERAPY, _immunotherapy_ambers(report, context, own_levels, rules)),
        (RULE_BP_WITH_HEADACHE, _bp_with_headache_items(report, own_levels, rules)),
    ):
        for key in keys:
            raised_by.setdefault(key, []).append(rule)
    return raised_by


def _repeat_ambers(
    report: ReportInput, context: PatientContext, own_levels: Mapping[str, str], rules: Rules
) -> list[str]:
    # Rule 3: amber now, and amber or red in a report from the previous 48 hours.
    window = timedelta(hours=rules["combination_rules"]["repeat_amber"]["window_hours"])
    earlier = [
        prior
        for prior in context.recent_reports
        if timedelta(0) < report.reported_at - prior.reported_at <= window
    ]
    return [
        key
        for key, level in own_levels.items()
        if level == AMBER
        and any(
            prior.item_levels.get(key) in LEVELS
            and level_rank(prior.item_levels[key]) >= level_rank(AMBER)
            for prior in earlier
        )
    ]


def _immunotherapy_ambers(
    report: ReportInput, context: PatientContext, own_levels: Mapping[str, str], rules: Rules
) -> list[str]:
    # Rule 4: immune-related side effects can start months after atezolizumab stops.
    rule = rules["combination_rules"]["immunotherapy"]
    if not _exposed_to_immunotherapy(report, context, rule):
        return []
    return [code for code in rule["codes"] if own_levels.get(code) == AMBER]


def _exposed_to_immunotherapy(
    report: ReportInput, context: PatientContext, rule: Mapping[str, Any]
) -> bool:
    if context.on_atezolizumab:
        return True
    if context.last_atezolizumab_at is None:
        return False
    # A dose recorded after the report time still means the patient is on treatment;
    # counting it errs towards red (never under-triage).
    since_last_dose = report.reported_at - context.last_atezolizumab_at
    return since_last_dose <= timedelta(days=rule["look_back_days"])


def _bp_with_headache_items(
    report: ReportInput, own_levels: Mapping[str, str], rules: Rules
) -> list[str]:
    # Rule 5: blood pressure at amber or above with headache grade 2+ is red; both items
    # are raised, since the pair together is the warning sign.
    rule = rules["combination_rules"]["bp_with_headache"]
    pressure_level = own_levels.get(rule["measurement"])
    headache_grade = max(
        (item.grade for item in report.symptoms if item.code == rule["symptom"]), default=0
    )
    if pressure_level is None or level_rank(pressure_level) < level_rank(AMBER):
        return []
    if headache_grade < rule["min_grade"]:
        return []
    keys = (rule["measurement"], rule["symptom"])
    return [key for key in keys if key in own_levels and own_levels[key] != RED]


def _item_reasons(key: str, own_level: str, raised_by: list[str], rules: Rules) -> list[Reason]:
    if raised_by:
        return [Reason(key, RED, rule) for rule in raised_by]
    return [Reason(key, own_level, _own_rule(key, rules))]


def _own_rule(key: str, rules: Rules) -> str:
    if key in rules["measurements"]:
        return key
    return RULE_RED_FLAG if symptom_kind(rules, key) == RED_FLAG else RULE_GRADE


def _advice(level: str, report: ReportInput, rules: Rules) -> tuple[str, ...]:
    text = rules["advice"][level]
    self_care = _self_care_lines(report, rules) if text["include_self_care"] else []
    return (*text["lines"], *self_care, *text["closing_lines"])


def _self_care_lines(report: ReportInput, rules: Rules) -> list[str]:
    graded = rules["graded_symptoms"]
    return [
        f"{graded[item.code]['label']}: {graded[item.code]['self_care']}"
        for item in report.symptoms
        if item.code in graded and item.grade >= 1
    ]


def check_rules(rules: Rules) -> list[str]:
    """Problems that would make a rule set unsafe to run; [] when it is sound.

    Run it before accepting a Trust's edited rule set.
    """
    problems: list[str] = []
    if not isinstance(rules.get("version"), int) or isinstance(rules.get("version"), bool):
        problems.append("version must be a whole number")
    if set(rules["levels"]) != set(LEVELS) or set(rules["advice"]) != set(LEVELS):
        problems.append(f"levels and advice must cover exactly {LEVELS}")
    problems += _grade_map_problems(rules)
    problems += _measurement_problems(rules)
    problems += _combination_problems(rules)
    return problems


def _grade_map_problems(rules: Rules) -> list[str]:
    problems: list[str] = []
    both = set(rules["graded_symptoms"]) & set(rules["red_flags"])
    if both:
        problems.append(f"codes both graded and red flag: {sorted(both)}")
    if REPORT in rules["graded_symptoms"] or REPORT in rules["red_flags"]:
        problems.append(f"{REPORT!r} is reserved")
    for code in [*rules["graded_symptoms"], *rules["red_flags"]]:
        for grade in allowed_grades(rules, code):
            try:
                level = grade_level(rules, code, grade)
            except KeyError:
                problems.append(f"{code}: no level for grade {grade}")
                continue
            if level is not None and level not in LEVELS:
                problems.append(f"{code}: unknown level {level!r} for grade {grade}")
    for code, symptom in rules["graded_symptoms"].items():
        if not symptom.get("label") or not symptom.get("self_care"):
            problems.append(f"{code}: needs a label and self-care advice")
    return problems


def _measurement_problems(rules: Rules) -> list[str]:
    problems: list[str] = []
    for figure in rules["validation"]:
        if figure not in FIGURES:
            problems.append(f"unknown figure {figure!r}")
    for key, measurement in rules["measurements"].items():
        for level, conditions in measurement["levels"].items():
            if level not in LEVELS:
                problems.append(f"{key}: unknown level {level!r}")
            for condition in conditions:
                if condition.get("figure") not in measurement["figures"]:
                    problems.append(f"{key}: condition on a figure it does not measure")
                if len({"at_or_above", "below"} & set(condition)) != 1:
                    problems.append(f"{key}: each condition needs at_or_above or below")
        if not set(measurement["figures"]) <= set(rules["validation"]):
            problems.append(f"{key}: figures without accepted ranges")
    return problems


def _combination_problems(rules: Rules) -> list[str]:
    problems: list[str] = []
    combination = rules["combination_rules"]
    unknown = [c for c in combination["immunotherapy"]["codes"] if c not in _all_codes(rules)]
    if unknown:
        problems.append(f"immunotherapy: unknown codes {unknown}")
    if combination["bp_with_headache"]["symptom"] not in rules["graded_symptoms"]:
        problems.append("bp_with_headache: symptom must be a graded symptom")
    if combination["bp_with_headache"]["measurement"] not in rules["measurements"]:
        problems.append("bp_with_headache: unknown measurement")
    return problems


def _all_codes(rules: Rules) -> list[str]:
    return [*rules["graded_symptoms"], *rules["red_flags"]]


# --- expected levels (checkins.md, "Alert burden": baselines never touch red) ---------------

EXPECTED_MAX_GRADE = 2


def expected_items_only(
    result: TriageResult, report: ReportInput, expected: Mapping[str, int]
) -> tuple[str, ...]:
    """The amber items that make an amber report raise no alert, or () when it alerts.

    `expected` maps a graded symptom code to the highest grade a nurse marked as expected
    for this patient (active baselines only). Only an AMBER report qualifies, and only when
    every amber reason is an item's own grade (rule "grade") at or below its expected grade
    (capped at 2). A red report, two ambers (red by rule 2), a repeat amber, immunotherapy
    or blood pressure with headache (red by rules 3-5), an amber measurement or an
    unexpected amber item all still alert. The patient's answer is never changed.
    """
    if result.level != AMBER:
        return ()
    grades = {item.code: item.grade for item in report.symptoms}
    ambers = [reason for reason in result.reasons if reason.level == AMBER]
    if not ambers:
        return ()
    for reason in ambers:
        ceiling = min(int(expected.get(reason.code, 0)), EXPECTED_MAX_GRADE)
        if reason.rule != RULE_GRADE or grades.get(reason.code, ceiling + 1) > ceiling:
            return ()
    return tuple(reason.code for reason in ambers)
