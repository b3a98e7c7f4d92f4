"""Benchmarks 2 and 4: real processes on loopback.

2. Dose logging: gunicorn (2 sync workers, as deployed: see Dockerfile) serves the product
   with DEBUG off and Redis as cache; a separate load-generator process (bench/loadgen.py,
   8 threads with keep-alive sessions) sends `POST /api/v1/doses/{id}/log/` for distinct
   patients' due doses, and, alternately, `POST /bench/constant/` (bench/urls.py: same
   middleware, token authentication, permission and throttling, constant answer).
3. Symptom report to alert: the same gunicorn, a Celery worker (2 processes) on Redis and
   a local webhook receiver; 200 red reports are posted at a steady rate and the time from
   each POST to its alert row, and to its delivery marked sent, is read from the rows'
   own timestamps (same machine clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import data, env, product
from .harness import Results, Row, median, percentile

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The database this process uses, as a URL the servers can use too (the smoke test
    runs on pytest's test database, whose name differs from settings)."""
    s = connection.settings_dict
    auth = quote(s.get("USER") or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def server_env(var_dir: str) -> dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO_", "CELERY_")) and k not in ("DEBUG",)
    }
    environ.update(
        DJANGO_ENV="development",
        DEBUG="0",
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url(),
        REDIS_URL=env.redis_url(),
        VAR_DIR=var_dir,
        PYTHONUNBUFFERED="1",
    )
    return environ


