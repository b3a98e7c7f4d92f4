"""Tests of the pure triage engine against /work/shared/clinical/triage.md.

The expected levels in the tables below are copied from triage.md, not derived from the
rule set, so a change to DEFAULT_RULES that breaks the specification fails here.
"""

import copy
import json
from datetime import timedelta
from decimal import Decimal

import pytest

from medications.symptoms.rules import DEFAULT_RULES
from medications.symptoms.triage import (
    AMBER,
    GREEN,
    RED,
    REPORT,
    PatientContext,
    PriorReport,
    Reason,
    ReportInput,
    allowed_grades,
    check_rules,
    grade_report,
    item_label,
    symptom_choices,
)
from tests.medications.triage_helpers import (
    GRADE_TO_LEVEL,
    GRADED_CODES,
    IMMUNOTHERAPY_CODES,
    NOT_EXPOSED,
    NOW,
    RED_FLAG_CODES,
    RULES,
    earlier,
    report,
    triage,
)

# --------------------------------------------------------------------------------------
# The rule set itself
# --------------------------------------------------------------------------------------


def test_default_rules_are_sound_version_1_and_plain_json() -> None:
    assert check_rules(RULES) == []
    assert RULES["version"] == 1
    assert json.loads(json.dumps(RULES)) == RULES


def test_vocabulary_is_exactly_triage_md() -> None:
    assert list(RULES["graded_symptoms"]) == GRADED_CODES
    assert list(RULES["red_flags"]) == RED_FLAG_CODES
    assert RULES["combination_rules"]["immunotherapy"]["codes"] == IMMUNOTHERAPY_CODES


@pytest.mark.parametrize("code", GRADED_CODES)
def test_every_graded_symptom_has_label_grade_texts_and_self_care(code: str) -> None:
    symptom = RULES["graded_symptoms"][code]
    expected_max = 2 if code == "bruising" else 3  # bruising has no grade 3
    assert allowed_grades(RULES, code) == range(expected_max + 1)
    assert all(text.strip() for text in symptom["grades"])
    assert symptom["label"] and symptom["self_care"]


def test_labels_read_in_the_clinics_words() -> None:
    assert item_label(RULES, "diarrhoea") == "Diarrhoea"
    assert item_label(RULES, "hand_foot") == "Hand or foot skin reaction"
    assert item_label(RULES, "chest_pain") == "Chest pain or tightness"
    assert item_label(RULES, "blood_pressure") == "Blood pressure"


def test_symptom_choices_list_graded_symptoms_then_red_flags() -> None:
    choices = {choice["code"]: choice for choice in symptom_choices(RULES)}
    assert list(choices) == GRADED_CODES + RED_FLAG_CODES
    assert choices["bruising"]["kind"] == "graded"
    assert [grade for grade, _ in choices["bruising"]["grades"]] == [0, 1, 2]
    assert choices["diarrhoea"]["grades"][1] == (1, "Up to 3 more stools a day than usual")
    assert choices["jaundice"]["kind"] == "red_flag"
    assert choices["jaundice"]["grades"] == [(0, "No"), (1, "Yes")]
    assert choices["jaundice"]["description"] == "New yellowing of skin or eyes"


# --------------------------------------------------------------------------------------
# Per-item levels: one case per row of every table in triage.md
# --------------------------------------------------------------------------------------

GRADED_ROWS = [
    (code, grade, GRADE_TO_LEVEL[grade])
    for code in GRADED_CODES
    for grade in (1, 2, 3)
    if not (code == "bruising" and grade == 3)
]


@pytest.mark.parametrize(("code", "grade", "level"), GRADED_ROWS)
def test_graded_symptom_alone(code: str, grade: int, level: str) -> None:
    result = triage(report((code, grade)))
    assert result.level == level
    assert result.reasons == (Reason(code, level, "grade"),)
    assert result.item_levels == {code: level}
    assert result.call_advice_line is (level == RED)


@pytest.mark.parametrize("code", GRADED_CODES + RED_FLAG_CODES)
def test_grade_zero_is_not_a_finding(code: str) -> None:
    result = triage(report((code, 0)))
    assert (result.level, result.reasons, result.item_levels) == (GREEN, (), {})


@pytest.mark.parametrize("code", RED_FLAG_CODES)
def test_red_flag_present_is_red_for_every_patient(code: str) -> None:
    result = triage(report((code, 1)))
    assert result.level == RED
    assert result.reasons == (Reason(code, RED, "red_flag"),)
    assert result.call_advice_line is True


