"""Timing, counting and reporting helpers shared by every benchmark.

Nothing here knows about the product: a benchmark produces `Row`s (a figure, its baseline
and their ratio) that the runner prints as one table and writes to docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext


class Rollback(Exception):
    """Raised inside transaction.atomic() to undo what a timed run wrote."""


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    metric: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    # "lower" when smaller is better (time), "higher" when larger is better (rate).
    better: str = "lower"
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Product cost over baseline cost: >1 means the product is that many times slower
        (for times) or reaches that fraction of the baseline's rate (for rates)."""
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a p95 is a latency someone really saw)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@contextmanager
def stopwatch():
    """`with stopwatch() as t: ...; t()` -> seconds elapsed (perf_counter)."""
    start = time.perf_counter()
    end: list[float] = []

    def elapsed() -> float:
        return (end[0] if end else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end.append(time.perf_counter())


def timed_rollback(fn: Callable[[], Any]) -> tuple[float, Any, int]:
    """Run fn inside a transaction that is rolled back afterwards, so the data is the same
    for the next run. Returns (seconds, fn's result, number of SQL queries)."""
    result: list[Any] = []
    gc.collect()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        try:
            with transaction.atomic():
                result.append(fn())
                # Deferred constraints are checked here, inside the timed part, as a
                # commit would check them.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                elapsed = time.perf_counter() - start
                raise Rollback
        except Rollback:
            pass
    # The SET CONSTRAINTS statement is the harness's, not the code under test's.
    return elapsed, result[0], len(queries) - 1


def peak_memory_rollback(fn: Callable[[], Any]) -> int:
    """tracemalloc peak (bytes) of fn, run inside a rolled-back transaction. A separate,
    untimed run: tracing allocations slows Python code down several times."""
    gc.collect()
    tracemalloc.start()
    try:
        with transaction.atomic():
            fn()
            raise Rollback
    except Rollback:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def vacuum(*tables: str) -> None:
    """Clean out the dead rows a rolled-back run left, so repetitions start alike."""
    if connection.in_atomic_block:
        return  # inside a test transaction: VACUUM is not allowed and not needed
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "s":
        if value < 0.01:
            return f"{value * 1000:.2f} ms"
        if value < 1:
            return f"{value * 1000:.0f} ms"
        return f"{value:.2f} s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit in ("req/s", "rows/s"):
        return f"{value:,.0f} {unit}"
    if unit == "queries":
        return f"{value:.0f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}{(' ' + unit) if unit else ''}"
    return f"{value:,.0f}{(' ' + unit) if unit else ''}"


def table(rows: list[Row]) -> list[list[str]]:
    out = [["benchmark", "measure", "product", "baseline", "ratio", "target", "met"]]
    for row in rows:
        ratio = row.ratio
        out.append(
            [
                row.bench,
                row.metric,
                fmt(row.value, row.unit),
                (
                    fmt(row.baseline, row.unit)
                    + (f" ({row.baseline_label})" if row.baseline_label else "")
                )
                if row.baseline is not None
                else "",
                f"{ratio:.2f}" if ratio is not None else "",
                row.target,
                {True: "yes", False: "NO", None: ""}[row.met],
            ]
        )
    return out


def render_text(rows: list[Row]) -> str:
    cells = table(rows)
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: list[Row]) -> str:
    cells = table(rows)
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    for r in cells[1:]:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)