def _wait_http(url: str, seconds: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def gunicorn(var_dir: str, workers: int = 2):
    port = env.free_port()
    log = open(Path(var_dir) / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tracker.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env(var_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz/", 60, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()


@contextmanager
def celery_worker(var_dir: str, concurrency: int = 2):
    log_path = Path(var_dir) / "worker.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "--hostname",
            f"bench{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=server_env(var_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Celery worker did not start:\n" + log_path.read_text()[-2000:])
            time.sleep(0.2)
        yield log_path
    finally:
        _stop(proc)
        log.close()


class _Receiver(BaseHTTPRequestHandler):
    arrivals: list[float] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        _Receiver.arrivals.append(time.time())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@contextmanager
def webhook_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", env.free_port()), _Receiver)
    _Receiver.arrivals = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.arrivals
    finally:
        server.shutdown()
        server.server_close()


def _loadgen(spec: dict, var_dir: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=var_dir, delete=False) as f:
        json.dump(spec, f)
    out = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", f.name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=spec["max_seconds"] + 120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: " + out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- 2. dose logging ----------------------------------------------------------------------


def dose_logging(results: Results, *, base: str, scale, var_dir: str, population, keys, doses):
    bench = "2. dose logging API"
    users = [p.user_id for p in population.prescriptions]
    warm = users[-scale.api_threads * 4 :]
    measured = users[: len(users) - len(warm)]

    def spec(kind: str, chosen: list[int], seconds: float) -> dict:
        if kind == "baseline":
            reqs = [{"path": "/bench/constant/", "token": keys[u], "body": {}} for u in chosen]
        else:
            reqs = [
                {
                    "path": f"/api/v1/doses/{doses[u]}/log/",
                    "token": keys[u],
                    "body": {"action": "taken"},
                }
                for u in chosen
            ]
        return {
            "base": base,
            "threads": scale.api_threads,
            "max_seconds": seconds,
            "requests": reqs,
        }

    if scale.api_warmup:
        # Warm both code paths in both workers (imports, connections, URL resolver).
        _loadgen(spec("baseline", warm, 15), var_dir)
        _loadgen(spec("product", warm, 15), var_dir)

    size = len(measured) // scale.api_rounds
    rounds = [measured[n * size : (n + 1) * size] for n in range(scale.api_rounds)]
    seconds = scale.api_seconds / scale.api_rounds
    base_runs, prod_runs = [], []
    for chosen in rounds:
        base_runs.append(_loadgen(spec("baseline", chosen, seconds), var_dir))
        prod_runs.append(_loadgen(spec("product", chosen, seconds), var_dir))
    for run in base_runs + prod_runs:
        if run["ok"] != run["sent"] or run["errors"]:
            results.note(f"dose logging: errors {run['statuses']} {run['errors'][:2]}")
    base_rps = median([r["rps"] for r in base_runs])
    prod_rps = median([r["rps"] for r in prod_runs])
    ratio = prod_rps / base_rps if base_rps else 0
    results.add(
        Row(
            bench,
            "requests per second",
            prod_rps,
            "req/s",
            base_rps,
            "constant endpoint",
            better="higher",
            target="ratio >= 0.4",
            met=ratio >= 0.4,
            note=f"{sum(r['ok'] for r in prod_runs):,} logs",
        )
    )
    results.add(
        Row(
            bench,
            "p50 latency",
            median([r["p50_ms"] for r in prod_runs]) / 1000,
            "s",
            median([r["p50_ms"] for r in base_runs]) / 1000,
            "constant endpoint",
        )
    )
    results.add(
        Row(
            bench,
            "p95 latency",
            max(r["p95_ms"] for r in prod_runs) / 1000,
            "s",
            max(r["p95_ms"] for r in base_runs) / 1000,
            "constant endpoint",
        )
    )
    from medications.models import ExpectedDose

    taken = ExpectedDose.objects.filter(
        pk__in=[doses[u] for u in measured], state__in=["taken", "taken_late"]
    ).count()
    logged = sum(r["ok"] for r in prod_runs)
    results.note(
        f"dose logging: {logged:,} requests answered 2xx, {taken:,} of those doses now taken "
        f"in the database; gunicorn 2 sync workers, loadgen {scale.api_threads} threads, "
        f"{sum(r['ok'] for r in base_runs):,} constant requests"
    )


# --- 4. symptom report to alert -------------------------------------------------------------


def symptom_to_alert(results: Results, *, base: str, scale, var_dir: str, population, keys):
    bench = "4. symptom report -> alert"
    from notifications.models import Alert

    has_delivery = product.delivery_models()
    with webhook_receiver() as (hook_url, arrivals):
        if has_delivery:
            from notifications.models import Channel

            for team_id in population.team_ids:
                Channel.objects.create(
                    name="Bench webhook",
                    care_team_id=team_id,
                    kind="webhook",
                    purpose="both",
                    target=hook_url,
                    secret="bench-secret-0123456789",
                    min_level="amber",
                )
        # Anything the dose-logging run queued is not this benchmark's work.
        env.purge_queue(env.redis_url())
        with celery_worker(var_dir):
            users = [p.user_id for p in population.prescriptions][: scale.reports]
            session = requests.Session()
            posted: dict[int, float] = {}
            failures = []
            interval = 1 / scale.reports_per_second
            start = time.monotonic()
            for n, user in enumerate(users):
                pause = start + n * interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                sent_at = time.time()
                response = session.post(
                    base + "/api/v1/symptom-reports/",
                    json={"symptoms": [{"code": "diarrhoea", "grade": 3}]},
                    headers={"Authorization": f"Token {keys[user]}"},
                    timeout=30,
                )
                if response.status_code != 201:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                posted[response.json()["id"]] = sent_at
            # Wait for every alert (and delivery) to land, at most 60 s.
            deadline = time.monotonic() + 60
            alerts: dict[int, datetime] = {}
            sent: dict[int, datetime] = {}
            while time.monotonic() < deadline:
                alerts = dict(
                    Alert.objects.filter(symptom_report_id__in=list(posted)).values_list(
                        "symptom_report_id", "created_at"
                    )
                )
                if has_delivery:
                    from notifications.models import Delivery

                    sent = dict(
                        Delivery.objects.filter(
                            alert__symptom_report_id__in=list(posted), status="sent"
                        ).values_list("alert__symptom_report_id", "sent_at")
                    )
                if len(alerts) == len(posted) and (not has_delivery or len(sent) == len(posted)):
                    break
                time.sleep(0.25)
    if failures:
        results.note(f"symptom reports refused: {len(failures)}, e.g. {failures[0]}")
    to_alert = [alerts[r].timestamp() - t for r, t in posted.items() if r in alerts]
    results.add(
        Row(
            bench,
            "POST to alert row, median",
            median(to_alert),
            "s",
            note=f"{len(to_alert)}/{len(posted)} alerts",
        )
    )
    results.add(
        Row(
            bench,
            "POST to alert row, p95",
            percentile(to_alert, 95),
            "s",
            target="< 2 s",
            met=bool(to_alert) and percentile(to_alert, 95) < 2,
        )
    )
    if has_delivery:
        to_sent = [sent[r].timestamp() - t for r, t in posted.items() if r in sent]
        results.add(
            Row(
                bench,
                "POST to delivery sent, median",
                median(to_sent) if to_sent else None,
                "s",
                note=f"{len(to_sent)}/{len(posted)} sent, {len(arrivals)} received",
            )
        )
        results.add(
            Row(
                bench,
                "POST to delivery sent, p95",
                percentile(to_sent, 95) if to_sent else None,
                "s",
                target="< 2 s",
                met=bool(to_sent) and len(to_sent) == len(posted) and percentile(to_sent, 95) < 2,
            )
        )
    results.note(
        f"symptom reports: {len(posted)} red reports posted at {scale.reports_per_second:g}/s "
        "through gunicorn; Celery worker with 2 processes on Redis; webhook receiver on loopback"
    )


def run(results: Results, *, scale, only: set[int]) -> None:
    var_dir = tempfile.mkdtemp(prefix="tracker-bench-http-")
    now = timezone.now()
    if connection.in_atomic_block:
        raise RuntimeError("the HTTP benchmarks need committed data (no test transaction)")
    data.truncate_all()
    warm = scale.api_threads * 4
    population = data.build_population(
        patients=scale.api_requests + warm,
        teams=max(1, (scale.api_requests + warm) // 1000),
        now=now,
        tag="api",
    )
    keys = data.tokens_for([p.user_id for p in population.prescriptions])
    doses = data.add_due_doses(population, now=now)
    try:
        with gunicorn(var_dir) as base:
            if 2 in only:
                started = time.perf_counter()
                print("[bench] 2. dose logging API ...", flush=True)
                dose_logging(
                    results,
                    base=base,
                    scale=scale,
                    var_dir=var_dir,
                    population=population,
                    keys=keys,
                    doses=doses,
                )
                results.timings["2. dose logging API"] = time.perf_counter() - started
            if 4 in only:
                started = time.perf_counter()
                print("[bench] 4. symptom report -> alert ...", flush=True)
                if not product.symptom_reports_api():
                    results.add(
                        Row(
                            "4. symptom report -> alert",
                            "POST to alert row",
                            None,
                            "s",
                            note="symptom report API not implemented yet",
                        )
                    )
                else:
                    symptom_to_alert(
                        results,
                        base=base,
                        scale=scale,
                        var_dir=var_dir,
                        population=population,
                        keys=keys,
                    )
                results.timings["4. symptom report -> alert"] = time.perf_counter() - started
    finally:
        if settings.DEBUG:
            results.note("WARNING: DEBUG was on in the bench process")