@pytest.mark.parametrize(
    ("temperature_c", "level"),
    [
        (Decimal("37.5"), RED),  # 37.5 or higher is red
        (Decimal("37.4"), GREEN),
        (37.5, RED),  # floats compare as written, not as binary approximations
        (37.4, GREEN),
        (Decimal("39.2"), RED),
        (Decimal("36.0"), GREEN),  # 36.0 itself is normal
        (Decimal("35.9"), RED),  # below 36.0 is red
        (35.9, RED),
        (36, GREEN),
    ],
)
def test_temperature(temperature_c: Decimal | float, level: str) -> None:
    result = triage(report(temperature_c=temperature_c))
    assert result.level == level
    expected = (Reason("temperature", RED, "temperature"),) if level == RED else ()
    assert result.reasons == expected


@pytest.mark.parametrize(
    ("bp", "level"),
    [
        ((160, 80), RED),  # systolic 160 or higher
        ((159, 80), AMBER),  # systolic 140-159
        ((140, 80), AMBER),
        ((139, 89), GREEN),
        ((120, 100), RED),  # diastolic 100 or higher
        ((120, 99), AMBER),  # diastolic 90-99
        ((120, 90), AMBER),
        ((89, 60), RED),  # systolic below 90
        ((90, 60), GREEN),
        ((165, 95), RED),  # meets amber and red: the higher wins
    ],
)
def test_blood_pressure(bp: tuple[int, int], level: str) -> None:
    result = triage(report(bp=bp))
    assert result.level == level
    expected = () if level == GREEN else (Reason("blood_pressure", level, "blood_pressure"),)
    assert result.reasons == expected


# --------------------------------------------------------------------------------------
# Combination rules (triage.md rules 1-6)
# --------------------------------------------------------------------------------------


def test_rule_1_any_red_item_makes_the_report_red() -> None:
    result = triage(report(("nausea", 1), ("fatigue", 2), ("chest_pain", 1)))
    assert result.level == RED
    assert result.reasons[0] == Reason("chest_pain", RED, "red_flag")


@pytest.mark.parametrize(
    ("items", "bp", "level"),
    [
        ((("diarrhoea", 2), ("fatigue", 2)), None, RED),
        ((("diarrhoea", 2), ("fatigue", 2), ("rash", 2)), None, RED),
        ((("diarrhoea", 2),), (150, 80), RED),  # an amber measurement counts too
        ((("diarrhoea", 2), ("fatigue", 1)), None, AMBER),
        ((("diarrhoea", 2),), None, AMBER),
    ],
)
def test_rule_2_two_ambers_make_red(
    items: tuple[tuple[str, int], ...], bp: tuple[int, int] | None, level: str
) -> None:
    result = triage(report(*items, bp=bp))
    assert result.level == level
    assert (Reason(REPORT, RED, "two_ambers") in result.reasons) is (level == RED)


def test_rule_2_keeps_the_ambers_amber_and_explains_the_red() -> None:
    result = triage(report(("diarrhoea", 2), ("fatigue", 2)))
    assert result.reasons == (
        Reason(REPORT, RED, "two_ambers"),
        Reason("diarrhoea", AMBER, "grade"),
        Reason("fatigue", AMBER, "grade"),
    )
    assert result.item_levels == {"diarrhoea": AMBER, "fatigue": AMBER}


@pytest.mark.parametrize(
    ("prior", "level"),
    [
        (earlier(47, fatigue=AMBER), RED),
        (earlier(48, fatigue=AMBER), RED),  # the window includes its end
        (earlier(49, fatigue=AMBER), AMBER),
        (earlier(47, fatigue=RED), RED),  # "amber or red" before
        (earlier(47, fatigue=GREEN), AMBER),
        (earlier(47, nausea=AMBER), AMBER),  # a different symptom does not count
        (earlier(0, fatigue=AMBER), AMBER),  # not an earlier report
        (earlier(-1, fatigue=AMBER), AMBER),  # a later report is not "previous"
    ],
)
def test_rule_3_repeat_amber(prior: PriorReport, level: str) -> None:
    result = triage(report(("fatigue", 2)), PatientContext(recent_reports=(prior,)))
    assert result.level == level
    if level == RED:
        assert result.reasons == (Reason("fatigue", RED, "repeat_amber"),)
        assert result.item_levels == {"fatigue": RED}


def test_rule_3_repeat_amber_applies_to_blood_pressure() -> None:
    context = PatientContext(recent_reports=(earlier(24, blood_pressure=AMBER),))
    result = triage(report(bp=(150, 85)), context)
    assert result.level == RED
    assert result.reasons == (Reason("blood_pressure", RED, "repeat_amber"),)


def test_rule_3_only_raises_items_that_are_amber_now() -> None:
    context = PatientContext(recent_reports=(earlier(24, fatigue=AMBER),))
    assert triage(report(("fatigue", 1)), context).level == GREEN


