"""HTTP load generator, run as its own process: `python -m bench.loadgen SPEC.json`.

SPEC: {"base": "http://127.0.0.1:PORT", "threads": 8, "max_seconds": 20, "rate": 78,
       "requests": [{"path": "/api/v1/...", "token": "...", "body": {...}}, ...]}
"rate" (optional, requests per second): request n is not sent before start + n / rate (an
arrival rate, as patients logging at their own moments); without it, as fast as possible.
Each request is sent once (so each can log a distinct dose), by a pool of threads that
each keep one keep-alive `requests.Session`. Stops when every request was sent or after
max_seconds. Prints one JSON object: sent, ok, errors, status codes, elapsed, requests per
second and latency percentiles (ms). Only loopback addresses are accepted.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlparse

import requests


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def run(spec: dict) -> dict:
    base = spec["base"].rstrip("/")
    if urlparse(base).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loadgen only drives loopback servers")
    items = spec["requests"]
    threads = int(spec.get("threads", 8))
    deadline_after = float(spec.get("max_seconds", 20))
    rate = float(spec.get("rate") or 0)
    lock = threading.Lock()
    cursor = iter(range(len(items)))
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: list[str] = []

    start = time.perf_counter()
    deadline = start + deadline_after

    def worker() -> None:
        session = requests.Session()
        while True:
            if time.perf_counter() >= deadline:
                return
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            item = items[index]
            if rate:
                pause = start + index / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            headers = {"Authorization": f"Token {item['token']}"}
            t0 = time.perf_counter()
            try:
                response = session.post(
                    base + item["path"], json=item.get("body", {}), headers=headers, timeout=30
                )
                status = response.status_code
                body = response.content
            except requests.RequestException as exc:
                with lock:
                    errors.append(type(exc).__name__)
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
                if status >= 400 and len(errors) < 5:
                    errors.append(f"{status}: {body[:200]!r}")

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    ok = sum(n for code, n in statuses.items() if 200 <= code < 300)
    return {
        "sent": sum(statuses.values()),
        "ok": ok,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors,
        "elapsed": elapsed,
        "rps": ok / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p95_ms": _percentile(latencies, 95) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "threads": threads,
    }


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        spec = json.load(f)
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
