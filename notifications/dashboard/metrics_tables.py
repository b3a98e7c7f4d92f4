"""The metrics page's tables, charts and CSV, all built from one list of tables so the CSV
download says exactly what the page says (a row per table cell: table, row, column, the
words on the page, and the plain number behind them: a count, minutes or a percentage)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

from ..models import AlertKind, AlertLevel, AlertOutcome
from .charts import Chart
from .metrics import CHECK_IN_TARGET, LEVELS, TARGET_WORDS, Metrics, Spread, share
from .metrics_charts import Bar, Segment, bar_chart

NO_DATA = "No data"
LEVEL_WORDS = dict(AlertLevel.choices)
CSV_HEADER = ("Table", "Row", "Column", "Value", "Number")


@dataclass(frozen=True)
class Cell:
    text: str
    number: str  # plain figure for the CSV ("" when there is none)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    explanation: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]
    chart: Chart | None = None


def count(value: int) -> Cell:
    return Cell(str(value), str(value))


def percent(value: float | None) -> Cell:
    if value is None:
        return Cell(NO_DATA, "")
    return Cell(f"{value:.1f}%", f"{value:.1f}")


def duration(minutes: float | None) -> Cell:
    if minutes is None:
        return Cell(NO_DATA, "")
    return Cell(duration_words(minutes), f"{minutes:.1f}")


def duration_words(minutes: float) -> str:
    whole = math.floor(minutes + 0.5)  # half a minute up, as people round
    if whole < 60:
        return f"{whole} min"
    hours, mins = divmod(whole, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _alerts_table(m: Metrics) -> Table:
    rows = []
    for kind, label in AlertKind.choices:
        cells = [count(m.by_kind_level.get((kind, level), 0)) for level in LEVELS]
        rows.append((label, (*cells, count(m.by_kind.get(kind, 0)))))
    rows.append(("All kinds", (*[count(m.by_level[level]) for level in LEVELS], count(m.total))))
    bars = [
        Bar(
            label,
            tuple(Segment(m.by_kind_level.get((kind, lv), 0), lv) for lv in LEVELS),
            str(m.by_kind.get(kind, 0)),
        )
        for kind, label in AlertKind.choices
    ]
    desc = f"{m.total} alerts raised: " + ", ".join(
        f"{m.by_level[level]} {LEVEL_WORDS[level].lower()}" for level in LEVELS
    )
    chart = bar_chart(
        chart_id="chart-alerts",
        title="Alerts by kind and level",
        description=desc + ".",
        bars=bars,
        legend=[(level, LEVEL_WORDS[level]) for level in LEVELS],
    )
    return Table(
        "alerts",
        "Alerts by kind and level",
        "Alerts raised in the period, by what raised them and their level now.",
        (*[LEVEL_WORDS[level] for level in LEVELS], "All levels"),
        tuple(rows),
        chart,
    )


def _spread_table(key: str, title: str, done: str, explanation: str, spreads) -> Table:
    rows = []
    bars = []
    words = []
    for level in LEVELS:
        s: Spread = spreads[level]
        rows.append((LEVEL_WORDS[level], (count(s.count), duration(s.median), duration(s.p90))))
        for name, value in (("median", s.median), ("90th percentile", s.p90)):
            figure = NO_DATA if value is None else duration_words(value)
            bars.append(Bar(f"{LEVEL_WORDS[level]} {name}", (Segment(value or 0, level),), figure))
            words.append(f"{LEVEL_WORDS[level].lower()} {name} {figure}")
    chart = bar_chart(
        chart_id=f"chart-{key}",
        title=f"{title} (minutes)",
        description=f"{title} by level: " + "; ".join(words) + ".",
        bars=bars,
    )
    return Table(key, title, explanation, (done, "Median", "90th percentile"), tuple(rows), chart)


def _targets_table(m: Metrics) -> Table:
    rows, bars = [], []
    for level, within in TARGET_WORDS.items():
        target = m.targets[level]
        label = f"{LEVEL_WORDS[level]} (within {within})"
        cell = percent(target.share)
        rows.append((label, (count(target.due), count(target.within), cell)))
        bars.append(Bar(label, (Segment(target.share or 0, level),), cell.text))
    chart = bar_chart(
        chart_id="chart-targets",
        title="Share acknowledged within target (%)",
        description="; ".join(
            f"{label}: {bar.figure}" for label, bar in zip([r[0] for r in rows], bars, strict=True)
        )
        + ".",
        bars=bars,
        scale_max=100,
    )
    return Table(
        "targets",
        "Acknowledged within target",
        "Red alerts must be acknowledged within 30 minutes, amber within 4 hours of reaching "
        "that level. Alerts still inside their deadline are not counted yet.",
        ("Alerts due", "Within target", "Share"),
        tuple(rows),
        chart,
    )


def _escalations_table(m: Metrics) -> Table:
    rows, bars = [], []
    for level in (AlertLevel.RED, AlertLevel.AMBER):
        escalated = m.escalated[level]
        rows.append(
            (LEVEL_WORDS[level], (count(escalated), percent(share(escalated, m.by_level[level]))))
        )
        bars.append(Bar(LEVEL_WORDS[level], (Segment(escalated, level),), str(escalated)))
    total = sum(m.escalated.values())
    rows.append(("All levels", (count(total), percent(share(total, m.total)))))
    chart = bar_chart(
        chart_id="chart-escalations",
        title="Escalations",
        description=f"{total} alerts escalated to the on-call channel: "
        + ", ".join(f"{b.figure} {b.label.lower()}" for b in bars)
        + ".",
        bars=bars,
    )
    return Table(
        "escalations",
        "Escalations",
        "Alerts not acknowledged by their deadline, sent on to the on-call channel.",
        ("Escalated", "Share of alerts"),
        tuple(rows),
        chart,
    )


def _outcomes_table(m: Metrics) -> Table:
    rows, bars = [], []
    for value, label in AlertOutcome.choices:
        n = m.outcomes.get(value, 0)
        rows.append((label, (count(n), percent(share(n, m.resolved)))))
        bars.append(Bar(label, (Segment(n),), str(n)))
    rows.append(("All resolved", (count(m.resolved), percent(share(m.resolved, m.resolved)))))
    chart = bar_chart(
        chart_id="chart-outcomes",
        title="Outcomes",
        description=f"{m.resolved} alerts resolved: "
        + ", ".join(f"{b.label} {b.figure}" for b in bars if b.figure != "0")
        + ".",
        bars=bars,
    )
    return Table(
        "outcomes",
        "Outcomes",
        "How the alerts raised in the period were resolved.",
        ("Alerts", "Share of resolved"),
        tuple(rows),
        chart,
    )


def _hours_table(m: Metrics) -> Table:
    parts = (
        ("Weekdays 08:00 to 18:00", m.weekday_day, ""),
        ("Weekdays 18:00 to 08:00", m.weekday_night, "amber"),
        ("Saturdays and Sundays", m.weekend, "red"),
    )
    rows = [(label, (count(n), percent(share(n, m.total)))) for label, n, _ in parts]
    ooh = percent(share(m.out_of_hours, m.total))
    rows.append(("Out of hours (evenings, nights, weekends)", (count(m.out_of_hours), ooh)))
    bars = [Bar(label, (Segment(n, colour),), str(n)) for label, n, colour in parts]
    chart = bar_chart(
        chart_id="chart-hours",
        title="When alerts were raised",
        description=f"{m.out_of_hours} of {m.total} alerts ({ooh.text}) were raised out of hours.",
        bars=bars,
    )
    return Table(
        "hours",
        "When alerts were raised",
        "Local time (Europe/London, summer time included). Out of hours: 18:00 to 08:00 on "
        "weekdays and all of Saturday and Sunday.",
        ("Alerts", "Share"),
        tuple(rows),
        chart,
    )


def _reports_table(m: Metrics) -> Table:
    per_100 = m.alerts_per_100_reports
    cell = Cell(NO_DATA, "") if per_100 is None else Cell(f"{per_100:.1f}", f"{per_100:.1f}")
    rows = (
        ("Symptom reports sent", (count(m.reports),)),
        ("Alerts from symptom reports", (count(m.report_alerts),)),
        ("Alerts per 100 reports", (cell,)),
    )
    chart = bar_chart(
        chart_id="chart-reports",
        title="Symptom reports and their alerts",
        description=f"{m.reports} symptom reports sent, {m.report_alerts} alerts raised from "
        f"them: {cell.text} per 100 reports.",
        bars=[
            Bar("Reports sent", (Segment(m.reports),), str(m.reports)),
            Bar("Alerts raised", (Segment(m.report_alerts, "amber"),), str(m.report_alerts)),
        ],
    )
    return Table(
        "reports",
        "Symptom reports",
        "Reports sent in the period by the teams' patients, and the alerts raised from them.",
        ("Figure",),
        rows,
        chart,
    )


def _check_ins_table(m: Metrics) -> Table:
    completion = percent(m.check_in_completion)
    rows = (
        ("Check-ins due", (count(m.check_ins_due),)),
        ("Completed", (count(m.check_ins_completed),)),
        ("Completion", (completion,)),
    )
    target = f"{CHECK_IN_TARGET:.0f}%"
    chart = bar_chart(
        chart_id="chart-check-ins",
        title="Check-in completion (%)",
        description=f"{m.check_ins_completed} of {m.check_ins_due} check-ins due were completed "
        f"({completion.text}); the target is {target} or more.",
        bars=[Bar("Completed", (Segment(m.check_in_completion or 0),), completion.text)],
        scale_max=100,
        mark=(CHECK_IN_TARGET, f"target {target}"),
    )
    return Table(
        "check-ins",
        "Check-in completion",
        "Scheduled check-ins that opened in the period and finished: completed by a report, or "
        f"missed. Paused ones were not asked; open ones are not counted yet. Target {target}.",
        ("Figure",),
        rows,
        chart,
    )


def metrics_tables(m: Metrics) -> list[Table]:
    return [
        _alerts_table(m),
        _targets_table(m),
        _spread_table(
            "acknowledge",
            "Time to acknowledge",
            "Acknowledged",
            "From the alert being raised to a nurse acknowledging it (or resolving it, if "
            "it was resolved without being acknowledged first).",
            m.acknowledge,
        ),
        _spread_table(
            "resolve",
            "Time to resolve",
            "Resolved",
            "From the alert being raised to a nurse resolving it.",
            m.resolve,
        ),
        _escalations_table(m),
        _outcomes_table(m),
        _hours_table(m),
        _reports_table(m),
        _check_ins_table(m),
    ]


def csv_rows(tables: list[Table]) -> list[tuple[str, str, str, str, str]]:
    return [
        (table.title, label, column, cell.text, cell.number)
        for table in tables
        for label, cells in table.rows
        for column, cell in zip(table.columns, cells, strict=True)
    ]


def metrics_csv(tables: list[Table], *, period_words: str, team_words: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("Advice-line metrics", team_words, period_words, "", ""))
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(tables))
    return out.getvalue()
