"""Server-rendered SVG bar charts of the advice-line metrics (/nurse/metrics/).

Pure, like charts.py (whose drawing helpers and colours they share): plain values in, SVG
text out, no JavaScript and no inline style. Each bar carries its figure as text at its end
(colour is never the only cue) and each chart has a <title> and a <desc> in words; the page
shows the same figures as a table under each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .charts import AMBER, BLUE, GREEN, GRID, INK, LEFT, MUTED, RED, RIGHT, WIDTH, Chart
from .charts import _short as short
from .charts import _svg as svg
from .charts import _text as text

COLOURS = {"red": RED, "amber": AMBER, "green": GREEN, "": BLUE, "muted": MUTED}
BAR = 18
GAP = 10
TOP = 34
BOTTOM = 30
LABEL_ROOM = 90  # right of the longest bar, for its figure


@dataclass(frozen=True)
class Segment:
    value: float
    colour: str = ""  # a key of COLOURS


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    figure: str  # the words at the bar's end ("12 min", "75.0%", "4")

    @property
    def total(self) -> float:
        return sum(s.value for s in self.segments)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    scale_max: float | None = None,
    legend: Sequence[tuple[str, str]] = (),
    mark: tuple[float, str] | None = None,
) -> Chart:
    """Horizontal bars, one row each, segments stacked left to right. `mark` draws a dashed
    line at a value (a target) with its label; `legend` is (colour key, words)."""
    top = TOP if legend else 14
    height = top + (BAR + GAP) * max(len(bars), 1) + BOTTOM
    plot_right = WIDTH - RIGHT - LABEL_ROOM
    biggest = max([b.total for b in bars] + [scale_max or 0, 0])
    span = biggest or 1.0

    def x(value: float) -> float:
        return round(LEFT + (plot_right - LEFT) * min(value, span) / span, 1)

    body = [
        f'<line x1="{LEFT}" y1="{top - 4}" x2="{LEFT}" y2="{height - BOTTOM + 4}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    ]
    for tick in (0.25, 0.5, 0.75, 1.0):
        tx = x(span * tick)
        body.append(
            f'<line x1="{tx}" y1="{top - 4}" x2="{tx}" y2="{height - BOTTOM + 4}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(
            text(tx, height - BOTTOM + 20, _tick(span * tick), size=11, anchor="middle", fill=MUTED)
        )
    for index, bar in enumerate(bars):
        y = top + index * (BAR + GAP)
        body.append(text(LEFT - 10, y + BAR - 4, short(bar.label, 28), anchor="end"))
        start = 0.0
        for segment in bar.segments:
            if segment.value <= 0:
                continue
            x0, x1 = x(start), x(start + segment.value)
            body.append(
                f'<rect x="{x0}" y="{y}" width="{max(round(x1 - x0, 1), 1)}" height="{BAR}" '
                f'fill="{COLOURS.get(segment.colour, BLUE)}" stroke="#ffffff" stroke-width="1"/>'
            )
            start += segment.value
        body.append(text(x(start) + 6, y + BAR - 4, bar.figure, fill=INK, weight="bold"))
    if mark is not None:
        value, words = mark
        mx = x(value)
        body.append(
            f'<line x1="{mx}" y1="{top - 8}" x2="{mx}" y2="{height - BOTTOM + 4}" '
            f'stroke="{INK}" stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
        body.append(text(mx, top - 10, words, size=11, anchor="middle", fill=INK))
    lx = LEFT
    for colour, words in legend:
        body.append(
            f'<rect x="{lx}" y="6" width="12" height="12" fill="{COLOURS.get(colour, BLUE)}"/>'
        )
        body.append(text(lx + 17, 16, words, size=12))
        lx += 30 + 7 * len(words)
    return Chart(svg(chart_id, height, title, description, body), title, description)


def _tick(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
