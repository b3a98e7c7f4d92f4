"""The PostgreSQL backup and restore procedure of the README ("Backup and restore"), run for
real: pg_dump (custom format), restore into a new database, `migrate --check` clean there, and
every table holds the same number of rows as the original."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import PatientFactory
from tests.medications.conftest import prescribe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _conninfo(name: str) -> tuple[dict, str]:
    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432)}
    env["PGUSER"] = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    url = f"postgres://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/{name}"
    if db.get("PASSWORD"):
        url = f"postgres://{env['PGUSER']}:{db['PASSWORD']}@{env['PGHOST']}:{env['PGPORT']}/{name}"
    return env, url


def row_counts(env: dict, name: str) -> dict[str, int]:
    tables = subprocess.run(
        ["psql", "-d", name, "-Atc", "SELECT tablename FROM pg_tables WHERE schemaname='public'"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in sorted(tables))
    out = subprocess.run(
        ["psql", "-d", name, "-AtF", "\t", "-c", query],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {line.split("\t")[0]: int(line.split("\t")[1]) for line in out.splitlines()}


def test_dump_restore_into_a_new_database_migrate_check_and_equal_row_counts(tmp_path, api):
    for _ in range(3):
        patient = PatientFactory()
        prescribe(patient, now=timezone.now())
        api(patient.user).get("/api/v1/doses/")  # audit rows too
    source = connection.settings_dict["NAME"]
    restored = f"{source}_restored"
    env, restored_url = _conninfo(restored)
    dump = tmp_path / "tracker.dump"
    # The README's commands, as written there.
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], env=env, check=True)
    subprocess.run(["dropdb", "--if-exists", restored], env=env, check=True)
    subprocess.run(["createdb", restored], env=env, check=True)
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(dump)],
            env=env,
            check=True,
        )
        check = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": restored_url, "DJANGO_ENV": "development"},
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        before, after = row_counts(env, source), row_counts(env, restored)
        print(
            f"backup/restore: {len(before)} tables, {sum(before.values())} rows dumped, "
            f"{sum(after.values())} restored, {dump.stat().st_size} bytes"
        )
        assert after == before
        assert before["patients_patient"] == 3 and before["patients_auditevent"] >= 3
        # The restored audit table is append-only too (its trigger came with it).
        refused = subprocess.run(
            ["psql", "-d", restored, "-c", "DELETE FROM patients_auditevent"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0 and "append-only" in refused.stderr
    finally:
        subprocess.run(["dropdb", "--if-exists", restored], env=env, check=True)
