"""Set-based writes for the sweeps on PostgreSQL: thousands of rows in one statement, sent
as one JSON parameter and unpacked by jsonb_to_recordset.

Why: for a few thousand rows, Django's bulk_create spends most of its time in Python
(preparing every value, then quoting each array client-side); measured on the 10,000-patient
sweep benchmark it took ~6x longer than the same INSERT done by PostgreSQL from JSON. Other
databases (SQLite for development) use the ORM; callers check `fast()`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models


def fast() -> bool:
    return connection.vendor == "postgresql"


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict],
    *,
    on_conflict: str = "",
    returning: Sequence[str] = (),
    order_by: str = "",
) -> list[tuple]:
    """INSERT the rows (dicts keyed by field attname, e.g. "patient_id") in one statement.

    `order_by`: insert in this column's order (concurrent inserters of overlapping unique
    keys then wait for each other in one direction only). `on_conflict`: e.g. "ON CONFLICT
    (dedup_key) DO NOTHING". Returns the RETURNING rows (only those actually inserted)."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(quote(field.column) for field in fields)
    record = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    picked = ", ".join(f"r.{quote(field.column)}" for field in fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608 - identifiers
        f"SELECT {picked} FROM jsonb_to_recordset(%s::jsonb) AS r({record})"  # from _meta;
    )  # every value is in the one JSON parameter
    if order_by:
        sql += f" ORDER BY r.{quote(model._meta.get_field(order_by).column)}"
    if on_conflict:
        sql += f" {on_conflict}"
    if returning:
        sql += " RETURNING " + ", ".join(quote(model._meta.get_field(c).column) for c in returning)
    names = [(name, field.column) for name, field in zip(rows[0], fields, strict=True)]
    payload = json.dumps(
        [{column: row[name] for name, column in names} for row in rows], cls=DjangoJSONEncoder
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [payload])
        return cursor.fetchall() if returning else []


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
