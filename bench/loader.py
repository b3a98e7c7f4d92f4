"""Bulk loading with PostgreSQL COPY, driven by the models' own field list.

Rows are dicts of attribute names (``patient_id``, not ``patient``); every column a row does
not name gets the model field's default, so a column another engineer adds with a default
does not break the generators. Primary keys are given by the caller (so related rows can
point at them without a round trip) and the identity sequences are moved past them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection, models

_NOT_GIVEN = object()


def next_id(model: type[models.Model]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
        return cursor.fetchone()[0]


def _column_plan(model: type[models.Model]):
    plan = []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            default = _NOT_GIVEN
        elif f.has_default():
            default = f.get_default()
        elif f.null:
            default = None
        elif isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            from django.utils import timezone

            default = timezone.now()
        elif isinstance(f, models.CharField | models.TextField) and not f.null:
            default = ""
        else:
            default = _NOT_GIVEN
        plan.append((f.attname, f.column, default, isinstance(f, models.JSONField)))
    return plan


def copy_rows(model: type[models.Model], rows: Iterable[dict]) -> int:
    """COPY rows into the model's table; returns how many were written."""
    plan = _column_plan(model)
    columns = ", ".join(f'"{column}"' for _, column, _, _ in plan)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = []
                for attname, _column, default, is_json in plan:
                    value = row.get(attname, default)
                    if value is _NOT_GIVEN:
                        raise ValueError(f"{model.__name__}.{attname} needs a value")
                    if is_json and value is not None:
                        value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)
                count += 1
    if isinstance(model._meta.pk, models.AutoField):
        reset_sequence(model)
    return count


def reset_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
        )
