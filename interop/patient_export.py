"""Everything held about one patient, as one JSON document (UK GDPR right of access).

Built generically from the models: every row of every model that points at the patient
(and the rows that point at those), so tables other engineers add later (check-ins,
reminders) are in the export without anyone remembering to add them here. Secrets (keys,
tokens, push endpoints) are never exported. The patient's own download leaves out what
staff wrote for each other (clinical notes, alert resolution notes, who looked at the record
from where); the admin's subject access request has everything, for review before sending.
Plus the FHIR `Patient/$everything` Bundle of the same record.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from medications.models import Drug
from patients.models import Patient
from patients.roles import role_of

from .fhir.views import everything

FORMAT = "hcc-tracker-patient-export/1"
# Never exported, whoever asks: credentials and delivery secrets.
SECRET_FIELDS = frozenset(
    {"password", "secret", "auth", "p256dh", "endpoint", "token", "key", "idempotency_key"}
)
# Written by staff for staff: in the admin's subject access request, not the self-service one.
STAFF_FIELDS = frozenset(
    {"clinical_notes", "resolution_note", "actor_username", "ip_address", "notes_for_staff"}
)
SKIP_MODELS = frozenset({"interop.subjectaccessrequest"})
USER_FIELDS_SKIPPED = frozenset({"user"})


def _children(model: type[models.Model]):
    """Reverse relations (ForeignKey or OneToOneField to this model) of a model."""
    for relation in model._meta.related_objects:
        one_or_many = relation.one_to_many or relation.one_to_one
        if one_or_many and not relation.related_model._meta.auto_created:
            label = relation.related_model._meta.label_lower
            if label not in SKIP_MODELS:
                yield relation


def _points_at_patient(model: type[models.Model]) -> bool:
    return any(
        f.is_relation and (f.many_to_one or f.one_to_one) and f.related_model is Patient
        for f in model._meta.concrete_fields
    )


def _section_name(relation) -> str:
    return relation.related_model._meta.verbose_name_plural.replace(" ", "_")


class _Exporter:
    def __init__(self, patient: Patient, *, for_staff: bool):
        self.patient = patient
        self.for_staff = for_staff
        self.user_ids: set[int] = set()

    def fields(self, model) -> list[models.Field]:
        hidden = SECRET_FIELDS | (set() if self.for_staff else STAFF_FIELDS)
        return [f for f in model._meta.concrete_fields if f.name not in hidden]

    def row(self, obj, fields, skip: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in fields:
            if field.name == skip:
                continue
            value = field.value_from_object(obj)
            if field.is_relation and field.related_model is User:
                if value is not None:
                    self.user_ids.add(value)
                out[field.name] = ("user", value)
                continue
            if field.choices and value not in (None, ""):
                out[f"{field.name}_display"] = str(dict(field.flatchoices).get(value, value))
            out[field.name] = value
        return out

    def rows(self, relation, parent_ids: list, depth: int) -> dict[Any, list[dict]]:
        model = relation.related_model
        fields = self.fields(model)
        key = relation.field.attname
        grouped: dict[Any, list[dict]] = defaultdict(list)
        objects = list(model._default_manager.filter(**{f"{key}__in": parent_ids}).order_by("pk"))
        rows = {obj.pk: self.row(obj, fields, relation.field.name) for obj in objects}
        for obj in objects:
            grouped[getattr(obj, key)].append(rows[obj.pk])
        if depth < 2 and objects:
            ids = [obj.pk for obj in objects]
            for child in _children(model):
                if _points_at_patient(child.related_model):
                    continue  # exported at the top level already
                nested = self.rows(child, ids, depth + 1)
                for pk, row in rows.items():
                    items = nested.get(pk)
                    if items:
                        row[_section_name(child)] = items
        return grouped

    def users(self) -> dict[int, dict[str, Any]]:
        found = {}
        for user in User.objects.filter(pk__in=self.user_ids).prefetch_related("groups"):
            if user.pk == self.patient.user_id:
                found[user.pk] = {"who": "you (the patient)"}
            else:
                entry = {"who": str(role_of(user) or "staff")}
                if self.for_staff:
                    entry["username"] = user.get_username()
                found[user.pk] = entry
        return found


def _resolve_users(value, users: dict[int, dict]):
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "user":
        return users.get(value[1]) if value[1] is not None else None
    if isinstance(value, dict):
        return {k: _resolve_users(v, users) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_users(v, users) for v in value]
    return value


def patient_export(
    patient: Patient, *, for_staff: bool, base_url: str, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    exporter = _Exporter(patient, for_staff=for_staff)
    details = exporter.row(patient, exporter.fields(Patient), "user")
    details["care_team_name"] = patient.care_team.name
    details["advice_line_phone"] = patient.effective_advice_line_phone
    user = patient.user
    document: dict[str, Any] = {
        "format": FORMAT,
        "generated_at": now,
        "complete": for_staff,
        "note": (
            "Everything the service holds about this patient."
            if for_staff
            else "Everything the service holds about you, except notes your care team wrote "
            "for each other. For a complete copy, ask your care team (a subject access "
            "request)."
        ),
        "patient": details,
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "is_active": user.is_active,
        },
    }
    # Rows name drugs by id: the catalogue entries, so the ids mean something.
    document["drugs"] = list(Drug.objects.values("id", "code", "name", "brand", "route"))
    for relation in _children(Patient):
        grouped = exporter.rows(relation, [patient.pk], depth=1)
        document[_section_name(relation)] = grouped.get(patient.pk, [])
    document = _resolve_users(document, exporter.users())
    document["fhir_bundle"] = everything(patient, base=base_url).model_dump(mode="json")
    return document


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, cls=DjangoJSONEncoder, indent=1, ensure_ascii=False)
