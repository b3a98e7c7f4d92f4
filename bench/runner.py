"""Runs the eight benchmarks, prints one table and writes it to docs/benchmarks.md.

    make bench                          # all eight at full scale (10,000 patients)
    make bench BENCH_ARGS="--only 1,5"  # some of them
    make bench BENCH_ARGS="--quick"     # 1,000 patients, fewer repetitions (a try-out)

Full scale: sweep at 1,000 and 10,000 patients, 10,000 x 14 days of generation, 100,000
alerts in the nurse queue, the dose-logging API under gunicorn and 200 symptom reports
through Redis and a Celery worker, and FHIR $everything for a year of one patient's
treatment (`--only 6` runs that alone), and the check-in sweep at 1,000 and 10,000
patients (`--only 7`), and the 08:00 peak (`--only 8`: 10,000 patients, bench/peak.py).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .harness import Results, render_markdown, render_text

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


@dataclass
class Scale:
    patients: int = 10_000
    sweep_small: int = 1_000
    sweep_reps: int = 5
    generation_reps: int = 2
    alerts: int = 100_000
    open_alerts: int = 1_000
    queue_reps: int = 30
    api_requests: int = 3_000
    api_seconds: float = 20.0
    api_threads: int = 8
    api_rounds: int = 2  # baseline and product alternately, this many times each
    api_warmup: bool = True
    reports: int = 200
    reports_per_second: float = 10.0
    memory: bool = True
    fhir_reps: int = 20
    # 8. 08:00 peak: patients with a dose due at once; the logging window (15 min / 10);
    # how long to wait for the reminders of each round at most.
    peak_patients: int = 10_000
    peak_window_seconds: float = 90.0
    peak_wait_seconds: float = 150.0
    peak_repeat_wait_seconds: float = 75.0


FULL = Scale()
QUICK = Scale(
    patients=1_000,
    sweep_small=100,
    sweep_reps=3,
    generation_reps=2,
    alerts=10_000,
    open_alerts=100,
    queue_reps=10,
    api_requests=600,
    api_seconds=8.0,
    reports=40,
    reports_per_second=20.0,
    fhir_reps=10,
    peak_patients=300,
    peak_window_seconds=30.0,
    peak_wait_seconds=60.0,
    peak_repeat_wait_seconds=60.0,
)
TINY = Scale(
    patients=20,
    sweep_small=10,
    sweep_reps=1,
    generation_reps=1,
    alerts=200,
    open_alerts=20,
    queue_reps=2,
    api_requests=20,
    api_seconds=10.0,
    api_threads=2,
    api_rounds=1,
    api_warmup=False,
    reports=3,
    reports_per_second=20.0,
    memory=False,
    fhir_reps=1,
    peak_patients=10,
    peak_window_seconds=4.0,
    peak_wait_seconds=60.0,
    peak_repeat_wait_seconds=60.0,
)


def run_benchmarks(scale: Scale, only: set[int], results: Results, *, http: bool = True) -> None:
    """Run the chosen benchmarks on the current database (the bench's own, or a test
    database for the smoke test)."""
    from . import check_ins, fhir_everything, generation, nurse_queue, sweep

    def timed(number: int, label: str, fn) -> None:
        if number not in only:
            return
        started = time.perf_counter()
        print(f"[bench] {label} ...", flush=True)
        fn()
        results.timings[label] = time.perf_counter() - started
        print(f"[bench] {label}: {results.timings[label]:.1f} s", flush=True)

    timed(
        5,
        "5. expected-dose generation",
        lambda: generation.run(results, patients=scale.patients, reps=scale.generation_reps),
    )
    timed(
        1,
        "1. missed-dose sweep",
        lambda: sweep.run(
            results,
            scales=(scale.sweep_small, scale.patients),
            reps=scale.sweep_reps,
            memory=scale.memory,
        ),
    )
    timed(
        3,
        "3. nurse queue",
        lambda: nurse_queue.run(
            results,
            patients=scale.patients,
            alerts=scale.alerts,
            open_alerts=scale.open_alerts,
            reps=scale.queue_reps,
        ),
    )
    timed(6, "6. FHIR $everything", lambda: fhir_everything.run(results, reps=scale.fhir_reps))
    timed(
        7,
        "7. check-in sweep",
        lambda: check_ins.run(
            results, scales=(scale.sweep_small, scale.patients), reps=scale.sweep_reps
        ),
    )
    if http and (2 in only or 4 in only):
        from . import http_benches

        http_benches.run(results, scale=scale, only=only)
    if http and 8 in only:
        from . import peak

        timed(8, "8. 08:00 peak", lambda: peak.run(results, scale=scale))


def write_doc(results: Results, facts: dict[str, str], total_seconds: float, args: str) -> None:
    lines = [
        START,
        "",
        f"Latest run: `make bench{(' BENCH_ARGS=' + repr(args)) if args else ''}` "
        f"({total_seconds / 60:.1f} minutes in all).",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts.items()],
        "",
        render_markdown(results.rows),
        "",
        "Ratio = product / baseline (for times: how many times slower than the baseline; "
        "for rates: the share of the baseline's rate reached).",
        "",
        "Notes from the run:",
        "",
        *[f"- {n}" for n in results.notes],
        "",
        "Time per benchmark: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in results.timings.items())
        + ".",
        "",
        END,
    ]
    block = "\n".join(lines)
    if DOC.exists():
        text = DOC.read_text()
        if START in text and END in text:
            text = re.sub(
                re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S
            )
        else:
            text = text.rstrip() + "\n\n## Latest figures\n\n" + block + "\n"
    else:
        text = "# Benchmarks\n\n## Latest figures\n\n" + block + "\n"
    DOC.write_text(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 patients, fewer repetitions")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="benchmark numbers, e.g. 1,5")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    only = {int(x) for x in args.only.split(",") if x.strip()}
    scale = QUICK if args.quick else FULL

    from . import env

    started = time.perf_counter()
    env.recreate_database(os.environ["DATABASE_URL"])
    try:
        env.flush_redis(os.environ["REDIS_URL"])
    except Exception as exc:  # noqa: BLE001 - benchmark 4 reports Redis missing itself
        print(f"[bench] Redis not flushed: {exc}")

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    facts = env.machine_facts()
    print("[bench] machine: " + "; ".join(f"{k}: {v}" for k, v in facts.items()), flush=True)

    results = Results()
    run_benchmarks(scale, only, results)
    total = time.perf_counter() - started
    facts["load average at end (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())

    print()
    print(render_text(results.rows))
    print()
    for note in results.notes:
        print(f"  - {note}")
    print(f"\n[bench] total {total / 60:.1f} minutes")
    if not args.no_docs:
        write_doc(results, facts, total, " ".join(argv))
        print(f"[bench] wrote {DOC}")
    return 0
