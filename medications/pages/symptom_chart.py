"""History's symptom chart and report list. The chart is server-rendered SVG (no script,
so it works with a strict CSP and without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..symptoms import triage

# The chart is server-rendered SVG (no script, so it works with a strict CSP and without
# JavaScript). Coordinates are in the SVG's own units; CSS scales the whole drawing.
CHART_WIDTH = 360
CHART_LEFT = 8
CHART_RIGHT = 8
ROW_LABEL_HEIGHT = 18
ROW_BAND_HEIGHT = 30
ROW_GAP = 10
AXIS_HEIGHT = 22
LEVEL_WORDS = {"red": "Red: call now", "amber": "Amber: needs review", "green": "Green: self-care"}
LEVEL_LETTER = {"red": "R", "amber": "A", "green": "G"}
GRADE_LEVEL = {1: "green", 2: "amber", 3: "red"}


@dataclass
class ChartMark:
    x: float
    y: float
    height: float
    level: str
    title: str

    @property
    def bar_x(self) -> float:
        return round(self.x - 3, 1)

    @property
    def text_y(self) -> float:
        return round(self.y + 4, 1)


@dataclass
class ChartRow:
    label: str
    y: float
    baseline: float
    marks: list[ChartMark]
    kind: str = "bars"  # "bars" for grades, "levels" for whole reports, "points" for figures
    # Reference lines across the row (a measurement's red thresholds): (y, label).
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def line_labels(self) -> list[tuple[float, float, str]]:
        """(line y, label y, label): the top line labelled above it, the others below, so
        two close thresholds (37.5 and 36.0 °C) do not print on top of each other."""
        ordered = sorted(self.lines)
        return [
            (y, round(y - 3 if index == 0 else y + 11, 1), label)
            for index, (y, label) in enumerate(ordered)
        ]

    @property
    def label_y(self) -> float:
        return self.y + 14


@dataclass
class ChartTick:
    x: float
    label: str
    anchor: str = "middle"  # the last label ends at the right edge instead of running off it


@dataclass
class SymptomChart:
    rows: list[ChartRow]
    ticks: list[ChartTick]
    width: int
    height: float
    axis_y: float
    first_day: date
    last_day: date
    description: str

    @property
    def plot_right(self) -> float:
        return self.width - CHART_RIGHT

    @property
    def tick_y(self) -> float:
        return self.axis_y + 16


@dataclass
class ReportRow:
    report: object
    when: datetime
    level: str
    items: list[tuple[str, str]]  # (label, answer) for everything above "none"
    temperature: Decimal | None
    blood_pressure: str
    status: object = None  # report.ReportStatusWords, set by the History page


def _label(labels: dict[str, str], rules: dict, code: str) -> str:
    return labels.get(code) or triage.item_label(rules, code)


def _grade_text(rules: dict, code: str, grade: int) -> str:
    kind = triage.symptom_kind(rules, code)
    if kind == triage.GRADED:
        grades = rules["graded_symptoms"][code]["grades"]
        return grades[grade] if 0 <= grade < len(grades) else str(grade)
    if kind == triage.RED_FLAG:
        answers = rules["red_flag_answers"]
        return answers[grade] if 0 <= grade < len(answers) else str(grade)
    return str(grade)


def symptom_chart(history, *, zone: ZoneInfo, now: datetime, rules: dict) -> SymptomChart | None:
    """Report levels over time, then one row per symptom ever above grade 0 in the period:
    bar height is the grade (1-3), so the picture does not rely on colour alone."""
    if not history.reports:
        return None
    start = history.since
    span = max((now - start).total_seconds(), 1.0)
    plot = CHART_WIDTH - CHART_LEFT - CHART_RIGHT

    def x_of(moment: datetime) -> float:
        fraction = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return round(CHART_LEFT + fraction * plot, 1)

    rows: list[ChartRow] = []
    y = 0.0
    level_marks = [
        ChartMark(
            x=x_of(moment),
            y=y + ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT / 2,
            height=0,
            level=level,
            title=f"{moment.astimezone(zone):%a %d %b %H:%M}: {LEVEL_WORDS.get(level, level)}",
        )
        for moment, level in history.levels
    ]
    rows.append(
        ChartRow(
            label="Result of each report",
            y=y,
            baseline=y + ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT,
            marks=level_marks,
            kind="levels",
        )
    )
    y += ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT + ROW_GAP
    if history.temperature:
        rows.append(_temperature_row(history.temperature, y, x_of, zone, rules))
        y += ROW_LABEL_HEIGHT + TEMPERATURE_BAND_HEIGHT + ROW_GAP
    for code, points in history.symptoms.items():
        present = [(moment, grade) for moment, grade in points if isinstance(grade, int) and grade]
        if not present:
            continue
        is_flag = triage.symptom_kind(rules, code) == triage.RED_FLAG
        highest = 1 if is_flag else max(len(rules["graded_symptoms"][code]["grades"]) - 1, 1)
        baseline = y + ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT
        marks = []
        for moment, grade in present:
            height = ROW_BAND_HEIGHT * (grade / 3 if not is_flag else 1.0)
            level = "red" if is_flag else GRADE_LEVEL.get(grade, "red")
            answer = _grade_text(rules, code, grade)
            grade_words = "present" if is_flag else f"grade {grade} of {highest}"
            marks.append(
                ChartMark(
                    x=x_of(moment),
                    y=round(baseline - height, 1),
                    height=round(height, 1),
                    level=level,
                    title=f"{moment.astimezone(zone):%a %d %b %H:%M}: {grade_words} ({answer})",
                )
            )
        rows.append(
            ChartRow(label=_label(history.labels, rules, code), y=y, baseline=baseline, marks=marks)
        )
        y += ROW_LABEL_HEIGHT + ROW_BAND_HEIGHT + ROW_GAP
    axis_y = y
    first_day = start.astimezone(zone).date()
    last_day = now.astimezone(zone).date()
    # Weekly ticks counted back from today, so the most recent week is always labelled.
    ticks = []
    day = last_day
    while day >= first_day:
        moment = datetime.combine(day, time(0), tzinfo=zone)
        if moment >= start:
            ticks.append(ChartTick(x=x_of(moment), label=f"{day.day} {day:%b}"))
        day -= timedelta(days=7)
    ticks.reverse()
    for tick in ticks:
        if tick.x > CHART_WIDTH - CHART_RIGHT - 18:
            tick.anchor = "end"
        elif tick.x < CHART_LEFT + 18:
            tick.anchor = "start"
    reds = sum(1 for _, level in history.levels if level == "red")
    ambers = sum(1 for _, level in history.levels if level == "amber")
    symptom_names = [row.label for row in rows[1:] if row.kind == "bars"]
    description = (
        f"{len(history.reports)} reports from {first_day.day} {first_day:%B} to "
        f"{last_day.day} {last_day:%B}: {reds} red, {ambers} amber, "
        f"{len(history.levels) - reds - ambers} green. "
        + (
            "Symptoms reported: " + ", ".join(symptom_names) + "."
            if symptom_names
            else "No symptoms above 'none' were reported."
        )
    )
    return SymptomChart(
        rows=rows,
        ticks=ticks,
        width=CHART_WIDTH,
        height=axis_y + AXIS_HEIGHT,
        axis_y=axis_y,
        first_day=first_day,
        last_day=last_day,
        description=description,
    )


TEMPERATURE_BAND_HEIGHT = 64


def _temperature_row(points, y: float, x_of, zone: ZoneInfo, rules: dict) -> ChartRow:
    """Temperatures as dots between 35 and 40 °C (wider if a reading is outside), with the
    rule set's red thresholds drawn across: a dot past a line is a red reading."""
    conditions = (
        rules.get("measurements", {}).get("temperature", {}).get("levels", {}).get("red", [])
    )
    thresholds = [
        Decimal(str(c.get("at_or_above", c.get("below"))))
        for c in conditions
        if c.get("figure") == "temperature_c"
    ]
    values = [Decimal(str(value)) for _, value in points]
    low = min([Decimal(35), *values, *thresholds])
    high = max([Decimal(40), *values, *thresholds])
    top = y + ROW_LABEL_HEIGHT + 4
    band = TEMPERATURE_BAND_HEIGHT - 8

    def y_of(value: Decimal) -> float:
        return round(top + float((high - value) / (high - low)) * band, 1)

    def is_red(value: Decimal) -> bool:
        for condition in conditions:
            if "at_or_above" in condition and value >= Decimal(str(condition["at_or_above"])):
                return True
            if "below" in condition and value < Decimal(str(condition["below"])):
                return True
        return False

    marks = [
        ChartMark(
            x=x_of(moment),
            y=y_of(Decimal(str(value))),
            height=0,
            level="red" if is_red(Decimal(str(value))) else "green",
            title=f"{moment.astimezone(zone):%a %d %b %H:%M}: {value} °C",
        )
        for moment, value in points
    ]
    return ChartRow(
        label="Temperature (°C)",
        y=y,
        baseline=y + ROW_LABEL_HEIGHT + TEMPERATURE_BAND_HEIGHT,
        marks=marks,
        kind="points",
        lines=[(y_of(value), f"{value} °C") for value in thresholds],
    )


def report_rows(history, *, zone: ZoneInfo, rules: dict) -> list[ReportRow]:
    """Each report in words, newest first: the data table behind the chart."""
    rows = []
    for report in reversed(history.reports):
        items = []
        for item in report.symptoms if isinstance(report.symptoms, list) else []:
            code, grade = item.get("code"), item.get("grade")
            if isinstance(code, str) and isinstance(grade, int) and grade:
                items.append((_label(history.labels, rules, code), _grade_text(rules, code, grade)))
        pressure = ""
        if report.systolic_bp is not None and report.diastolic_bp is not None:
            pressure = f"{report.systolic_bp}/{report.diastolic_bp}"
        rows.append(
            ReportRow(
                report=report,
                when=report.reported_at.astimezone(zone),
                level=report.triage_level,
                items=items,
                temperature=report.temperature_c,
                blood_pressure=pressure,
            )
        )
    return rows
