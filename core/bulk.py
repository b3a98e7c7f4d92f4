"""Set-based writes: thousands of rows in one statement. The one bulk insert path of the
service (expected doses, alerts, their events, deliveries) and two UPDATE helpers the
sweeps use on PostgreSQL.

Why not bulk_create: for thousands of rows Django's bulk_create spends most of its time in
Python (preparing every value, then quoting it into the statement client-side); measured
on the 10,000-patient benchmarks it took several times longer than the same INSERT done by
PostgreSQL from binary COPY data (docs/benchmarks.md).

PostgreSQL: the rows are streamed with COPY (binary) into a per-session staging table and
inserted from there in one INSERT ... SELECT, which keeps ON CONFLICT, ORDER BY and
RETURNING. Other databases (SQLite in development): multi-row INSERT ... VALUES in batches,
with the same ON CONFLICT and RETURNING clauses, so callers have one path whatever the
database.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from functools import partial

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models.expressions import RawSQL
from psycopg.types.json import Jsonb

# Staging column type (PostgreSQL) by Django's internal field type. The INSERT ... SELECT
# casts each to the real column type (text -> varchar(20), numeric -> numeric(7, 2)).
_STAGING_TYPES = {
    "AutoField": "int4",
    "BigAutoField": "int8",
    "SmallAutoField": "int2",
    "IntegerField": "int4",
    "BigIntegerField": "int8",
    "SmallIntegerField": "int2",
    "PositiveIntegerField": "int4",
    "PositiveBigIntegerField": "int8",
    "PositiveSmallIntegerField": "int2",
    "CharField": "text",
    "TextField": "text",
    "EmailField": "text",
    "SlugField": "text",
    "URLField": "text",
    "DecimalField": "numeric",
    "FloatField": "float8",
    "BooleanField": "bool",
    "DateTimeField": "timestamptz",
    "DateField": "date",
    "JSONField": "jsonb",
    "UUIDField": "uuid",
}
_json_dumps = partial(json.dumps, cls=DjangoJSONEncoder)


def fast() -> bool:
    """Whether the set-based UPDATE helpers below can be used (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def in_ids(ids: Sequence[int]):
    """The right-hand side of an `__in` filter over hundreds of ids: on PostgreSQL one array
    parameter (`IN (SELECT unnest(...))`) rather than one placeholder per id, which the
    driver parses and the ORM prepares one by one (~5 ms for 500 ids, benchmark 5)."""
    if fast():
        return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
    return list(ids)


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict] | Sequence[tuple],
    *,
    columns: Sequence[str] | None = None,
    on_conflict: str = "",
    returning: Sequence[str] = (),
    order_by: str = "",
) -> list[tuple]:
    """INSERT the rows (dicts keyed by field attname, e.g. "patient_id", all with the same
    keys; or, with `columns`, tuples in that order, which spares a dict per row when there
    are hundreds of thousands) in one statement.

    `order_by`: insert in this column's order (concurrent inserters of overlapping unique
    keys then wait for each other in one direction only). `on_conflict`: e.g. "ON CONFLICT
    (dedup_key) DO NOTHING". Returns the RETURNING rows (only those actually inserted)."""
    if not rows:
        return []
    if columns is None:
        names = list(rows[0])
        rows = [tuple(row[name] for name in names) for row in rows]
    else:
        names = list(columns)
    fields = [model._meta.get_field(name) for name in names]
    if connection.vendor == "postgresql":
        return _insert_postgresql(model, fields, rows, on_conflict, returning, order_by)
    return _insert_values(model, fields, names, rows, on_conflict, returning, order_by)


