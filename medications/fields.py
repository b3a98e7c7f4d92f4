"""Model fields of the medications app."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class OrderedJSONField(models.TextField):
    """JSON stored as its text, so objects keep the order of their keys.

    PostgreSQL's jsonb (behind models.JSONField) re-sorts object keys, by length then bytes.
    A triage rule set's key order is meaningful: it is the order symptoms are offered to the
    patient and published in docs/triage.md, so the rules are stored as written instead.
    Not for querying inside the JSON (this is text to the database).
    """

    description = "JSON kept in key order"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Not valid JSON: {exc}", code="invalid") from exc

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return models.Field.formfield(self, **{"form_class": forms.JSONField, **kwargs})