@pytest.mark.parametrize(
    ("context", "level"),
    [
        (PatientContext(on_atezolizumab=True), RED),
        (PatientContext(last_atezolizumab_at=NOW - timedelta(days=30 * 11)), RED),
        (PatientContext(last_atezolizumab_at=NOW - timedelta(days=365)), RED),
        (PatientContext(last_atezolizumab_at=NOW - timedelta(days=366)), AMBER),
        (PatientContext(last_atezolizumab_at=NOW - timedelta(days=31 * 13)), AMBER),
        (PatientContext(), AMBER),
    ],
)
@pytest.mark.parametrize("code", IMMUNOTHERAPY_CODES)
def test_rule_4_immunotherapy(code: str, context: PatientContext, level: str) -> None:
    result = triage(report((code, 2)), context)
    assert result.level == level
    if level == RED:
        assert result.reasons == (Reason(code, RED, "immunotherapy"),)


@pytest.mark.parametrize("code", ["nausea", "fatigue", "hand_foot", "pain", "bruising"])
def test_rule_4_leaves_other_symptoms_amber(code: str) -> None:
    assert triage(report((code, 2)), PatientContext(on_atezolizumab=True)).level == AMBER


def test_rule_4_leaves_green_symptoms_green() -> None:
    assert triage(report(("diarrhoea", 1)), PatientContext(on_atezolizumab=True)).level == GREEN


def test_an_item_raised_by_two_rules_names_both() -> None:
    context = PatientContext(on_atezolizumab=True, recent_reports=(earlier(6, diarrhoea=AMBER),))
    result = triage(report(("diarrhoea", 2)), context)
    assert result.reasons == (
        Reason("diarrhoea", RED, "repeat_amber"),
        Reason("diarrhoea", RED, "immunotherapy"),
    )


@pytest.mark.parametrize(
    ("bp", "headache_grade", "level", "reasons"),
    [
        (
            (150, 85),
            2,
            RED,
            (
                Reason("headache", RED, "bp_with_headache"),
                Reason("blood_pressure", RED, "bp_with_headache"),
            ),
        ),
        ((150, 85), 1, AMBER, None),
        ((120, 80), 2, AMBER, None),  # normal blood pressure: just an amber headache
        (
            (170, 85),
            2,
            RED,
            (
                Reason("headache", RED, "bp_with_headache"),
                Reason("blood_pressure", RED, "blood_pressure"),
            ),
        ),
        (
            (150, 85),
            3,
            RED,
            (
                Reason("headache", RED, "grade"),
                Reason("blood_pressure", RED, "bp_with_headache"),
            ),
        ),
    ],
)
def test_rule_5_blood_pressure_with_headache(
    bp: tuple[int, int], headache_grade: int, level: str, reasons: tuple[Reason, ...] | None
) -> None:
    result = triage(report(("headache", headache_grade), bp=bp))
    assert result.level == level
    if reasons is not None:
        assert result.reasons == reasons


def test_rule_5_headache_without_blood_pressure_stays_amber() -> None:
    assert triage(report(("headache", 2))).level == AMBER


@pytest.mark.parametrize(
    "report_input",
    [
        report(),
        report(*((code, 0) for code in GRADED_CODES + RED_FLAG_CODES)),
        report(("nausea", 0), temperature_c=Decimal("36.8"), bp=(128, 78)),
    ],
)
def test_rule_6_nothing_above_grade_0_and_normal_measurements_is_green(
    report_input: ReportInput,
) -> None:
    result = triage(report_input)
    assert (result.level, result.reasons, result.item_levels) == (GREEN, (), {})
    assert result.call_advice_line is False


def test_green_items_are_kept_as_reasons_for_the_timeline() -> None:
    result = triage(report(("nausea", 1), ("mouth_sores", 1)))
    assert result.level == GREEN
    assert result.reasons == (
        Reason("nausea", GREEN, "grade"),
        Reason("mouth_sores", GREEN, "grade"),
    )


def test_reasons_list_every_item_highest_level_first() -> None:
    result = triage(report(("nausea", 1), ("fatigue", 2), ("bleeding", 1), temperature_c=38.1))
    assert result.reasons == (
        Reason("bleeding", RED, "red_flag"),
        Reason("temperature", RED, "temperature"),
        Reason("fatigue", AMBER, "grade"),
        Reason("nausea", GREEN, "grade"),
    )
    assert result.item_levels == {
        "nausea": GREEN,
        "fatigue": AMBER,
        "bleeding": RED,
        "temperature": RED,
    }


