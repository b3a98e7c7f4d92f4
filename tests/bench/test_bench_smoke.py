"""The benchmark harness works: every benchmark runs end to end at a tiny scale (20
patients) on the test database. Speed is not measured here; `make bench` does that."""

import pytest

from bench.harness import Results, percentile, render_markdown, render_text
from bench.runner import TINY, run_benchmarks

# The harness uses COPY, generate_series and committed data (servers read it): the
# PostgreSQL pass only.
committed_postgres = pytest.mark.django_db(transaction=True)


def _rows(results: Results, bench: str) -> dict[str, object]:
    return {row.metric: row for row in results.rows if row.bench.startswith(bench)}


def test_percentile_is_nearest_rank():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50) == 5
    assert percentile([3.0], 95) == 3.0


@pytest.mark.postgres
@committed_postgres
def test_in_process_benchmarks_run_at_tiny_scale():
    results = Results()
    run_benchmarks(TINY, {1, 3, 5, 6, 7}, results, http=False)

    generation = _rows(results, "5.")
    assert generation, results.rows
    timed = next(row for metric, row in generation.items() if metric.startswith("time"))
    assert timed.baseline > 0
    # The product and the SQL baseline wrote the same doses.
    assert any("are identical" in note for note in results.notes), results.notes

    sweep = _rows(results, "1.")
    assert any(row.baseline and row.baseline > 0 for row in sweep.values())
    assert any("doses to mark missed" in note for note in results.notes)
    assert not any(note.startswith("WARNING") for note in results.notes), results.notes

    fhir = _rows(results, "6.")
    queries = fhir["SQL queries, a year"]
    assert queries.value == queries.baseline > 0 and queries.met, results.rows
    assert any("$everything for a year" in note for note in results.notes), results.notes

    check_ins = _rows(results, "7.")
    assert any(row.baseline and row.baseline > 0 for row in check_ins.values()), results.rows
    assert any("check-in sweep at" in note for note in results.notes), results.notes

    table = render_text(results.rows)
    assert "missed-dose sweep" in table and "expected-dose generation" in table
    assert render_markdown(results.rows).count("\n") == len(results.rows) + 1


@pytest.mark.postgres
@committed_postgres
@pytest.mark.redis
@pytest.mark.slow
def test_http_benchmarks_run_at_tiny_scale():
    results = Results()
    run_benchmarks(TINY, {2, 4}, results)

    logging = _rows(results, "2.")
    rate = logging["requests per second"]
    assert rate.value > 0 and rate.baseline > 0
    assert any("doses now taken" in note for note in results.notes), results.notes
    assert not any("errors" in note for note in results.notes), results.notes
    assert _rows(results, "4."), results.rows


@pytest.mark.postgres
@committed_postgres
@pytest.mark.redis
@pytest.mark.slow
def test_peak_benchmark_runs_at_tiny_scale():
    """10 patients: every first reminder is handled (sent, or cancelled because the dose was
    logged first), each push arrives once, and the 08:30 repeat reaches exactly those who
    did not log."""
    results = Results()
    run_benchmarks(TINY, {8}, results)

    peak = _rows(results, "8.")
    assert "handled" in peak["due -> last first reminder received"].note
    assert peak["due -> last first reminder received"].note.startswith("10/10 handled"), peak
    assert peak["pushes received (once each)"].met, results.notes
    assert peak["pushes received (once each)"].value > 0
    repeats = peak["08:30 repeats sent"]
    assert repeats.met and repeats.baseline == 3, results.notes  # 30% of 10 did not log
    assert peak["errors"].value == 0, results.notes
    assert peak["dose log p95 under the peak"].value > 0
    assert any("08:00 peak: 10 patients" in note for note in results.notes), results.notes
