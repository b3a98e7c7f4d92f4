"""Server-rendered SVG charts of a patient's symptom reports for the nurse dashboard.

Pure: plain values in, SVG text out (no Django, no database). The charts need no
JavaScript and no inline style (a strict Content-Security-Policy allows them): colours are
SVG presentation attributes. Each chart carries a <title> and a <desc> that says in words
what it shows, and the page shows the same figures as a table for anyone who cannot see it.

Reference lines are the triage thresholds (../shared/clinical/triage.md, "Measurements"):
temperature red at 37.5 C or higher or below 36.0 C; blood pressure amber from 140/90, red
from 160/100 or a systolic below 90.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from html import escape

WIDTH = 720
LEFT = 200  # room for symptom names
RIGHT = 56
TOP = 28
BOTTOM = 34
ROW = 28
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"

INK = "#1b1b1b"
MUTED = "#4a4a4a"
GRID = "#d8dadb"
BLUE = "#005eb8"
RED = "#b00020"
AMBER = "#8a4b00"
AMBER_BG = "#fff3d6"
GREEN = "#00703c"
GREEN_BG = "#e3f4ea"

# Level -> (fill, stroke, text colour) of a marker; contrast >= 4.5:1 for the grade number.
MARKER = {
    "red": (RED, RED, "#ffffff"),
    "amber": (AMBER_BG, AMBER, AMBER),
    "green": (GREEN_BG, GREEN, GREEN),
    None: ("#ffffff", "#6f777b", MUTED),
}

TEMPERATURE_RED_AT_OR_ABOVE = Decimal("37.5")
TEMPERATURE_RED_BELOW = Decimal("36.0")
BP_AMBER_SYSTOLIC = 140
BP_RED_SYSTOLIC = 160
BP_RED_SYSTOLIC_BELOW = 90
BP_AMBER_DIASTOLIC = 90
BP_RED_DIASTOLIC = 100


@dataclass(frozen=True)
class Chart:
    svg: str  # safe to insert as-is
    title: str
    description: str


@dataclass(frozen=True)
class TimeAxis:
    since: datetime
    until: datetime
    zone: tzinfo

    def x(self, moment: datetime) -> float:
        span = (self.until - self.since).total_seconds() or 1.0
        share = (moment - self.since).total_seconds() / span
        share = min(max(share, 0.0), 1.0)
        return round(LEFT + share * (WIDTH - LEFT - RIGHT), 1)

    def ticks(self, every_days: int = 7) -> list[tuple[float, str]]:
        local_until = self.until.astimezone(self.zone)
        ticks = []
        day = local_until.replace(hour=0, minute=0, second=0, microsecond=0)
        while day >= self.since:
            ticks.append((self.x(day), _day(day)))
            day -= timedelta(days=every_days)
        return list(reversed(ticks))


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b}"


def _when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b} {local:%H:%M}"


def _text(x, y, content, *, size=12, anchor="start", fill=INK, weight="normal") -> str:
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}" font-family="{FONT}">{escape(str(content))}</text>'
    )


def _svg(chart_id: str, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="nd-chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _x_axis(axis: TimeAxis, y_top: float, y_bottom: float) -> list[str]:
    parts = []
    for x, label in axis.ticks():
        parts.append(
            f'<line x1="{x}" y1="{y_top}" x2="{x}" y2="{y_bottom}" stroke="{GRID}" '
            f'stroke-width="1"/>'
        )
        parts.append(_text(x, y_bottom + 18, label, anchor="middle", fill=MUTED))
    parts.append(
        f'<line x1="{LEFT}" y1="{y_bottom}" x2="{WIDTH - RIGHT}" y2="{y_bottom}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    return parts


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def symptom_grades_chart(
    *,
    chart_id: str,
    series: Mapping[str, Sequence[tuple[datetime, int | None]]],
    labels: Mapping[str, str],
    level_of: Callable[[str, int], str | None],
    red_flags: frozenset[str] | set[str] = frozenset(),
    axis: TimeAxis,
) -> Chart | None:
    """One row per symptom reported above grade 0; a marker per report, coloured by the
    level that grade has on its own and showing the grade number (so colour is never the
    only cue). Red-flag symptoms show "!"."""
    rows = []
    for code, points in series.items():
        graded = [(at, g) for at, g in points if isinstance(g, int)]
        if any(g > 0 for _, g in graded):
            worst = max(g for _, g in graded)
            rows.append((code, graded, worst))
    if not rows:
        return None
    rows.sort(key=lambda row: (-row[2], labels.get(row[0], row[0])))
    height = TOP + ROW * len(rows) + BOTTOM
    body = _x_axis(axis, TOP - 8, TOP + ROW * len(rows))
    highlights = []
    for index, (code, points, worst) in enumerate(rows):
        y = TOP + ROW * index + ROW / 2
        label = labels.get(code, code)
        body.append(_text(LEFT - 10, y + 4, _short(label), anchor="end"))
        body.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="{GRID}" '
            f'stroke-dasharray="2 4" stroke-width="1"/>'
        )
        for at, grade in points:
            level = level_of(code, grade) if grade > 0 else None
            fill, stroke, ink = MARKER.get(level, MARKER[None])
            x = axis.x(at)
            if grade == 0:
                body.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{GRID}" stroke="{MUTED}"/>')
                continue
            is_flag = code in red_flags
            body.append(
                f'<circle cx="{x}" cy="{y}" r="10" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="2"/>'
            )
            body.append(
                _text(
                    x,
                    y + 4,
                    "!" if is_flag else grade,
                    size=12,
                    anchor="middle",
                    fill=ink,
                    weight="bold",
                )
            )
        worst_at = max((p for p in points if p[1] == worst), key=lambda p: p[0])[0]
        highlights.append(
            f"{label}: highest grade {worst} on {_day(worst_at.astimezone(axis.zone))}"
        )
    title = "Symptom grades reported"
    desc = (
        f"{len(rows)} symptoms reported above grade 0 between "
        f"{_day(axis.since.astimezone(axis.zone))} and {_day(axis.until.astimezone(axis.zone))}. "
        + "; ".join(highlights)
        + "."
    )
    return Chart(_svg(chart_id, height, title, desc, body), title, desc)


def _scale(value: float, low: float, high: float, top: float, bottom: float) -> float:
    share = (value - low) / ((high - low) or 1.0)
    return round(bottom - share * (bottom - top), 1)


def _y_axis(ticks: Sequence[float], low, high, top, bottom, unit: str) -> list[str]:
    parts = []
    for tick in ticks:
        y = _scale(tick, low, high, top, bottom)
        parts.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="{GRID}" '
            f'stroke-width="1"/>'
        )
        parts.append(_text(LEFT - 8, y + 4, f"{tick:g}", anchor="end", fill=MUTED))
    parts.append(_text(LEFT - 8, top - 12, unit, anchor="end", fill=MUTED))
    return parts


def _threshold(
    value: float, low, high, top, bottom, colour: str, label: str, dash: str = "6 4"
) -> list[str]:
    y = _scale(value, low, high, top, bottom)
    return [
        f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="{colour}" '
        f'stroke-dasharray="{dash}" stroke-width="1.5"/>',
        _text(WIDTH - RIGHT + 4, y + 4, label, size=11, fill=colour),
    ]


def temperature_chart(
    *, chart_id: str, readings: Sequence[tuple[datetime, Decimal]], axis: TimeAxis
) -> Chart | None:
    if not readings:
        return None
    values = [float(v) for _, v in readings]
    low = min(35.0, min(values) - 0.5)
    high = max(39.5, max(values) + 0.5)
    top, bottom = TOP, TOP + 150
    body = _x_axis(axis, top, bottom)
    band_top = _scale(float(TEMPERATURE_RED_AT_OR_ABOVE), low, high, top, bottom)
    band_bottom = _scale(float(TEMPERATURE_RED_BELOW), low, high, top, bottom)
    body.append(
        f'<rect x="{LEFT}" y="{band_top}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{round(band_bottom - band_top, 1)}" fill="{GREEN_BG}"/>'
    )
    ticks = [t / 2 for t in range(int(low * 2), int(high * 2) + 1) if t % 2 == 0]
    body += _y_axis(ticks, low, high, top, bottom, "°C")
    body += _threshold(37.5, low, high, top, bottom, RED, "37.5")
    body += _threshold(36.0, low, high, top, bottom, RED, "36.0")
    points = [(axis.x(at), _scale(float(v), low, high, top, bottom), v) for at, v in readings]
    if len(points) > 1:
        path = " ".join(f"{x},{y}" for x, y, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
    red = 0
    for x, y, value in points:
        is_red = value >= TEMPERATURE_RED_AT_OR_ABOVE or value < TEMPERATURE_RED_BELOW
        red += is_red
        if is_red:
            body.append(
                f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12" fill="{RED}" '
                f'stroke="#ffffff" stroke-width="1.5"/>'
            )
        else:
            body.append(
                f'<circle cx="{x}" cy="{y}" r="5" fill="{BLUE}" stroke="#ffffff" '
                f'stroke-width="1.5"/>'
            )
    highest = max(readings, key=lambda r: r[1])
    latest = readings[-1]
    title = "Temperature"
    desc = (
        f"{len(readings)} readings. Latest {latest[1]} °C on {_when(latest[0], axis.zone)}; "
        f"highest {highest[1]} °C on {_when(highest[0], axis.zone)}. "
        f"{red} at red level (37.5 °C or higher, or below 36.0 °C; shown as red squares). "
        "The shaded band is 36.0 to 37.4 °C."
    )
    return Chart(_svg(chart_id, bottom + BOTTOM, title, desc, body), title, desc)


def blood_pressure_chart(
    *, chart_id: str, readings: Sequence[tuple[datetime, int, int]], axis: TimeAxis
) -> Chart | None:
    if not readings:
        return None
    low = min(60, min(d for _, _, d in readings) - 10)
    high = max(180, max(s for _, s, _ in readings) + 10)
    top, bottom = TOP, TOP + 170
    body = _x_axis(axis, top, bottom)
    ticks = [t for t in range(int(low // 20 * 20), int(high) + 1, 20) if t >= low]
    body += _y_axis(ticks, low, high, top, bottom, "mmHg")
    # Systolic thresholds dashed (the systolic line is solid); diastolic ones dotted (the
    # diastolic line is dashed). A systolic below 90 is red too: said in the description.
    body += _threshold(BP_RED_SYSTOLIC, low, high, top, bottom, RED, "160")
    body += _threshold(BP_AMBER_SYSTOLIC, low, high, top, bottom, AMBER, "140")
    body += _threshold(BP_RED_DIASTOLIC, low, high, top, bottom, RED, "100", dash="2 3")
    body += _threshold(BP_AMBER_DIASTOLIC, low, high, top, bottom, AMBER, "90", dash="2 3")
    systolic = [(axis.x(at), _scale(s, low, high, top, bottom)) for at, s, _ in readings]
    diastolic = [(axis.x(at), _scale(d, low, high, top, bottom)) for at, _, d in readings]
    if len(readings) > 1:
        body.append(
            '<polyline points="' + " ".join(f"{x},{y}" for x, y in systolic) + '" fill="none" '
            f'stroke="{INK}" stroke-width="2"/>'
        )
        body.append(
            '<polyline points="' + " ".join(f"{x},{y}" for x, y in diastolic) + '" fill="none" '
            f'stroke="{BLUE}" stroke-width="2" stroke-dasharray="5 3"/>'
        )
    for x, y in systolic:
        body.append(
            f'<circle cx="{x}" cy="{y}" r="5" fill="{INK}" stroke="#fff" stroke-width="1"/>'
        )
    for x, y in diastolic:
        body.append(
            f'<rect x="{x - 4.5}" y="{y - 4.5}" width="9" height="9" fill="{BLUE}" '
            f'stroke="#fff" stroke-width="1"/>'
        )
    # Legend, top left inside the plot.
    body.append(f'<circle cx="{LEFT + 12}" cy="{top - 14}" r="5" fill="{INK}"/>')
    body.append(_text(LEFT + 22, top - 10, "top (systolic)", size=12))
    body.append(f'<rect x="{LEFT + 128}" y="{top - 18.5}" width="9" height="9" fill="{BLUE}"/>')
    body.append(_text(LEFT + 143, top - 10, "bottom (diastolic)", size=12))
    highest = max(readings, key=lambda r: (r[1], r[2]))
    latest = readings[-1]
    raised = sum(
        1
        for _, s, d in readings
        if s >= BP_AMBER_SYSTOLIC or d >= BP_AMBER_DIASTOLIC or s < BP_RED_SYSTOLIC_BELOW
    )
    title = "Blood pressure"
    desc = (
        f"{len(readings)} readings. Latest {latest[1]}/{latest[2]} mmHg on "
        f"{_when(latest[0], axis.zone)}; highest {highest[1]}/{highest[2]} mmHg on "
        f"{_when(highest[0], axis.zone)}. {raised} at amber or red level (140/90 or above, "
        "or a top figure below 90). Lines mark 140 (amber) and 160 (red) for the top figure, "
        "90 (amber) and 100 (red) for the bottom figure."
    )
    return Chart(_svg(chart_id, bottom + BOTTOM, title, desc, body), title, desc)