def _tail(model, on_conflict: str, returning: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    sql = f" {on_conflict}" if on_conflict else ""
    if returning:
        sql += " RETURNING " + ", ".join(quote(model._meta.get_field(c).column) for c in returning)
    return sql


def _staging_type(field: models.Field) -> str:
    target = field.target_field if field.is_relation else field
    kind = _STAGING_TYPES.get(target.get_internal_type())
    if kind is None:
        raise TypeError(f"insert_rows cannot stage {field!r} ({target.get_internal_type()}).")
    return kind


def _insert_postgresql(model, fields, rows, on_conflict, returning, order_by) -> list[tuple]:
    quote = connection.ops.quote_name
    types = [_staging_type(field) for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    signature = f"{model._meta.db_table}:{columns}:{','.join(types)}"
    name = f"bulk_{hashlib.sha1(signature.encode(), usedforsecurity=False).hexdigest()[:16]}"
    staging = quote(name)
    json_columns = [i for i, kind in enumerate(types) if kind == "jsonb"]
    # Identifiers from _meta only; every value travels in the COPY stream. The staging table
    # is emptied after each INSERT (TRUNCATE: cheaper than deleting the rows one by one), so
    # one transaction may insert many times.
    insert = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM {staging}"
    )
    if order_by:
        insert += f" ORDER BY {quote(model._meta.get_field(order_by).column)}"
    insert += _tail(model, on_conflict, returning)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Made once per session; asked every time, because the transaction that made it may
        # have rolled back since (a temporary table goes with it).
        columns_and_types = ", ".join(
            f"{quote(field.column)} {kind}" for field, kind in zip(fields, types, strict=True)
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ({columns_and_types}) "
            "ON COMMIT DELETE ROWS"
        )
        started = time.monotonic()
        with cursor.cursor.copy(f"COPY {staging} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                if json_columns:
                    row = list(row)  # noqa: PLW2901 - a copy, the caller's row is left alone
                    for i in json_columns:
                        if row[i] is not None:
                            row[i] = Jsonb(row[i], dumps=_json_dumps)
                copy.write_row(row)
        if connection.queries_logged:  # COPY bypasses Django's cursor: count it all the same
            elapsed = f"{time.monotonic() - started:.3f}"
            connection.queries_log.append({"sql": f"COPY {staging} FROM STDIN", "time": elapsed})
        cursor.execute(insert)
        found = cursor.fetchall() if returning else []
        cursor.execute(f"TRUNCATE {staging}")
        return found


def _insert_values(model, fields, names, rows, on_conflict, returning, order_by) -> list[tuple]:
    quote = connection.ops.quote_name
    if order_by:
        position = names.index(order_by)
        rows = sorted(rows, key=lambda row: row[position])
    # JSON as PostgreSQL gets it: dates, times and decimals as text (DjangoJSONEncoder).
    json_keys = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    values = [
        [
            field.get_db_prep_save(
                json.loads(_json_dumps(value)) if key in json_keys else value, connection
            )
            for key, field, value in zip(names, fields, row, strict=True)
        ]
        for row in rows
    ]
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 - identifiers from _meta
        f"({', '.join(quote(field.column) for field in fields)}) VALUES "
    )
    marks = f"({', '.join(['%s'] * len(fields))})"
    size = max(1, min(1000, connection.ops.bulk_batch_size(fields, values)))
    found: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            sql = head + ", ".join([marks] * len(chunk)) + _tail(model, on_conflict, returning)
            cursor.execute(sql, [value for row in chunk for value in row])
            if returning:
                found += [tuple(row) for row in cursor.fetchall()]
    return found


def update_returning(
    model: type[models.Model],
    *,
    set_sql: str,
    where_sql: str,
    params: Sequence,
    returning: Sequence[str],
) -> list[tuple]:
    """UPDATE ... RETURNING in one statement (the ORM needs an update and a re-read)."""
    quote = connection.ops.quote_name
    # Identifiers from _meta and the caller's SQL constants; values are parameters.
    sql = f"UPDATE {quote(model._meta.db_table)} SET {set_sql} WHERE {where_sql} RETURNING "  # noqa: S608
    sql += ", ".join(quote(model._meta.get_field(c).column) for c in returning)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchall()


def update_rows(model: type[models.Model], rows: Sequence[dict], *, key: str = "id") -> int:
    """UPDATE many rows, each with its own values, in one statement (bulk_update's CASE
    expressions cost ~1 ms of Python per row and field)."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in rows[0]]
    record = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    key_column = quote(model._meta.get_field(key).column)
    assignments = ", ".join(
        f"{quote(field.column)} = r.{quote(field.column)}"
        for field in fields
        if field.column != model._meta.get_field(key).column
    )
    table = quote(model._meta.db_table)
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 - identifiers from _meta; values
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({record}) "  # are the JSON parameter
        f"WHERE {table}.{key_column} = r.{key_column}"
    )
    names = [(name, field.column) for name, field in zip(rows[0], fields, strict=True)]
    payload = json.dumps(
        [{column: row[name] for name, column in names} for row in rows], cls=DjangoJSONEncoder
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return cursor.rowcount
