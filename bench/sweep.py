"""Benchmark 1: the missed-dose sweep against one hand-written UPDATE.

Data: N patients on the oral drugs, 8 days of logged history (85% taken, 3% skipped), the
day before with 12% of doses still pending after their late window closed (the sweep's
work, ~1,800 doses at 10,000 patients), 14 days of pending doses ahead (they sit in the
same partial index the sweep reads), and open green missed-dose alerts on 5% of
prescriptions (so the sweep both raises and updates alerts). The sweep runs at 06:00 local.

Each repetition runs inside a transaction that is rolled back, the baseline and the
product alternately on the same data; VACUUM between runs clears the dead rows.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from . import data, product
from .harness import Results, Row, median, peak_memory_rollback, timed_rollback, vacuum

BASELINE_SQL = (
    "UPDATE medications_expecteddose SET state = 'missed', state_changed_at = %s "
    "WHERE state = 'pending' AND late_until <= %s"
)


def _baseline(now):
    def run() -> int:
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [now, now])
            return cursor.rowcount

    return run


def _product(sweep, now):
    def run():
        return product.call_with_now(sweep, now)

    return run


def _check(sweep, now) -> tuple[int, int]:
    """One untimed run: (pending doses with a closed window left, alerts open after)."""
    from notifications.models import Alert

    left = opened = 0

    def run():
        nonlocal left, opened
        product.call_with_now(sweep, now)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM medications_expecteddose "
                "WHERE state = 'pending' AND late_until <= %s",
                [now],
            )
            left = cursor.fetchone()[0]
        opened = Alert.objects.filter(kind="missed_dose", status="open").count()

    timed_rollback(run)
    return left, opened


def prepare(*, patients: int, tag: str, seed: int = 1):
    now = data.sweep_moment(timezone.now().astimezone(data.ZONE).date())
    data.truncate_all()
    population = data.build_population(
        patients=patients,
        teams=max(1, patients // 1000),
        now=now,
        tag=tag,
        seed=seed,
        generated_until=now + timedelta(days=14),
    )
    history = data.build_dose_history(population, now=now)
    alerts = data.build_missed_dose_alerts(population, now=now)
    vacuum("medications_expecteddose", "medications_doselog", "notifications_alert")
    return now, population, history, alerts


def run(results: Results, *, scales: tuple[int, int], reps: int, memory: bool = True) -> None:
    bench = "1. missed-dose sweep"
    sweep = product.missed_dose_sweep()
    small, large = scales
    queries_by_scale: dict[int, int] = {}
    for patients in (small, large):
        now, population, history, alerts = prepare(patients=patients, tag=f"sweep{patients}")
        results.note(
            f"sweep data at {patients:,} patients: {history.doses:,} expected doses, "
            f"{history.logs:,} dose logs, {history.pending_closed:,} doses to mark missed, "
            f"{alerts:,} open missed-dose alerts beforehand"
        )
        base_times, prod_times, prod_queries = [], [], []
        base_count = None
        for _ in range(reps if patients == large else 1):
            seconds, base_count, _ = timed_rollback(_baseline(now))
            base_times.append(seconds)
            vacuum("medications_expecteddose")
            if sweep is not None:
                seconds, _result, queries = timed_rollback(_product(sweep, now))
                prod_times.append(seconds)
                prod_queries.append(queries)
                vacuum("medications_expecteddose", "notifications_alert")
        if base_count != history.pending_closed:
            results.note(
                f"WARNING: baseline marked {base_count} doses, expected {history.pending_closed}"
            )
        if sweep is None:
            results.add(
                Row(
                    bench,
                    f"time, {patients:,} patients",
                    None,
                    "s",
                    median(base_times),
                    "SQL UPDATE",
                    note="sweep not implemented yet",
                )
            )
            continue
        queries_by_scale[patients] = max(prod_queries)
        if patients == large:
            ratio = median(prod_times) / median(base_times)
            results.add(
                Row(
                    bench,
                    f"time to mark {history.pending_closed:,} missed, {patients:,} patients",
                    median(prod_times),
                    "s",
                    median(base_times),
                    "one SQL UPDATE",
                    target="ratio <= 3",
                    met=ratio <= 3,
                    note=f"median of {reps}",
                )
            )
            left, opened = _check(sweep, now)
            if left:
                results.note(f"WARNING: the sweep left {left} pending doses with a closed window")
            results.note(
                f"after the sweep at {patients:,} patients: {opened:,} open missed-dose alerts "
                f"(before: {alerts:,})"
            )
            if memory:
                peak = peak_memory_rollback(_product(sweep, now))
                vacuum("medications_expecteddose", "notifications_alert")
                results.add(
                    Row(
                        bench,
                        "peak Python memory (tracemalloc)",
                        peak / 2**20,
                        "MiB",
                        note=f"{patients:,} patients",
                    )
                )
    if sweep is not None and len(queries_by_scale) == 2:
        q_small, q_large = queries_by_scale[small], queries_by_scale[large]
        results.add(
            Row(
                bench,
                f"SQL queries, {large:,} patients (baseline: {small:,})",
                q_large,
                "queries",
                q_small,
                f"{small:,} patients",
                target="same at both scales",
                met=q_large <= q_small,
            )
        )
