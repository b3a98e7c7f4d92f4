"""Triage engine, second half: validation of a report body (every bad input named, nothing
graded) and the properties that hold for any report (adding an item never lowers the
level; never under-triage)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medications.symptoms.triage import (
    GREEN,
    LEVELS,
    RED,
    REPORT,
    PatientContext,
    PriorReport,
    ReportInput,
    SymptomItem,
    allowed_grades,
    grade_items,
    grade_report,
    level_rank,
    report_input_from_data,
    validate_report,
)
from tests.medications.triage_helpers import (
    GRADED_CODES,
    NOW,
    RED_FLAG_CODES,
    RULES,
    report,
)

# --------------------------------------------------------------------------------------
# Validation (triage.md, "Inputs of one report")
# --------------------------------------------------------------------------------------


def body(**fields: object) -> dict:
    return {"symptoms": [], **fields}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            body(symptoms=[{"code": "foo", "grade": 1}]),
            {"symptoms": ['Unknown symptom code "foo".']},
        ),
        (
            body(symptoms=[{"code": "bruising", "grade": 3}]),
            {"symptoms": ['Grade for "bruising" must be between 0 and 2.']},
        ),
        (
            body(symptoms=[{"code": "nausea", "grade": 4}]),
            {"symptoms": ['Grade for "nausea" must be between 0 and 3.']},
        ),
        (
            body(symptoms=[{"code": "nausea", "grade": -1}]),
            {"symptoms": ['Grade for "nausea" must be between 0 and 3.']},
        ),
        (
            body(symptoms=[{"code": "chest_pain", "grade": 2}]),
            {"symptoms": ['Grade for "chest_pain" must be between 0 and 1.']},
        ),
        (
            body(symptoms=[{"code": "nausea", "grade": "2"}]),
            {"symptoms": ['Grade for "nausea" must be a whole number.']},
        ),
        (
            body(symptoms=[{"code": "nausea", "grade": 1.5}]),
            {"symptoms": ['Grade for "nausea" must be a whole number.']},
        ),
        (
            body(symptoms=[{"code": "chest_pain", "grade": True}]),
            {"symptoms": ['Grade for "chest_pain" must be a whole number.']},
        ),
        (
            body(symptoms=[{"code": "nausea"}]),
            {"symptoms": ['Grade for "nausea" is missing.']},
        ),
        (
            body(symptoms=[{"grade": 1}]),
            {"symptoms": ["Symptom 1 needs a symptom code."]},
        ),
        (
            body(symptoms=[{"code": 7, "grade": 1}]),
            {"symptoms": ["Symptom 1 needs a symptom code."]},
        ),
        (
            body(symptoms=[{"code": "nausea", "grade": 1}, "nausea"]),
            {"symptoms": ['Symptom 2 must be an object with a "code" and a "grade".']},
        ),
        (body(symptoms="nausea"), {"symptoms": ["Symptoms must be a list."]}),
        (body(symptoms={"code": "nausea", "grade": 1}), {"symptoms": ["Symptoms must be a list."]}),
        (body(symptoms=None), {"symptoms": ["Symptoms must be a list."]}),
        (
            {"notes": "feeling off"},
            {
                "symptoms": [
                    "Symptoms are required (send an empty list if there are none), unless a "
                    "measurement is given."
                ]
            },
        ),
        (
            body(
                symptoms=[
                    {"code": "nausea", "grade": 1},
                    {"code": "nausea", "grade": 2},
                    {"code": "nausea", "grade": 0},
                ]
            ),
            {"symptoms": ['Each symptom may appear only once; "nausea" is repeated.']},
        ),
        (
            body(temperature_c=29.9),
            {"temperature_c": ["Temperature must be between 30.0 and 45.0 °C."]},
        ),
        (
            body(temperature_c=Decimal("45.1")),
            {"temperature_c": ["Temperature must be between 30.0 and 45.0 °C."]},
        ),
        (
            body(temperature_c=55),
            {"temperature_c": ["Temperature must be between 30.0 and 45.0 °C."]},
        ),
        (body(temperature_c="37.2"), {"temperature_c": ["Temperature must be a number."]}),
        (body(temperature_c=True), {"temperature_c": ["Temperature must be a number."]}),
        (body(temperature_c=float("nan")), {"temperature_c": ["Temperature must be a number."]}),
        (
            body(systolic_bp=120),
            {"diastolic_bp": ["Give both blood pressure figures or neither."]},
        ),
        (
            body(diastolic_bp=80),
            {"systolic_bp": ["Give both blood pressure figures or neither."]},
        ),
        (
            body(systolic_bp=80, diastolic_bp=80),
            {
                "systolic_bp": [
                    "The top (systolic) figure must be higher than the bottom (diastolic) figure."
                ]
            },
        ),
        (
            body(systolic_bp=70, diastolic_bp=90),
            {
                "systolic_bp": [
                    "The top (systolic) figure must be higher than the bottom (diastolic) figure."
                ]
            },
        ),
        (
            body(systolic_bp=301, diastolic_bp=80),
            {"systolic_bp": ["The top (systolic) figure must be between 50 and 300 mmHg."]},
        ),
        (
            body(systolic_bp=49, diastolic_bp=40),
            {"systolic_bp": ["The top (systolic) figure must be between 50 and 300 mmHg."]},
        ),
        (
            body(systolic_bp=120, diastolic_bp=29),
            {"diastolic_bp": ["The bottom (diastolic) figure must be between 30 and 200 mmHg."]},
        ),
        (
            body(systolic_bp=250, diastolic_bp=201),
            {"diastolic_bp": ["The bottom (diastolic) figure must be between 30 and 200 mmHg."]},
        ),
        (
            body(systolic_bp=120.5, diastolic_bp=80),
            {"systolic_bp": ["The top (systolic) figure must be a whole number."]},
        ),
        (
            body(systolic_bp="120", diastolic_bp=80),
            {"systolic_bp": ["The top (systolic) figure must be a whole number."]},
        ),
        (body(notes=["not", "text"]), {"notes": ["Notes must be text."]}),
        ("not an object", {"non_field_errors": ["The report must be an object."]}),
    ],
)
def test_invalid_reports_are_rejected_with_a_clear_message(
    data: object, errors: dict[str, list[str]]
) -> None:
    assert validate_report(data, RULES) == errors


def test_every_problem_is_reported_at_once() -> None:
    errors = validate_report(
        {
            "symptoms": [{"code": "foo", "grade": 1}, {"code": "bruising", "grade": 3}],
            "temperature_c": 55,
            "systolic_bp": 120,
        },
        RULES,
    )
    assert errors == {
        "symptoms": [
            'Unknown symptom code "foo".',
            'Grade for "bruising" must be between 0 and 2.',
        ],
        "temperature_c": ["Temperature must be between 30.0 and 45.0 °C."],
        "diastolic_bp": ["Give both blood pressure figures or neither."],
    }


@pytest.mark.parametrize(
    "data",
    [
        {"symptoms": []},
        {"symptoms": [{"code": "bruising", "grade": 2}, {"code": "chest_pain", "grade": 0}]},
        {
            "symptoms": [{"code": "nausea", "grade": 3}],
            "temperature_c": 30.0,
            "systolic_bp": 300,
            "diastolic_bp": 200,
            "notes": "Worse after lunch.",
        },
        {"symptoms": [], "temperature_c": Decimal("45.0"), "systolic_bp": 50, "diastolic_bp": 30},
        {"symptoms": [], "temperature_c": None, "systolic_bp": None, "diastolic_bp": None},
        {"symptoms": [], "patient": 12, "notes": None},
    ],
)
def test_valid_reports_have_no_errors(data: dict) -> None:
    assert validate_report(data, RULES) == {}


def test_a_validated_body_becomes_a_report_input() -> None:
    data = {
        "symptoms": [{"code": "diarrhoea", "grade": 2}],
        "temperature_c": Decimal("37.6"),
        "systolic_bp": 150,
        "diastolic_bp": 85,
    }
    assert report_input_from_data(data, NOW) == report(
        ("diarrhoea", 2), temperature_c=Decimal("37.6"), bp=(150, 85)
    )


# --------------------------------------------------------------------------------------
# Properties: never under-triage
# --------------------------------------------------------------------------------------

ALL_CODES = GRADED_CODES + RED_FLAG_CODES
temperatures = st.decimals(min_value="30.0", max_value="45.0", places=1)


@st.composite
def blood_pressures(draw: st.DrawFn) -> tuple[int, int]:
    diastolic = draw(st.integers(min_value=30, max_value=200))
    systolic = draw(st.integers(min_value=max(50, diastolic + 1), max_value=300))
    return systolic, diastolic


def symptom_item(code: str) -> st.SearchStrategy[SymptomItem]:
    return st.builds(SymptomItem, st.just(code), st.sampled_from(allowed_grades(RULES, code)))


@st.composite
def reports(draw: st.DrawFn) -> ReportInput:
    codes = draw(st.lists(st.sampled_from(ALL_CODES), unique=True, max_size=8))
    bp = draw(st.none() | blood_pressures())
    return ReportInput(
        symptoms=tuple(draw(symptom_item(code)) for code in codes),
        reported_at=NOW,
        temperature_c=draw(st.none() | temperatures),
        systolic_bp=bp[0] if bp else None,
        diastolic_bp=bp[1] if bp else None,
    )


item_keys = st.sampled_from([*ALL_CODES, "temperature", "blood_pressure"])
prior_reports = st.builds(
    PriorReport,
    reported_at=st.integers(min_value=-10, max_value=100).map(lambda h: NOW - timedelta(hours=h)),
    item_levels=st.dictionaries(item_keys, st.sampled_from(LEVELS), max_size=5),
)
contexts = st.builds(
    PatientContext,
    on_atezolizumab=st.booleans(),
    last_atezolizumab_at=st.none()
    | st.integers(min_value=0, max_value=800).map(lambda d: NOW - timedelta(days=d)),
    recent_reports=st.lists(prior_reports, max_size=3).map(tuple),
)


def as_body(report_input: ReportInput) -> dict:
    return {
        "symptoms": [{"code": i.code, "grade": i.grade} for i in report_input.symptoms],
        "temperature_c": report_input.temperature_c,
        "systolic_bp": report_input.systolic_bp,
        "diastolic_bp": report_input.diastolic_bp,
    }


@st.composite
def with_one_more_item(draw: st.DrawFn, report_input: ReportInput) -> ReportInput:
    present = {item.code for item in report_input.symptoms}
    options = [st.sampled_from([c for c in ALL_CODES if c not in present]).flatmap(symptom_item)]
    if report_input.temperature_c is None:
        options.append(temperatures.map(lambda t: {"temperature_c": t}))
    if report_input.systolic_bp is None:
        options.append(
            blood_pressures().map(lambda bp: {"systolic_bp": bp[0], "diastolic_bp": bp[1]})
        )
    added = draw(st.one_of(options))
    if isinstance(added, SymptomItem):
        return ReportInput(**{**vars(report_input), "symptoms": (*report_input.symptoms, added)})
    return ReportInput(**{**vars(report_input), **added})


@settings(max_examples=300, deadline=None)
@given(data=st.data(), report_input=reports(), context=contexts)
def test_adding_an_item_never_lowers_the_level(
    data: st.DataObject, report_input: ReportInput, context: PatientContext
) -> None:
    bigger = data.draw(with_one_more_item(report_input))
    assert validate_report(as_body(bigger), RULES) == {}
    before = grade_report(report_input, context, RULES)
    after = grade_report(bigger, context, RULES)
    assert level_rank(after.level) >= level_rank(before.level)


@settings(max_examples=300, deadline=None)
@given(report_input=reports(), context=contexts)
def test_never_under_triage(report_input: ReportInput, context: PatientContext) -> None:
    assert validate_report(as_body(report_input), RULES) == {}
    result = grade_report(report_input, context, RULES)
    own_levels = grade_items(report_input, RULES)
    for key, own_level in own_levels.items():
        assert level_rank(result.item_levels[key]) >= level_rank(own_level)
        assert level_rank(result.level) >= level_rank(own_level)
    assert {reason.code for reason in result.reasons} - {REPORT} == set(own_levels)
    assert result.level == max((r.level for r in result.reasons), key=level_rank, default=GREEN)
    assert result.call_advice_line is (result.level == RED)
