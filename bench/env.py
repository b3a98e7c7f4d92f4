"""The benchmark's own PostgreSQL database and Redis database, and facts about the machine.

`python -m bench` always works on BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/tracker_bench), which it drops and creates afresh; it
refuses a database whose name does not contain "bench", so a mistyped URL can never drop a
real database. Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/12), flushed per run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import subprocess
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tracker_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)


def _database_name(url: str) -> str:
    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"Refusing to use database {name!r}: the bench drops and recreates its database, "
            "so its name must contain 'bench' (set BENCH_DATABASE_URL)."
        )
    return name


_run_lock = None  # the admin connection holding this run's advisory lock


def recreate_database(url: str) -> None:
    """Drop and create the bench database (connecting to the server's 'postgres' db).

    Two `make bench` runs on one machine would drop each other's database: the first
    takes a PostgreSQL advisory lock (held until this process exits) and a second waits
    for it."""
    global _run_lock
    import psycopg

    name = _database_name(url)
    parts = urlparse(url)
    admin = parts._replace(path="/postgres").geturl()
    if _run_lock is None:
        _run_lock = psycopg.connect(admin, autocommit=True)
        key = [f"tracker-bench:{name}"]
        if not _run_lock.execute("SELECT pg_try_advisory_lock(hashtext(%s))", key).fetchone()[0]:
            print(
                f"[bench] another bench run is using {name}; waiting for it to finish", flush=True
            )
            _run_lock.execute("SELECT pg_advisory_lock(hashtext(%s))", key)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()


def purge_queue(url: str, queue: str = "celery") -> None:
    """Drop the tasks waiting in Celery's default queue (and nothing else)."""
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=2).delete(queue)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def machine_facts() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    try:
        redis_version = (
            subprocess.run(
                ["redis-server", "--version"], capture_output=True, text=True, timeout=5
            ).stdout.split()[2]
        ).removeprefix("v=")
    except (OSError, IndexError, subprocess.SubprocessError):
        redis_version = "unknown"
    load = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus (nproc)": str(os.cpu_count()),
        "cpu model": _cpu_model(),
        "memory": f"{_memory_gib():.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": redis_version,
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load),
    }
