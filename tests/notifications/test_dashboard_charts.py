"""The patient page's SVG charts (notifications/charts.py): pure, table-driven."""

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from notifications.dashboard import charts

LONDON = zoneinfo.ZoneInfo("Europe/London")
UNTIL = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=28)
AXIS = charts.TimeAxis(since=SINCE, until=UNTIL, zone=LONDON)


def day(n: float) -> datetime:
    return SINCE + timedelta(days=n)


@pytest.mark.parametrize(
    ("moment", "x"),
    [
        (SINCE, charts.LEFT),
        (UNTIL, charts.WIDTH - charts.RIGHT),
        (day(14), (charts.LEFT + charts.WIDTH - charts.RIGHT) / 2),
        (SINCE - timedelta(days=3), charts.LEFT),  # clamped, never drawn off the chart
        (UNTIL + timedelta(days=3), charts.WIDTH - charts.RIGHT),
    ],
)
def test_time_axis(moment, x):
    assert AXIS.x(moment) == pytest.approx(x, abs=0.1)


def test_ticks_are_weekly_and_end_today_across_a_clock_change():
    # 29 March 2026: the clocks go forward in London.
    labels = [label for _, label in AXIS.ticks()]
    assert labels == ["8 Mar", "15 Mar", "22 Mar", "29 Mar"]


def red_squares(svg: str) -> int:
    return len(re.findall(rf'<rect [^>]*fill="{charts.RED}"', svg))


@pytest.mark.parametrize(
    ("temperatures", "red"),
    [
        (["36.5"], 0),
        (["37.4", "36.0"], 0),  # 37.4 and 36.0 are inside the range
        (["37.5"], 1),  # 37.5 or higher is red (triage.md)
        (["35.9"], 1),  # below 36.0 is red
        (["36.5", "38.2", "35.1", "37.0"], 2),
    ],
)
def test_temperature_marks_red_readings_in_shape_and_words(temperatures, red):
    readings = [(day(i + 1), Decimal(t)) for i, t in enumerate(temperatures)]
    chart = charts.temperature_chart(chart_id="t", readings=readings, axis=AXIS)
    assert red_squares(chart.svg) == red
    assert f"{red} at red level" in chart.description
    assert f"{len(readings)} readings" in chart.description


@pytest.mark.parametrize(
    ("reading", "raised"),
    [
        ((139, 89), 0),
        ((140, 80), 1),  # amber from a systolic of 140
        ((120, 90), 1),  # amber from a diastolic of 90
        ((165, 100), 1),
        ((85, 60), 1),  # a systolic below 90 is red
    ],
)
def test_blood_pressure_counts_readings_at_amber_or_red(reading, raised):
    chart = charts.blood_pressure_chart(chart_id="bp", readings=[(day(3), *reading)], axis=AXIS)
    assert f"{raised} at amber or red level" in chart.description
    assert f"Latest {reading[0]}/{reading[1]} mmHg" in chart.description


def level_of(code, grade):
    if code == "chest_pain":
        return "red"
    return {1: "green", 2: "amber", 3: "red"}.get(grade)


def test_symptom_grades_one_row_per_symptom_worst_first():
    series = {
        "fatigue": [(day(1), 1), (day(5), 2)],
        "diarrhoea": [(day(2), 3)],
        "nausea": [(day(3), 0)],  # reported as not present: no row
        "chest_pain": [(day(4), 1)],
    }
    labels = {"fatigue": "Tiredness", "diarrhoea": "Diarrhoea", "chest_pain": "Chest pain"}
    chart = charts.symptom_grades_chart(
        chart_id="g",
        series=series,
        labels=labels,
        level_of=level_of,
        red_flags={"chest_pain"},
        axis=AXIS,
    )
    rows = re.findall(r'text-anchor="end" fill="#1b1b1b"[^>]*>([^<]+)<', chart.svg)
    assert rows == ["Diarrhoea", "Tiredness", "Chest pain"]
    assert "3 symptoms reported above grade 0" in chart.description
    assert "Diarrhoea: highest grade 3" in chart.description
    # A red flag shows "!", graded symptoms their grade number.
    assert re.search(r'font-weight="bold"[^>]*>!<', chart.svg)
    assert re.search(r'font-weight="bold"[^>]*>3<', chart.svg)


def test_nothing_to_draw_is_no_chart():
    assert charts.temperature_chart(chart_id="t", readings=[], axis=AXIS) is None
    assert charts.blood_pressure_chart(chart_id="b", readings=[], axis=AXIS) is None
    only_zero = {"nausea": [(day(1), 0)]}
    assert (
        charts.symptom_grades_chart(
            chart_id="g", series=only_zero, labels={}, level_of=level_of, axis=AXIS
        )
        is None
    )


def test_charts_are_labelled_escaped_and_need_no_inline_style():
    chart = charts.symptom_grades_chart(
        chart_id="g",
        series={"x": [(day(1), 2)]},
        labels={"x": "<script>alert(1)</script>"},
        level_of=level_of,
        axis=AXIS,
    )
    svg = chart.svg
    assert 'role="img"' in svg and 'aria-labelledby="g-title g-desc"' in svg
    assert '<title id="g-title">' in svg and '<desc id="g-desc">' in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    for made in (
        svg,
        charts.temperature_chart(chart_id="t", readings=[(day(1), Decimal("37"))], axis=AXIS).svg,
        charts.blood_pressure_chart(chart_id="b", readings=[(day(1), 120, 80)], axis=AXIS).svg,
    ):
        assert "style=" not in made  # a strict Content-Security-Policy blocks inline style