# --------------------------------------------------------------------------------------
# Advice and the API shape
# --------------------------------------------------------------------------------------


def test_red_advice_says_call_now_and_999_and_nothing_else() -> None:
    result = triage(report(("diarrhoea", 3)))
    assert result.advice == (
        "Call your advice line now.",
        "Call 999 if you collapse, have severe bleeding, severe chest pain or difficulty "
        "breathing.",
    )
    assert result.call_advice_line is True


def test_amber_advice_leads_with_the_24_hour_line_then_self_care() -> None:
    result = triage(report(("diarrhoea", 2), ("nausea", 1), ("chest_pain", 0)))
    assert result.advice[0].startswith("The team will contact you within 24 hours.")
    assert result.advice[1].startswith("Diarrhoea: Drink plenty of fluids")
    assert result.advice[2].startswith("Feeling sick (nausea): ")
    assert len(result.advice) == 3
    assert result.call_advice_line is False


def test_green_advice_gives_self_care_for_each_symptom_then_report_again() -> None:
    result = triage(report(("hand_foot", 1), ("fatigue", 0), ("diarrhoea", 1)))
    assert result.advice == (
        "Hand or foot skin reaction: " + RULES["graded_symptoms"]["hand_foot"]["self_care"],
        "Diarrhoea: " + RULES["graded_symptoms"]["diarrhoea"]["self_care"],
        "Report again, or call your advice line, if it gets worse.",
    )
    assert "loperamide" in result.advice[1]
    assert "moisturise" in result.advice[0].lower()


def test_green_with_nothing_reported_still_says_report_again() -> None:
    assert triage(report()).advice == ("Report again, or call your advice line, if it gets worse.",)


def test_as_dict_is_the_api_triage_shape() -> None:
    result = triage(report(("diarrhoea", 2), ("fatigue", 2)))
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "level": "red",
        "reasons": [
            {"code": "report", "level": "red", "rule": "two_ambers"},
            {"code": "diarrhoea", "level": "amber", "rule": "grade"},
            {"code": "fatigue", "level": "amber", "rule": "grade"},
        ],
        "advice": list(result.advice),
        "call_advice_line": True,
        "ruleset_version": 1,
        "item_levels": {"diarrhoea": "amber", "fatigue": "amber"},
    }


def test_stored_item_levels_feed_the_next_reports_repeat_amber_rule() -> None:
    first = triage(report(("rash", 2), at=NOW - timedelta(hours=20)))
    prior = PriorReport(reported_at=NOW - timedelta(hours=20), item_levels=first.item_levels)
    assert triage(report(("rash", 2)), PatientContext(recent_reports=(prior,))).level == RED


# --------------------------------------------------------------------------------------
# The rule data drives the engine (a Trust changes data, not code)
# --------------------------------------------------------------------------------------


def edited_rules(**changes: object) -> dict:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["version"] = 2
    for path, value in changes.items():
        target = rules
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    assert check_rules(rules) == []
    return rules


def test_a_trust_can_change_the_temperature_threshold() -> None:
    rules = edited_rules(
        measurements__temperature__levels={
            "red": [{"figure": "temperature_c", "at_or_above": 38.0}]
        }
    )
    result = grade_report(report(temperature_c=Decimal("37.8")), NOT_EXPOSED, rules)
    assert (result.level, result.ruleset_version) == (GREEN, 2)


def test_a_trust_can_change_the_windows_and_counts() -> None:
    rules = edited_rules(
        combination_rules__repeat_amber={"window_hours": 72},
        combination_rules__two_ambers={"count": 3},
    )
    context = PatientContext(recent_reports=(earlier(60, fatigue=AMBER),))
    assert grade_report(report(("fatigue", 2)), context, rules).level == RED
    assert grade_report(report(("fatigue", 2), ("rash", 2)), NOT_EXPOSED, rules).level == AMBER


def test_a_trust_can_grade_one_symptom_differently() -> None:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["graded_symptoms"]["fatigue"]["grade_levels"] = {
        "0": None,
        "1": "green",
        "2": "green",
        "3": "amber",
    }
    assert check_rules(rules) == []
    assert grade_report(report(("fatigue", 3)), NOT_EXPOSED, rules).level == AMBER


def test_check_rules_catches_an_unsafe_rule_set() -> None:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["grade_levels"]["graded"] = {"0": None, "1": "green", "2": "orange"}
    rules["combination_rules"]["immunotherapy"]["codes"].append("colitis")
    problems = check_rules(rules)
    assert "diarrhoea: no level for grade 3" in problems
    assert "diarrhoea: unknown level 'orange' for grade 2" in problems
    assert "immunotherapy: unknown codes ['colitis']" in problems
