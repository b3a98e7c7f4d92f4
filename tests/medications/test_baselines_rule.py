"""The expected-level rule (clinical/checkins.md, "Alert burden"), table-driven on the pure
engine: an amber report whose only amber items are expected raises no alert; baselines
never touch red (a red item, two ambers, repeat amber, immunotherapy, blood pressure with
headache) and never an amber measurement or an unexpected amber."""

import pytest

from medications.symptoms.triage import (
    AMBER,
    GREEN,
    RED,
    PatientContext,
    expected_items_only,
)

from .triage_helpers import NOW, earlier, report, triage

ON_ATEZOLIZUMAB = PatientContext(on_atezolizumab=True, last_atezolizumab_at=NOW)

CASES = [
    # (name, report, context, expected grades, level, silenced codes)
    (
        "expected amber alone",
        report(("hand_foot", 2)),
        None,
        {"hand_foot": 2},
        AMBER,
        ("hand_foot",),
    ),
    (
        "expected amber with green items",
        report(("hand_foot", 2), ("fatigue", 1)),
        None,
        {"hand_foot": 2},
        AMBER,
        ("hand_foot",),
    ),
    ("expected only to grade 1", report(("hand_foot", 2)), None, {"hand_foot": 1}, AMBER, ()),
    ("another code expected", report(("hand_foot", 2)), None, {"rash": 2}, AMBER, ()),
    ("no baseline", report(("hand_foot", 2)), None, {}, AMBER, ()),
    ("red item", report(("hand_foot", 3)), None, {"hand_foot": 2}, RED, ()),
    (
        "two ambers (rule 2)",
        report(("hand_foot", 2), ("fatigue", 2)),
        None,
        {"hand_foot": 2},
        RED,
        (),
    ),
    (
        "two ambers both expected are still red",
        report(("hand_foot", 2), ("fatigue", 2)),
        None,
        {"hand_foot": 2, "fatigue": 2},
        RED,
        (),
    ),
    (
        "repeat amber (rule 3)",
        report(("hand_foot", 2)),
        PatientContext(recent_reports=(earlier(24, hand_foot=AMBER),)),
        {"hand_foot": 2},
        RED,
        (),
    ),
    (
        "immunotherapy amber (rule 4)",
        report(("diarrhoea", 2)),
        ON_ATEZOLIZUMAB,
        {"diarrhoea": 2},
        RED,
        (),
    ),
    (
        "expected amber with a red flag",
        report(("hand_foot", 2), ("chest_pain", 1)),
        None,
        {"hand_foot": 2},
        RED,
        (),
    ),
    (
        "amber blood pressure is not a symptom",
        report(bp=(150, 85)),
        None,
        {"hand_foot": 2},
        AMBER,
        (),
    ),
    (
        "expected amber with amber blood pressure",
        report(("hand_foot", 2), bp=(150, 85)),
        None,
        {"hand_foot": 2},
        RED,
        (),
    ),
    (
        "a grade above 2 is never expected",
        report(("hand_foot", 2)),
        None,
        {"hand_foot": 5},
        AMBER,
        ("hand_foot",),
    ),
    ("green report", report(("hand_foot", 1)), None, {"hand_foot": 2}, GREEN, ()),
]


@pytest.mark.parametrize(
    ("name", "given", "context", "expected", "level", "silenced"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_expected_items_only(name, given, context, expected, level, silenced):
    result = triage(given, context or PatientContext())
    assert result.level == level
    assert expected_items_only(result, given, expected) == silenced


def test_a_high_temperature_is_red_and_never_silenced():
    given = report(("hand_foot", 2), temperature_c=37.6)
    result = triage(given)
    assert result.level == RED
    assert expected_items_only(result, given, {"hand_foot": 2, "temperature": 2}) == ()


def test_the_ceiling_is_grade_2_even_when_a_higher_grade_is_stored():
    # A grade-3 item is red on its own, so a stored ceiling above 2 can never reach it.
    given = report(("rash", 3))
    assert expected_items_only(triage(given), given, {"rash": 3}) == ()
