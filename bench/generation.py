"""Benchmark 5: expected-dose generation for N patients x 14 days, against one
INSERT ... SELECT generate_series that writes the same rows.

Data: N prescriptions recorded at `now` starting today, nothing generated yet. The
product is medications.services.expected_doses_generate (the hourly job's service); the
baseline computes the same due times and late windows in SQL (time zones, cycles and all)
and inserts them in one statement. Both run in a rolled-back transaction, alternately.
A check run compares the two row sets.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from . import data, product
from .harness import Results, Row, median, timed_rollback, vacuum

BASELINE_SQL = """
INSERT INTO medications_expecteddose
    (prescription_id, patient_id, due_at, late_until, dose_mg, state, skip_reason)
SELECT p.id, p.patient_id, x.due,
       CASE WHEN d.late_window_rule = 'same_day'
            THEN ((day::date + 1)::timestamp AT TIME ZONE pt.timezone)
            ELSE x.due + d.late_window_hours * interval '1 hour' END,
       p.dose_mg, 'pending', ''
FROM medications_prescription p
JOIN medications_drug d ON d.id = p.drug_id
JOIN patients_patient pt ON pt.id = p.patient_id
CROSS JOIN LATERAL generate_series(
    p.start_date, (%(until)s::timestamptz AT TIME ZONE pt.timezone)::date, interval '1 day'
) AS day
CROSS JOIN LATERAL jsonb_array_elements_text(p.times) AS t(hhmm)
CROSS JOIN LATERAL (SELECT (day::date + hhmm::time) AT TIME ZONE pt.timezone AS due) AS x
WHERE p.status <> 'stopped' AND d.route = 'oral' AND p.generated_until IS NULL
  AND x.due >= p.recorded_at AND x.due < %(until)s
  AND (p.cycle_days_on IS NULL OR COALESCE(p.cycle_days_off, 0) = 0
       OR (day::date - p.start_date) %% (p.cycle_days_on + p.cycle_days_off) < p.cycle_days_on)
ON CONFLICT DO NOTHING
"""


def _baseline(until):
    def run() -> int:
        with connection.cursor() as cursor:
            # The planner over-estimates the LATERAL rows a hundredfold and JIT-compiles the
            # statement (~0.4 s); hand-written SQL would switch that off, so the baseline does.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(BASELINE_SQL, {"until": until})
            inserted = cursor.rowcount
            cursor.execute(
                "UPDATE medications_prescription SET generated_until = %s "
                "WHERE generated_until IS NULL",
                [until],
            )
        return inserted

    return run


def _product(generate, now):
    def run():
        product.call_with_now(generate, now)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM medications_expecteddose")
            return cursor.fetchone()[0]

    return run


def _differences(generate, now, until) -> int:
    """Rows the product wrote that the SQL would not, plus the reverse (0 = identical)."""
    diff = 0

    def run():
        nonlocal diff
        product.call_with_now(generate, now)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE bench_generated ON COMMIT DROP AS "
                "SELECT prescription_id, due_at, late_until, dose_mg, state "
                "FROM medications_expecteddose"
            )
            cursor.execute("DELETE FROM medications_expecteddose")
            cursor.execute("UPDATE medications_prescription SET generated_until = NULL")
            cursor.execute(BASELINE_SQL, {"until": until})
            cursor.execute(
                "SELECT count(*) FROM ("
                "(SELECT prescription_id, due_at, late_until, dose_mg, state FROM bench_generated"
                " EXCEPT SELECT prescription_id, due_at, late_until, dose_mg, state"
                " FROM medications_expecteddose) UNION ALL "
                "(SELECT prescription_id, due_at, late_until, dose_mg, state"
                " FROM medications_expecteddose EXCEPT SELECT prescription_id, due_at,"
                " late_until, dose_mg, state FROM bench_generated)) AS d"
            )
            diff = cursor.fetchone()[0]
            cursor.execute("DROP TABLE bench_generated")

    timed_rollback(run)
    return diff


def run(results: Results, *, patients: int, reps: int) -> None:
    bench = "5. expected-dose generation"
    generate = product.expected_doses_generate()
    now = timezone.now().replace(microsecond=0)
    from medications.services import HORIZON

    until = now + HORIZON
    data.truncate_all()
    data.build_population(
        patients=patients, teams=max(1, patients // 1000), now=now, tag="gen", recorded_now=True
    )
    vacuum("medications_prescription")
    base_times, prod_times, queries = [], [], []
    base_rows = prod_rows = 0
    for _ in range(reps):
        seconds, base_rows, _ = timed_rollback(_baseline(until))
        base_times.append(seconds)
        vacuum("medications_expecteddose", "medications_prescription")
        if generate is not None:
            seconds, prod_rows, q = timed_rollback(_product(generate, now))
            prod_times.append(seconds)
            queries.append(q)
            vacuum("medications_expecteddose", "medications_prescription")
    if generate is None:
        results.add(Row(bench, "time", None, "s", median(base_times), "INSERT ... SELECT"))
        return
    ratio = median(prod_times) / median(base_times)
    results.add(
        Row(
            bench,
            f"time, {patients:,} patients x 14 days ({prod_rows:,} doses)",
            median(prod_times),
            "s",
            median(base_times),
            "INSERT ... SELECT",
            note=f"median of {reps}; ratio {ratio:.1f}",
        )
    )
    results.add(
        Row(
            bench,
            "rows per second",
            prod_rows / median(prod_times),
            "rows/s",
            base_rows / median(base_times),
            "INSERT ... SELECT",
            better="higher",
        )
    )
    results.add(Row(bench, "SQL queries", max(queries), "queries", note=f"{patients:,} patients"))
    if base_rows != prod_rows:
        results.note(f"generation: the product wrote {prod_rows:,} rows, the SQL {base_rows:,}")
    diff = _differences(generate, now, until)
    vacuum("medications_expecteddose", "medications_prescription")
    results.note(
        f"generation: product and SQL baseline row sets "
        f"{'are identical' if diff == 0 else f'differ by {diff:,} rows'} "
        f"({prod_rows:,} doses for {patients:,} patients)"
    )
