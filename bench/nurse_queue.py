"""Benchmark 3: the nurse queue page with a large alert archive.

Data: N patients in care teams of 1,000, one nurse who covers all of them (the worst case:
every open alert is in her queue), and an archive of alerts over the past year, most
resolved. The page (url name notifications:queue) is rendered in-process with Django's test
client, signed in as the nurse: first with a tenth of the archive (the baseline), then
with all of it. The number of SQL queries must be the same at both sizes.
"""

from __future__ import annotations

import time

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from . import data, product
from .harness import Results, Row, median, percentile


def _measure(client: Client, url: str, reps: int) -> tuple[list[float], int, int]:
    for _ in range(2):  # warm up: template loading, first connection
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"nurse queue answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Counted now: the captured list is a view of the connection's log, which the next
    # request clears.
    queries = len(captured)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
    return times, queries, len(response.content)


def run(results: Results, *, patients: int, alerts: int, open_alerts: int, reps: int) -> None:
    bench = "3. nurse queue"
    url = product.nurse_queue_url()
    if url is None:
        results.add(Row(bench, "page render", None, "s", note="nurse queue not implemented yet"))
        return
    now = timezone.now()
    data.truncate_all()
    population = data.build_population(
        patients=patients, teams=max(1, patients // 1000), now=now, tag="queue"
    )
    nurse = User.objects.get(pk=population.nurse_user_id)
    client = Client(raise_request_exception=True)
    client.force_login(nurse)

    small_total, small_open = max(1, alerts // 10), max(1, open_alerts // 10)
    data.build_alert_archive(population, total=small_total, open_count=small_open, now=now)
    small_times, small_queries, _ = _measure(client, url, reps)

    data.build_alert_archive(
        population,
        total=alerts - small_total,
        open_count=open_alerts - small_open,
        now=now,
        seed=5,
    )
    times, queries, size = _measure(client, url, reps)
    results.add(
        Row(
            bench,
            f"median render, {alerts:,} alerts ({open_alerts:,} open)",
            median(times),
            "s",
            median(small_times),
            f"{small_total:,} alerts",
            note=f"{reps} renders",
        )
    )
    results.add(
        Row(
            bench,
            "p95 render",
            percentile(times, 95),
            "s",
            percentile(small_times, 95),
            f"{small_total:,} alerts",
        )
    )
    results.add(
        Row(
            bench,
            f"SQL queries, {alerts:,} alerts",
            queries,
            "queries",
            small_queries,
            f"{small_total:,} alerts",
            target="constant",
            met=queries <= small_queries,
        )
    )
    results.note(f"nurse queue page: {size / 1024:.0f} KiB of HTML with {alerts:,} alerts")
