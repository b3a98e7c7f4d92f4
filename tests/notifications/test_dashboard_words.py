"""What the dashboard says: reasons, ages, deadlines, treatment line. Table-driven; the
reasons come in the shapes the triage engine and the alert sweeps store."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from medications.symptoms.rules import DEFAULT_RULES
from notifications.dashboard import patient_page
from notifications.dashboard import words as dashboard_words
from notifications.models import Alert, AlertStatus

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=20), "under a minute"),
        (timedelta(minutes=1), "1 min"),
        (timedelta(minutes=59), "59 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=4, minutes=5), "4 h 5 min"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=2, hours=3), "2 days 3 h"),
        (-timedelta(minutes=15), "15 min"),
    ],
)
def test_durations(delta, words):
    assert dashboard_words.duration_words(delta) == words


def report(symptoms=(), **figures):
    return SimpleNamespace(
        symptoms=[{"code": c, "grade": g} for c, g in symptoms],
        temperature_c=figures.get("temperature_c"),
        systolic_bp=figures.get("systolic_bp"),
        diastolic_bp=figures.get("diastolic_bp"),
    )


@pytest.mark.parametrize(
    ("reason", "the_report", "short"),
    [
        (
            {"code": "diarrhoea", "level": "red", "rule": "grade"},
            report([("diarrhoea", 3)]),
            "Diarrhoea, grade 3",
        ),
        (
            {"code": "chest_pain", "level": "red", "rule": "red_flag"},
            report([("chest_pain", 1)]),
            "Chest pain or tightness (red flag)",
        ),
        (
            {"code": "report", "level": "red", "rule": "two_ambers"},
            report(),
            "The report as a whole (two or more amber items in one report)",
        ),
        (
            {"code": "cough", "level": "red", "rule": "repeat_amber"},
            report([("cough", 2)]),
            "Cough, grade 2 (amber again within 48 hours)",
        ),
        (
            {"code": "rash", "level": "red", "rule": "immunotherapy"},
            report([("rash", 2)]),
            "Skin rash, grade 2 (amber on immunotherapy (atezolizumab))",
        ),
        (
            {"code": "blood_pressure", "level": "red", "rule": "bp_with_headache"},
            report(systolic_bp=150, diastolic_bp=92),
            "Blood pressure, 150/92 mmHg (raised blood pressure with headache)",
        ),
        (
            {"code": "temperature", "level": "red", "rule": "temperature"},
            report(temperature_c=Decimal("38.1")),
            "Temperature, 38.1 °C",
        ),
        (
            {"code": "diarrhoea", "level": "amber", "rule": "grade"},
            None,  # no report at hand: the label alone
            "Diarrhoea",
        ),
        # The alert sweeps say why in words.
        (
            {"code": "missed_dose", "level": "green", "rule": "1 missed dose"},
            None,
            "1 missed dose",
        ),
        (
            {"code": "ran_out", "level": "amber", "rule": "patient has run out of tablets"},
            None,
            "Patient has run out of tablets",
        ),
        ("Something in plain words", None, "Something in plain words"),
    ],
)
def test_reasons_in_words(reason, the_report, short):
    (line,) = dashboard_words.reason_lines([reason], DEFAULT_RULES, the_report)
    assert line.short == short


def test_a_grade_on_the_alert_page_says_what_it_means():
    (line,) = dashboard_words.reason_lines(
        [{"code": "vomiting", "level": "red", "rule": "grade"}],
        DEFAULT_RULES,
        report([("vomiting", 3)]),
    )
    assert line.detail.startswith("grade 3: 6 or more times in 24 hours")


def alert(status, *, level="red", due_in=timedelta(minutes=10), acknowledged_at=None):
    return Alert(
        status=status,
        level=level,
        created_at=NOW - timedelta(minutes=20),
        due_by=NOW + due_in,
        acknowledged_at=acknowledged_at,
    )


@pytest.mark.parametrize(
    ("the_alert", "words", "overdue"),
    [
        (alert(AlertStatus.OPEN), "10 min left", False),
        (alert(AlertStatus.OPEN, due_in=timedelta(0)), "Overdue by under a minute", True),
        (alert(AlertStatus.OPEN, due_in=-timedelta(minutes=95)), "Overdue by 1 h 35 min", True),
        (
            alert(AlertStatus.ACKNOWLEDGED, acknowledged_at=NOW - timedelta(minutes=5)),
            "Acknowledged in time",
            False,
        ),
        (
            alert(
                AlertStatus.ACKNOWLEDGED,
                due_in=-timedelta(minutes=30),
                acknowledged_at=NOW - timedelta(minutes=1),
            ),
            "Acknowledged late",
            False,
        ),
        (alert(AlertStatus.RESOLVED, due_in=-timedelta(hours=3)), "Resolved", False),
    ],
)
def test_deadlines(the_alert, words, overdue):
    assert dashboard_words.deadline_words(the_alert, NOW) == (words, overdue)


def rx(code, status="active"):
    return SimpleNamespace(drug=SimpleNamespace(code=code), status=status)


def course(status="active"):
    return SimpleNamespace(drugs=["atezolizumab", "bevacizumab"], status=status)


NAMES = {c: c for c in ("sorafenib", "lenvatinib", "regorafenib", "cabozantinib")}
NAMES.update(atezolizumab="atezolizumab", bevacizumab="bevacizumab")


@pytest.mark.parametrize(
    ("prior", "prescriptions", "courses", "words"),
    [
        ([], [], [], "No current systemic treatment"),
        ([], [rx("sorafenib")], [], "First line"),
        ([], [], [course()], "First line"),  # atezolizumab + bevacizumab: one regimen
        (["sorafenib"], [rx("regorafenib")], [], "Second line"),
        ([], [rx("sorafenib", "stopped"), rx("cabozantinib")], [], "Second line"),
        # Licensed only after sorafenib: second line even with no earlier record.
        ([], [rx("regorafenib")], [], "Second line"),
        ([], [rx("lenvatinib", "stopped"), rx("sorafenib", "stopped")], [course()], "Third line"),
        (["sorafenib"], [rx("sorafenib", "stopped")], [], "No current systemic treatment"),
    ],
)
def test_treatment_line(prior, prescriptions, courses, words):
    patient = SimpleNamespace(prior_systemic_therapies=prior)
    line = patient_page.treatment_line(patient, prescriptions, courses, NAMES)
    assert line.words == words


def test_treatment_line_names_what_came_before():
    patient = SimpleNamespace(prior_systemic_therapies=["sorafenib"])
    line = patient_page.treatment_line(patient, [rx("cabozantinib")], [], NAMES)
    assert line.current == ["cabozantinib"] and line.earlier == ["sorafenib"]
